"""Synthetic programme material for benchmarks and tests (no audio files needed)."""

from __future__ import annotations

import numpy as np


def synthetic_music(seconds: float, seed: int, rate: int = 48000) -> np.ndarray:
    """Harmonic notes with vibrato and decay over soft noise ``[frames]`` float32, peak 0.5.

    A new note every 0.5 s (pitch drawn from two octaves above 110 Hz), five harmonics, 5 Hz
    vibrato, exponential decay, white noise 40 dB below the notes.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * rate))) / rate
    audio = 0.01 * rng.normal(size=t.shape)
    for onset in np.arange(0.0, seconds, 0.5):
        pitch = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        envelope = np.where(t >= onset, np.exp(-(t - onset) * 3.0), 0.0)
        for harmonic in range(1, 6):
            if pitch * harmonic >= rate / 2:
                break
            phase = 2 * np.pi * pitch * harmonic * t + 0.3 * np.sin(2 * np.pi * 5 * t)
            audio += envelope * 0.15 / harmonic * np.sin(phase)
    return (audio / np.max(np.abs(audio)) * 0.5).astype(np.float32)


def tiled(seconds: float, rate: int, seed: int = 0, tile_seconds: float = 10.0) -> np.ndarray:
    """``[1, seconds * rate]`` float32: a ``tile_seconds`` synthetic piece, repeated (cheap)."""
    tile = synthetic_music(min(seconds, tile_seconds), seed, rate)
    frames = int(round(seconds * rate))
    return np.resize(tile, frames)[None, :]
