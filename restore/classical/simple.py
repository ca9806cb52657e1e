"""The simplest gap fillers: zero fill and linear interpolation, plus gap bookkeeping.

Audio is ``np.ndarray [channels, frames]``; ``gap_mask`` is ``bool [frames]`` (True = missing,
shared by all channels). Inputs are never modified; a new float32 array is returned.
"""

from __future__ import annotations

import numpy as np


def gap_runs(gap_mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in ``gap_mask [frames]`` as ``[(start, end), ...]`` (end exclusive)."""
    mask = np.asarray(gap_mask, dtype=bool)
    if mask.ndim != 1:
        raise ValueError(f"gap_mask must be [frames], got shape {mask.shape}")
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def check_audio_and_mask(audio: np.ndarray, gap_mask: np.ndarray) -> np.ndarray:
    """Validate shapes; return a float32 copy ``[channels, frames]`` of ``audio``."""
    audio = np.array(audio, dtype=np.float32, copy=True)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    if np.shape(gap_mask) != (audio.shape[1],):
        raise ValueError(f"gap_mask must be [{audio.shape[1]}], got shape {np.shape(gap_mask)}")
    return audio


def zero_fill(audio: np.ndarray, gap_mask: np.ndarray) -> np.ndarray:
    """``audio [channels, frames]`` with the samples under ``gap_mask`` set to 0."""
    out = check_audio_and_mask(audio, gap_mask)
    out[:, np.asarray(gap_mask, dtype=bool)] = 0.0
    return out


def linear_interpolate(audio: np.ndarray, gap_mask: np.ndarray) -> np.ndarray:
    """Straight line from the last known sample before each gap to the first one after it.

    A gap touching the start or end of the audio holds the nearest known sample; audio with no
    known sample at all comes back as zeros.
    """
    out = check_audio_and_mask(audio, gap_mask)
    mask = np.asarray(gap_mask, dtype=bool)
    known = np.flatnonzero(~mask)
    if known.size == 0:
        return np.zeros_like(out)
    missing = np.flatnonzero(mask)
    for channel in out:
        channel[missing] = np.interp(missing, known, channel[known])
    return out
