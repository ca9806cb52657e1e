"""Regenerate ``damaged.wav``: the bundled damaged example used by ``make demo``.

``python restore/examples/make_example.py`` writes 5 s of synthesised music (a melody of
plucked notes over a sustained chord, panned in stereo) at 22.05 kHz, 16-bit, low-passed at
5 kHz like an old low-bit-rate transfer, with three dropouts of digital silence (20, 60 and
150 ms). Deterministic: the same bytes every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

RATE = 22_050
SECONDS = 5.0
CUTOFF_HZ = 5000.0
DROPOUTS = ((1.10, 1.12), (2.40, 2.46), (3.70, 3.85))  # seconds
MELODY = (440.0, 494.0, 523.3, 587.3, 659.3, 587.3, 523.3, 494.0, 440.0, 392.0)


def note(freq_hz: float, seconds: float, decay: float) -> np.ndarray:
    """A plucked note: decaying partials with slight inharmonicity."""
    t = np.arange(int(seconds * RATE)) / RATE
    partials = sum(np.sin(2 * np.pi * freq_hz * k * (1 + 0.0004 * k * k) * t) / k**1.3
                   for k in range(1, 9))
    return partials * np.exp(-t * decay) * np.minimum(1.0, t * 200)


def music() -> np.ndarray:
    """``[2, frames]`` float: melody panned left of centre, chord right of centre."""
    frames = int(SECONDS * RATE)
    melody, chord = np.zeros(frames), np.zeros(frames)
    step = SECONDS / len(MELODY)
    for index, freq in enumerate(MELODY):
        start = int(index * step * RATE)
        tone = note(freq, min(1.2, SECONDS - index * step), 3.0)
        melody[start:start + tone.shape[0]] += tone
    t = np.arange(frames) / RATE
    for freq in (110.0, 164.8, 220.0, 277.2):
        chord += 0.25 * np.sin(2 * np.pi * freq * t) * (0.8 + 0.2 * np.sin(2 * np.pi * 0.7 * t))
    stereo = np.stack([0.7 * melody + 0.4 * chord, 0.4 * melody + 0.7 * chord])
    return 0.5 * stereo / np.abs(stereo).max()


def damage(audio: np.ndarray) -> np.ndarray:
    taps = scipy.signal.firwin(255, CUTOFF_HZ, fs=RATE)
    audio = scipy.signal.filtfilt(taps, [1.0], audio, axis=1)
    for start, end in DROPOUTS:
        audio[:, int(start * RATE):int(end * RATE)] = 0.0
    return audio


def main(path: Path | None = None) -> Path:
    path = path or Path(__file__).with_name("damaged.wav")
    sf.write(path, damage(music()).T.astype(np.float32), RATE, subtype="PCM_16")
    return path


if __name__ == "__main__":
    print(f"wrote {main()}")
