"""Sinc resampling as a bandwidth-extension baseline (adds no content above the input's Nyquist)."""

from __future__ import annotations

import numpy as np
import torch

from restore import dsp


def sinc_upsample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling of ``audio [channels, frames]`` -> ``[channels, new_frames]`` f32.

    Uses ``restore.dsp.resample`` (Kaiser-windowed sinc); ``new_frames = ceil(frames * new_rate /
    orig_rate)``.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    resampled = dsp.resample(torch.from_numpy(audio.copy()), int(orig_rate), int(new_rate))
    return resampled.numpy().astype(np.float32, copy=False)
