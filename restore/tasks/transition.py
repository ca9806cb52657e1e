"""Transitions: a generated bridge between the end of clip A and the start of clip B.

The bridge is inpainted: a window ``[A's last CONTEXT_SECONDS | bridge | B's first
CONTEXT_SECONDS]`` is built at A's rate, resampled to the model's 48 kHz with the bridge masked
as unknown, sampled, resampled back, and the bridge part is cut out. A and B themselves are
never changed (except B's gain), so OUT = A + bridge + B.

B's gain (:func:`b_gain`): with ``match_loudness``, A's integrated loudness over B's, measured
on B as it will be played (after the channel conversion: a mono B copied to two channels is
3 dB louder); and never more than keeps B's true peak below -0.1 dBFS (also without matching,
when B is resampled). The bridge stays below that ceiling and is silent in every channel where
both A's last and B's first 50 ms are quiet (at or below -90 dBFS).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from restore import dsp
from restore.analysis import Analyzer
from restore.classical import equal_power_bridge
from restore.errors import RestoreError
from restore.tasks.bandwidth import resample_stream
from restore.tasks.guard import (
    CEILING_DBFS,
    QUIET_DBFS,
    QUIET_MIN_SECONDS,
    InputSurvey,
    limit_added,
    safe_gain,
)
from restore.tasks.inpaint import fill_diffusion
from restore.tasks.provenance import Region, frames_region
from restore.tasks.sampler import Sampler, SamplingOptions, task_method
from restore.tasks.source import Sink, Source

CONTEXT_SECONDS = 1.0  # of A's tail and of B's head that condition the bridge
MAX_BRIDGE_SECONDS = 4.0  # longer bridges are refused


def make_bridge(a_tail: np.ndarray, b_head: np.ndarray, sample_rate: int, bridge_frames: int,
                *, method: str, sampler: Sampler | None = None) -> np.ndarray:
    """The bridge ``[channels, bridge_frames]`` float32 between ``a_tail`` and ``b_head``.

    Both are ``[channels, n]`` at ``sample_rate``. ``method="classical"``: equal-power crossfade
    of A's and B's mirrored continuations.
    """
    if bridge_frames < 1:
        return np.zeros((a_tail.shape[0], 0), dtype=np.float32)
    if method == "classical":
        return guard_bridge(equal_power_bridge(a_tail, b_head, bridge_frames), a_tail, b_head,
                            sample_rate)
    silence = np.zeros((a_tail.shape[0], bridge_frames), dtype=np.float32)
    window = np.concatenate([a_tail, silence, b_head], axis=1).astype(np.float32)  # [c, n]
    mask = np.zeros(window.shape[1], dtype=bool)
    first = a_tail.shape[1]
    mask[first:first + bridge_frames] = True
    filled = fill_diffusion(window[None], mask[None], sample_rate, sampler, task="transition")
    return guard_bridge(filled[0, :, first:first + bridge_frames], a_tail, b_head, sample_rate)


def guard_bridge(bridge: np.ndarray, a_tail: np.ndarray, b_head: np.ndarray,
                 sample_rate: int) -> np.ndarray:
    """``bridge [channels, n]`` silent in the channels where A's last and B's first
    ``QUIET_MIN_SECONDS`` are both quiet, and limited to the ceiling everywhere."""
    edge = max(1, round(QUIET_MIN_SECONDS * sample_rate))

    def quiet(audio: np.ndarray) -> np.ndarray:
        if audio.shape[1] == 0:
            return np.ones(audio.shape[0], dtype=bool)
        rms_db = 10 * np.log10(np.mean(np.asarray(audio, np.float64) ** 2, axis=1) + 1e-30)
        return rms_db <= QUIET_DBFS

    silent = quiet(a_tail[:, -edge:]) & quiet(b_head[:, :edge])
    bridge = np.where(silent[:, None], 0.0, bridge).astype(np.float32)
    return limit_added(np.zeros_like(bridge), bridge, sample_rate)


def b_gain(a_lufs: float, b_lufs: float, b_true_peak: float,
           match_loudness: bool) -> tuple[float, dict | None]:
    """B's linear gain and, when it is not 1, the sidecar's ``level`` entry.

    ``b_lufs`` and ``b_true_peak`` are measured on B after the channel conversion.
    """
    matched = 1.0
    if match_loudness and np.isfinite(a_lufs) and np.isfinite(b_lufs):
        matched = float(10.0 ** ((a_lufs - b_lufs) / 20.0))
    gain = matched * safe_gain(b_true_peak * matched)
    if gain == 1.0:
        return gain, None

    def db(value: float) -> float:
        return round(20.0 * math.log10(max(value, 1e-12)), 3)

    return gain, {"b_gain_db": db(gain), "loudness_match_db": db(matched),
                  "b_true_peak_dbtp": db(b_true_peak), "ceiling_dbfs": CEILING_DBFS,
                  "why": "B scaled to A's loudness (measured after channel conversion), "
                         "no further than keeps its true peak below the ceiling"}


def b_gain_of(a: Source, b: Source, match_loudness: bool) -> tuple[float, dict | None]:
    """B's gain and sidecar entry (:func:`b_gain`): loudness and true peak measured on B as it
    will be played, after the conversion to A's channels."""
    if not match_loudness and b.sample_rate == a.sample_rate:
        return 1.0, None  # B is copied as it is
    analyzer, survey = Analyzer(b.sample_rate, a.channels), InputSurvey(b.sample_rate, a.channels)
    for block in b.blocks():
        block = convert_channels(block, a.channels, b.path)
        analyzer.add(block)
        survey.add(block)
    a_analyzer = Analyzer(a.sample_rate, a.channels)
    for block in a.blocks() if match_loudness else ():
        a_analyzer.add(block)
    a_lufs = a_analyzer.loudness() if match_loudness else float("nan")
    return b_gain(a_lufs, analyzer.loudness(), survey.true_peak, match_loudness)


