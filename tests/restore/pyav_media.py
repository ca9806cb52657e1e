"""Test helpers: audio encoded into compressed formats with PyAV, in the test (no system tools).

Imported by the io and cli tests (``from tests.restore.pyav_media import encode, tone``).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def tone(seconds: float, rate: int, channels: int = 2) -> np.ndarray:
    """``[channels, frames]`` float32: a chord with a slow tremolo, a different mix per channel."""
    t = np.arange(int(round(seconds * rate))) / rate
    rows = [0.2 * np.sin(2 * np.pi * 330 * (1 + 0.25 * c) * t)
            + 0.1 * np.sin(2 * np.pi * 1210 * t) * (0.6 + 0.4 * np.cos(2 * t))
            for c in range(channels)]
    return np.stack(rows).astype(np.float32)


def encode(path: Path, audio: np.ndarray, rate: int, codec: str, *, container: str | None = None,
           sample_format: str | None = None, container_options: dict | None = None,
           video: bool = False, bit_rate: int | None = None) -> Path:
    """Encode ``audio [channels, frames]`` (float, +-1) into ``path`` with FFmpeg's ``codec``.

    ``sample_format`` picks the encoder's input format (e.g. ``s16p`` for 16-bit ALAC);
    ``video`` adds a small video stream first, as in a film's file.
    """
    layout = {1: "mono", 2: "stereo"}[audio.shape[0]]
    with av.open(str(path), "w", format=container, options=container_options or {}) as out:
        if video:
            picture = out.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if sample_format:
            stream.format = sample_format
        if bit_rate:
            stream.bit_rate = bit_rate
        step = 1024
        for start in range(0, audio.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, start:start + step]),
                                               format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if video:
            image = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            out.mux(picture.encode(image))
            out.mux(picture.encode(None))
    return path
