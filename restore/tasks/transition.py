"""Transitions: a generated bridge between the end of clip A and the start of clip B.

The bridge is inpainted: a window ``[A's last CONTEXT_SECONDS | bridge | B's first
CONTEXT_SECONDS]`` is built at A's rate, resampled to the model's 48 kHz with the bridge masked
as unknown, sampled, resampled back, and the bridge part is cut out. A and B themselves are
never changed (except B's gain with ``match_loudness``), so OUT = A + bridge + B.

The model does not start from pure noise: it refines the equal-power crossfade (SDEdit, Meng et
al. 2021; :func:`restore.diffusion.refine.refine`), noised to ``SDEDIT_SIGMA_START``. Sampled
from noise, the bridge scored worse than the crossfade itself (bridge LSD 1.18x the crossfade's,
evaluation/experiments/transition_start.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from restore import dsp
from restore.config import MODEL_RATE, TASK_ID

CONTEXT_SECONDS = 1.0  # of A's tail and of B's head that condition the bridge
MAX_BRIDGE_SECONDS = 4.0  # longer bridges are refused
# Noise level (model units, sigma_data = 0.5) at which the model takes over the crossfade (SDEdit).
SDEDIT_SIGMA_START = 1.0
LOUDNESS_SECONDS = 600.0  # loudness for --match-loudness is measured on at most this much


def bridge_window(a_tail: np.ndarray, b_head: np.ndarray, bridge_frames: int) -> np.ndarray:
    """``[channels, Ta + bridge + Tb]``: A's tail, silence for the bridge, B's head."""
    silence = np.zeros((a_tail.shape[0], bridge_frames), dtype=np.float32)
    return np.concatenate([a_tail, silence, b_head], axis=1).astype(np.float32)


def make_bridge(a_tail: np.ndarray, b_head: np.ndarray, sample_rate: int, bridge_frames: int,
                *, method: str, sampling=None, sigma_start: float | None = SDEDIT_SIGMA_START,
                task: str = "transition") -> np.ndarray:
    """The bridge ``[channels, bridge_frames]`` float32 between ``a_tail`` and ``b_head``.

    Both are ``[channels, n]`` at ``sample_rate``. ``method="classical"``: equal-power crossfade
    of A's and B's mirrored continuations. Otherwise the model (``sampling``, task ``task``)
    refines that crossfade from noise level ``sigma_start`` (SDEdit); ``sigma_start=None``
    samples the bridge from pure noise instead.
    """
    from restore.classical import equal_power_bridge

    if bridge_frames < 1:
        return np.zeros((a_tail.shape[0], 0), dtype=np.float32)
    crossfade = equal_power_bridge(a_tail, b_head, bridge_frames)
    if method == "classical":
        return crossfade
    window = np.concatenate([a_tail, crossfade, b_head], axis=1).astype(np.float32)
    mask = np.zeros(window.shape[1], dtype=bool)
    first = a_tail.shape[1]
    mask[first:first + bridge_frames] = True
    if sigma_start is None:
        from restore.tasks.inpaint import fill_diffusion

        degraded = np.where(mask, 0.0, window).astype(np.float32)
        filled = fill_diffusion(degraded[None], mask[None], sample_rate, sampling, task=task)
    else:
        filled = refine_window(window[None], mask[None], sample_rate, sampling, sigma_start, task)
    return filled[0, :, first:first + bridge_frames]


def refine_window(guess: np.ndarray, mask: np.ndarray, sample_rate: int, sampling,
                  sigma_start: float, task: str) -> np.ndarray:
    """Refine ``guess [batch, channels, frames]`` where ``mask [batch, frames]`` is True.

    As :func:`restore.tasks.inpaint.fill_diffusion` (model rate, band matching, AR edge blend),
    but the model is conditioned on the known samples only and starts from the guess noised to
    ``sigma_start`` (:func:`restore.diffusion.refine.refine`). Returns float32, same shape.
    """
    from restore.tasks.inpaint import MASK_PAD, blend_edges_with_ar, match_context_band

    frames = guess.shape[-1]
    known = np.where(mask[:, None, :], 0.0, guess).astype(np.float32)
    to_model = [dsp.resample(torch.from_numpy(audio).to(sampling.device), sample_rate, MODEL_RATE)
                for audio in (known, np.ascontiguousarray(guess, dtype=np.float32))]
    model_mask = torch.ones(guess.shape[0], 1, to_model[0].shape[-1])
    scale = MODEL_RATE / sample_rate
    for item, row in enumerate(mask):
        unknown = np.flatnonzero(row)  # one run per item (the bridge)
        low = max(0, math.floor(unknown[0] * scale) - MASK_PAD)
        model_mask[item, :, low:math.ceil((unknown[-1] + 1) * scale) + MASK_PAD] = 0.0
    filled = _refine_components(sampling, *to_model, model_mask, task, sigma_start)
    filled = match_context_band(filled.cpu(), to_model[0].cpu(), model_mask)
    back = dsp.resample(filled, MODEL_RATE, sample_rate)[..., :frames]
    return blend_edges_with_ar(back.numpy().astype(np.float32), known, mask, sample_rate)


def _refine_components(sampling, known: torch.Tensor, guess: torch.Tensor, mask: torch.Tensor,
                       task: str, sigma_start: float) -> torch.Tensor:
    """``restore.tasks.runner.sample_components`` with a first guess: ``known``/``guess
    [batch, channels, time]`` at the model rate, ``mask [batch, 1, time]`` (1 = known)."""
    from restore.diffusion.conditioning import known_data_projection
    from restore.diffusion.refine import refine
    from restore.tasks.stereo import from_components, silent_items, to_components

    batch, channels, length = known.shape
    device = sampling.device
    degraded, init = (to_components(audio.to(device, torch.float32))
                      .reshape(batch * channels, 1, length) for audio in (known, guess))
    item_mask = mask.to(device, torch.float32).repeat_interleave(channels, dim=0)
    task_id = torch.full((batch * channels,), TASK_ID[task], dtype=torch.long, device=device)
    cutoff = torch.full((batch * channels,), MODEL_RATE / 2, device=device)
    project = known_data_projection(degraded, item_mask, task_id, cutoff)
    silent = silent_items(degraded, item_mask).reshape(-1, 1, 1)

    def consistency(estimate: torch.Tensor) -> torch.Tensor:
        return torch.where(silent, degraded, project(estimate))

    result = refine(sampling.model, init, degraded, item_mask, task_id, cutoff,
                    sigma_start=sigma_start, steps=sampling.steps,
                    sampler=sampling.model.default_sampler, generator=sampling.generator,
                    consistency=consistency, callback=sampling.callback)
    return from_components(result.reshape(batch, channels, length))


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