def convert_channels(audio: np.ndarray, channels: int, path: Path | None = None) -> np.ndarray:
    """``[c, n]`` -> ``[channels, n]``: mono is copied to every channel, anything to mono is the
    mean; other changes are refused."""
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] == 1:
        return np.repeat(audio, channels, axis=0)
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    raise RestoreError(path, f"cannot convert {audio.shape[0]} channels to {channels}")


def convert_rate(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Sinc-resample ``[channels, n]`` in memory (for short excerpts and the Python API)."""
    if rate == new_rate:
        return audio
    return dsp.resample(torch.from_numpy(np.ascontiguousarray(audio, np.float32)), rate,
                        new_rate).numpy()


def bridge_frames_for(length_seconds: float, sample_rate: int, path: Path | None = None) -> int:
    if not 0 <= length_seconds <= MAX_BRIDGE_SECONDS:
        raise RestoreError(path, f"bridge length {length_seconds:g} s outside 0-"
                                 f"{MAX_BRIDGE_SECONDS:g} s")
    return int(round(length_seconds * sample_rate))


def context_frames(sample_rate: int) -> int:
    return math.ceil(CONTEXT_SECONDS * sample_rate)


def _converted_blocks(b: Source, rate: int, channels: int, gain: float) -> Iterator[np.ndarray]:
    """B's blocks at A's rate and channel count, times ``gain``."""
    blocks = b.blocks()
    if b.sample_rate != rate:
        blocks = resample_stream(blocks, b.frames, b.channels, b.sample_rate, rate)
    for block in blocks:
        block = convert_channels(block, channels, b.path)
        yield block if gain == 1.0 else (block * gain).astype(np.float32)


def _b_head(b: Source, rate: int, channels: int, frames: int, gain: float) -> np.ndarray:
    """B's first ``frames`` frames at A's rate and channels (excerpt converted in memory)."""
    native = int(np.ceil(frames * b.sample_rate / rate)) + 256  # + resampler margin
    head = convert_rate(b.read(0, min(native, b.frames)), b.sample_rate, rate)[:, :frames]
    return (convert_channels(head, channels, b.path) * gain).astype(np.float32)


def transition(a: Source, b: Source, sink: Sink, length_seconds: float, *, bridge_only: bool,
               match_loudness: bool, method: str, options: SamplingOptions,
               callback: Callable[[dict], None] | None = None
               ) -> tuple[list[Region], dict | None]:
    """Write A + bridge + B (or the bridge alone) at A's rate and channels into ``sink``.

    Returns the regions and the sidecar's ``level`` entry for B's gain (None: B unscaled).
    """
    rate, channels = a.sample_rate, a.channels
    gain, level = b_gain_of(a, b, match_loudness)
    bridge_frames = bridge_frames_for(length_seconds, rate, sink.path)
    context = context_frames(rate)
    a_tail = a.read(max(0, a.frames - context), min(context, a.frames))
    method = task_method(method, "transition")
    sampler = None if method == "classical" else Sampler.create(options)
    bridge = make_bridge(a_tail, _b_head(b, rate, channels, context, gain), rate, bridge_frames,
                         method=method, sampler=sampler)
    if callback is not None:
        callback({"windows_done": 1, "windows": 1})
    with sink.open(rate, channels, like=a, inputs=[b.path] if b.path else []) as out:
        if not bridge_only:
            for block in a.blocks(exact=True):
                out.write(block)
        out.write(bridge)
        if not bridge_only:
            for block in _converted_blocks(b, rate, channels, gain):
                out.write(block)
    start = 0 if bridge_only else a.frames
    return [frames_region(start, start + bridge_frames, rate, "transition", method=method)], level
