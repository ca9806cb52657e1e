"""Known-data projection (the consistency hook) and level normalisation, shared by sampling
and training so that both see exactly the same inputs."""

from __future__ import annotations

from collections.abc import Callable

import torch

from restore.config import MODEL_RATE, TASK_ID, DiffusionConfig
from restore.dsp import crossover


def level_scale(
    degraded: torch.Tensor, mask: torch.Tensor, config: DiffusionConfig
) -> torch.Tensor:
    """Per-item gain ``[batch, 1, 1]``: dividing by it brings the known audio to ``level_rms``.

    RMS is taken over reliable samples (``mask > 0.5``); audio quieter than ``level_floor``
    counts as silence and is not amplified beyond ``level_rms / level_floor``.
    """
    known = (mask > 0.5).to(degraded.dtype)
    energy = (degraded.float() ** 2 * known).sum(dim=(1, 2))
    count = known.sum(dim=(1, 2)).clamp_min(1.0)
    rms = (energy / count).sqrt().clamp_min(config.level_floor)
    return (rms / config.level_rms).reshape(-1, 1, 1)


def known_data_projection(
    degraded: torch.Tensor,
    mask: torch.Tensor,
    task_id: torch.Tensor,
    cutoff_hz: torch.Tensor,
    rate: int = MODEL_RATE,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The default consistency hook for a batch of mixed tasks.

    inpaint / transition / declick items: samples with mask 1 are set from ``degraded`` exactly
    (``estimate * (1 - mask) + degraded * mask``, so soft masks blend). bandwidth items: the band
    below ``cutoff_hz`` comes from ``degraded`` through the linear-phase crossover of
    :func:`restore.dsp.crossover`, the band above from the estimate. declip items additionally
    keep the observation's constraint on the clipped samples (mask 0): see
    :func:`clip_constraint`. All ``[batch, 1, time]``.
    """
    # made once, not per call: a tensor built from a list is a host-to-device copy (a CUDA sync)
    index = (task_id == TASK_ID["bandwidth"]).nonzero().flatten().to(degraded.device)
    has_band_items = index.numel() > 0
    cutoff_hz = torch.as_tensor(cutoff_hz, dtype=torch.float32, device=degraded.device)

    declip_items = (task_id == TASK_ID["declip"]).to(degraded.device).reshape(-1, 1, 1)

    def project(estimate: torch.Tensor) -> torch.Tensor:
        projected = estimate * (1 - mask) + degraded * mask
        projected = clip_constraint(projected, degraded, (mask < 0.5) & declip_items)
        if has_band_items:
            banded = crossover(degraded[index], estimate[index], cutoff_hz[index], rate)
            projected = projected.index_copy(0, index, banded.to(projected.dtype))
        return projected

    return project


def clip_constraint(
    estimate: torch.Tensor, degraded: torch.Tensor, clipped: torch.Tensor
) -> torch.Tensor:
    """Declipping's observation constraint (the sign-and-level projection).

    Where ``clipped`` (bool, broadcastable to ``[batch, 1, time]``) is true, the observed sample
    ``degraded`` sits at the clip level, so the true sample has the same sign and at least that
    magnitude: positive clipped samples become ``max(estimate, degraded)``, negative ones
    ``min(estimate, degraded)``. Elsewhere ``estimate`` is returned unchanged. This is the
    Euclidean projection onto the consistent set (as in consistent iterative hard thresholding,
    Kitic et al. 2015), so it is idempotent and commutes with positive level scaling.
    """
    above = torch.maximum(estimate, degraded.to(estimate.dtype))
    below = torch.minimum(estimate, degraded.to(estimate.dtype))
    bounded = torch.where(degraded > 0, above, below)
    return torch.where(clipped, bounded, estimate)
