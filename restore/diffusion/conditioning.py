"""What the observation fixes: level normalisation and the projections onto the known data.

Shared by sampling and training so that both see exactly the same inputs. A projection maps a
clean estimate ``[batch, 1, time]`` onto the signals consistent with the observation; the
samplers apply a list of them to every denoised estimate (:func:`restore.diffusion.generate`).
Each is a small object holding its data, so what a task needs at every step is passed down as
a value, never a closure that reaches back up into the task.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from restore.config import MODEL_RATE, TASK_ID, DiffusionConfig
from restore.diffusion.sampling import Projection
from restore.dsp import Lowpass, planned_crossover


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


@dataclass(frozen=True)
class KnownSamples:
    """Samples with ``mask`` 1 set from ``degraded`` exactly: ``estimate * (1 - mask) +
    degraded * mask`` (soft masks blend). Inpaint, transition and declick."""

    degraded: torch.Tensor  # [batch, 1, time]
    mask: torch.Tensor  # [batch, 1, time], 1 = reliable

    def __call__(self, estimate: torch.Tensor) -> torch.Tensor:
        return estimate * (1 - self.mask) + self.degraded * self.mask


@dataclass(frozen=True)
class KnownBand:
    """Bandwidth extension: for ``items``, the band below ``cutoff_hz`` from ``degraded``
    through the linear-phase crossover of :func:`restore.dsp.crossover`, the band above from
    the estimate; other items unchanged.

    The crossover's low-pass is planned once (:class:`restore.dsp.Lowpass`): the sampler
    applies the projection at every step to estimates of the same length.
    """

    degraded: torch.Tensor  # [batch, 1, time]
    cutoff_hz: torch.Tensor  # [batch]
    items: torch.Tensor  # indexes of the bandwidth items, long
    rate: int = MODEL_RATE

    def __post_init__(self) -> None:
        split = Lowpass(self.cutoff_hz[self.items], self.rate, self.degraded.shape[-1],
                        device=self.degraded.device)
        object.__setattr__(self, "_split", split)
        # a shape, not a value: no device sync. Every item (the upsampler's batches): no
        # gather and scatter of the batch at every step
        object.__setattr__(self, "_every_item", self.items.numel() == self.degraded.shape[0])

    def __call__(self, estimate: torch.Tensor) -> torch.Tensor:
        if self._every_item:
            return planned_crossover(self.degraded, estimate, self._split).to(estimate.dtype)
        banded = planned_crossover(self.degraded[self.items], estimate[self.items], self._split)
        return estimate.index_copy(0, self.items, banded.to(estimate.dtype))


@dataclass(frozen=True)
class ClipConstraint:
    """Declipping's sign-and-level constraint on ``clipped`` samples (:func:`clip_constraint`)."""

    degraded: torch.Tensor  # [batch, 1, time]
    clipped: torch.Tensor  # bool, broadcastable to [batch, 1, time]

    def __call__(self, estimate: torch.Tensor) -> torch.Tensor:
        return clip_constraint(estimate, self.degraded, self.clipped)


@dataclass(frozen=True)
class KeepItems:
    """Whole ``items`` (bool ``[batch]``) kept as ``degraded``, e.g. digitally silent ones."""

    degraded: torch.Tensor  # [batch, 1, time]
    items: torch.Tensor  # [batch] bool

    def __call__(self, estimate: torch.Tensor) -> torch.Tensor:
        return torch.where(self.items.reshape(-1, 1, 1), self.degraded, estimate)


def task_projections(
    degraded: torch.Tensor,
    mask: torch.Tensor,
    task_id: torch.Tensor,
    cutoff_hz: torch.Tensor,
    rate: int = MODEL_RATE,
) -> list[Projection]:
    """The projections of a batch of mixed tasks, in the order they apply.

    Every item but bandwidth ones: :class:`KnownSamples` (left out when all are bandwidth
    items); declip items also :class:`ClipConstraint` on their clipped samples (mask 0);
    bandwidth items (mask all ones, the band above ``cutoff_hz`` unknown): :class:`KnownBand`.
    All ``[batch, 1, time]``.
    """
    # made once, not per step: a tensor built from a list is a host-to-device copy (a CUDA sync)
    task_id = task_id.to(degraded.device)
    band = task_id == TASK_ID["bandwidth"]
    projections: list[Projection] = []
    if not bool(band.all()):  # (for bandwidth items alone it would return the estimate)
        projections.append(KnownSamples(degraded, torch.where(
            band.reshape(-1, 1, 1), torch.zeros_like(mask), mask)))
    declip = (task_id == TASK_ID["declip"]).reshape(-1, 1, 1)
    if bool(declip.any()):
        projections.append(ClipConstraint(degraded, (mask < 0.5) & declip))
    if bool(band.any()):
        cutoff_hz = torch.as_tensor(cutoff_hz, dtype=torch.float32, device=degraded.device)
        projections.append(KnownBand(degraded, cutoff_hz, band.nonzero().flatten(), rate))
    return projections


def compose(projections: Sequence[Projection]) -> Projection:
    """One projection applying ``projections`` in order."""
    return lambda estimate: functools.reduce(lambda x, project: project(x), projections, estimate)


def known_data_projection(degraded: torch.Tensor, mask: torch.Tensor, task_id: torch.Tensor,
                          cutoff_hz: torch.Tensor, rate: int = MODEL_RATE) -> Projection:
    """:func:`task_projections` as one projection (training projects both sides of its loss)."""
    return compose(task_projections(degraded, mask, task_id, cutoff_hz, rate))


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
