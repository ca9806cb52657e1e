"""Transitions: a generated bridge between the end of clip A and the start of clip B.

The bridge is inpainted: a window ``[A's last CONTEXT_SECONDS | bridge | B's first
CONTEXT_SECONDS]`` is built at A's rate, resampled to the model's 48 kHz with the bridge masked
as unknown, sampled, resampled back, and the bridge part is cut out. A and B themselves are
never changed (except B's gain with ``match_loudness``), so OUT = A + bridge + B.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from restore import dsp

CONTEXT_SECONDS = 1.0  # of A's tail and of B's head that condition the bridge
MAX_BRIDGE_SECONDS = 4.0  # longer bridges are refused
LOUDNESS_SECONDS = 600.0  # loudness for --match-loudness is measured on at most this much


def bridge_window(a_tail: np.ndarray, b_head: np.ndarray, bridge_frames: int) -> np.ndarray:
    """``[channels, Ta + bridge + Tb]``: A's tail, silence for the bridge, B's head."""
    silence = np.zeros((a_tail.shape[0], bridge_frames), dtype=np.float32)
    return np.concatenate([a_tail, silence, b_head], axis=1).astype(np.float32)


def make_bridge(a_tail: np.ndarray, b_head: np.ndarray, sample_rate: int, bridge_frames: int,
                *, method: str, sampling=None) -> np.ndarray:
    """The bridge ``[channels, bridge_frames]`` float32 between ``a_tail`` and ``b_head``.

    Both are ``[channels, n]`` at ``sample_rate``. ``method="classical"``: equal-power crossfade
    of A's and B's mirrored continuations.
    """
    if bridge_frames < 1:
        return np.zeros((a_tail.shape[0], 0), dtype=np.float32)
    if method == "classical":
        from restore.classical import equal_power_bridge

        return equal_power_bridge(a_tail, b_head, bridge_frames)
    from restore.tasks.inpaint import fill_diffusion

    window = bridge_window(a_tail, b_head, bridge_frames)
    mask = np.zeros(window.shape[1], dtype=bool)
    first = a_tail.shape[1]
    mask[first:first + bridge_frames] = True
    filled = fill_diffusion(window[None], mask[None], sample_rate, sampling, task="transition")
    return filled[0, :, first:first + bridge_frames]


def loudness_gain(a: np.ndarray, b: np.ndarray, sample_rate: int) -> float:
    """Linear gain that brings B's integrated loudness (pyloudnorm) to A's; 1.0 if either is
    silent or too short to measure."""
    from restore.analysis import loudness_lufs

    a_lufs, b_lufs = loudness_lufs(a, sample_rate), loudness_lufs(b, sample_rate)
    if not (np.isfinite(a_lufs) and np.isfinite(b_lufs)):
        return 1.0
    return float(10.0 ** ((a_lufs - b_lufs) / 20.0))


def convert_channels(audio: np.ndarray, channels: int, path=None) -> np.ndarray:
    """``[c, n]`` -> ``[channels, n]``: mono is copied to every channel, anything to mono is the
    mean; other changes are refused."""
    from restore.errors import RestoreError

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


def bridge_frames_for(length_seconds: float, sample_rate: int, path=None) -> int:
    from restore.errors import RestoreError

    if not 0 <= length_seconds <= MAX_BRIDGE_SECONDS:
        raise RestoreError(path, f"bridge length {length_seconds:g} s outside 0-"
                                 f"{MAX_BRIDGE_SECONDS:g} s")
    return int(round(length_seconds * sample_rate))


def context_frames(sample_rate: int) -> int:
    return math.ceil(CONTEXT_SECONDS * sample_rate)
