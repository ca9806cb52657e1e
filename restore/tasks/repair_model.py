"""The diffusion model's repair of clicks and clipping inside one block of audio.

The block is cut into segments of ``SEGMENT_SECONDS``; only segments that hold damaged samples
are sampled, each as a window of itself plus ``CONTEXT_SECONDS`` of real audio on each side,
resampled to the model's rate. The conditioning is what training used (data_prep/pairs.py):

* declick: the click samples (all channels' clicks, widened by ``MASK_PAD`` model-rate samples)
  are masked and zeroed, and the channels are sampled as mid/side components like inpainting;
* declip: each channel is its own item (the observation's constraint is per channel), the
  clipped waveform is kept as observed, the clipped samples are masked, and the known-data
  projection keeps their sign and level after every step
  (:func:`restore.diffusion.conditioning.clip_constraint`).

Only the masked samples of the result are used; the caller keeps every other sample exact.
"""

from __future__ import annotations

import numpy as np
import torch

from restore import dsp
from restore.config import MODEL_RATE, TASK_ID
from restore.diffusion.generate import generate
from restore.tasks.inpaint import model_rate_mask
from restore.tasks.sampler import Sampler

SEGMENT_SECONDS = 1.0  # block part sampled by one window
CONTEXT_SECONDS = 0.25  # real audio on each side of a segment that conditions it
MASK_PAD = 2  # model-rate samples added to each side of a masked run (resampling smear)


def _segments(mask: np.ndarray, sample_rate: int) -> list[tuple[int, int, int, int]]:
    """``(low, high, first, last)``: window ``[low, high)`` around each segment ``[first,
    last)`` that holds a masked sample (frames of the block)."""
    length = mask.shape[-1]
    segment = max(1, int(SEGMENT_SECONDS * sample_rate))
    context = int(CONTEXT_SECONDS * sample_rate)
    damaged = mask.any(axis=0)
    out = []
    for first in range(0, length, segment):
        last = min(first + segment, length)
        if damaged[first:last].any():
            out.append((max(0, first - context), min(length, last + context), first, last))
    return out


def _sample_declip(sampler: Sampler, audio: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Items ``[items, 1, time]`` through ``generate`` with task declip (its own projections)."""
    device = sampler.device
    items = audio.shape[0]
    return generate(sampler.model.denoiser, audio.to(device), mask.to(device),
                    torch.full((items,), TASK_ID["declip"], dtype=torch.long, device=device),
                    torch.full((items,), MODEL_RATE / 2, device=device), steps=sampler.steps,
                    sampler=sampler.model.default_sampler, generator=sampler.generator,
                    precision=sampler.precision, compile=sampler.compile).cpu()


def _fill_group(windows: list[np.ndarray], masks: list[np.ndarray], sample_rate: int,
                task: str, sampler: Sampler) -> list[np.ndarray]:
    """Sample equal-length ``windows [channels, n]`` with ``masks`` as one batch."""
    channels, frames = windows[0].shape
    audio = torch.from_numpy(np.stack(windows).astype(np.float32))
    if task == "declick":
        union = np.stack([mask.any(axis=0) for mask in masks])
        audio = audio * torch.from_numpy(~union[:, None, :])
        model_audio = dsp.resample(audio, sample_rate, MODEL_RATE)
        model_mask = model_rate_mask(union, sample_rate, model_audio.shape[-1], MASK_PAD)
        model_audio = model_audio * model_mask
        filled = sampler.fill(model_audio, model_mask, "declick", MODEL_RATE / 2)
    else:
        model_audio = dsp.resample(audio, sample_rate, MODEL_RATE)
        rows = model_audio.reshape(-1, 1, model_audio.shape[-1])
        model_mask = model_rate_mask(np.concatenate(masks), sample_rate, rows.shape[-1],
                                     MASK_PAD)
        filled = _sample_declip(sampler, rows, model_mask).reshape(model_audio.shape)
    back = dsp.resample(filled.cpu().float(), MODEL_RATE, sample_rate)[..., :frames]
    return list(back.numpy().astype(np.float64))


def model_repair(window: np.ndarray, mask: np.ndarray, sample_rate: int, task: str,
                 sampler: Sampler, batch_size: int) -> np.ndarray:
    """``window [channels, n]`` with the samples under ``mask`` re-sampled by the model.

    Returns float64 ``[channels, n]``; samples outside ``mask`` are ``window``'s.
    """
    out = window.astype(np.float64).copy()
    segments = _segments(mask, sample_rate)
    for start in range(0, len(segments), batch_size):
        group = segments[start:start + batch_size]
        longest = max(high - low for low, high, _, _ in group)
        padded = []
        for low, _high, _first, _last in group:
            low = max(0, min(low, window.shape[1] - longest))
            padded.append((low, min(window.shape[1], low + longest)))
        width = min(longest, window.shape[1])
        windows = [window[:, low:low + width] for low, _ in padded]
        masks = [mask[:, low:low + width] for low, _ in padded]
        filled = _fill_group(windows, masks, sample_rate, task, sampler)
        for (low, _), (_, _, first, last), result in zip(padded, group, filled, strict=True):
            part = slice(first, last)
            local = result[:, first - low:last - low]
            out[:, part] = np.where(mask[:, part], local, out[:, part])
    return out
