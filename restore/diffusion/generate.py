"""``generate``: normalise the level, sample with the projections applied, scale back.

The k-diffusion layering: a :class:`~restore.diffusion.denoiser.Denoiser` (preconditioning),
a schedule (``sigmas``), a sampler from :data:`~restore.diffusion.sampling.SAMPLERS`, and what
the observation fixes as an explicit list of projections
(:mod:`restore.diffusion.conditioning`). Nothing here knows about files, tasks or checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from restore.config import MODEL_RATE
from restore.diffusion.conditioning import Projection, compose, level_scale, task_projections
from restore.diffusion.denoiser import Denoiser
from restore.diffusion.precision import inference_denoiser
from restore.diffusion.sampling import SAMPLERS, SCHEDULES


def _check_inputs(degraded: torch.Tensor, mask: torch.Tensor, task_id: torch.Tensor,
                  cutoff_hz: torch.Tensor) -> None:
    if degraded.dim() != 3 or degraded.shape[1] != 1:
        raise ValueError(f"degraded must be [batch, 1, time], got {tuple(degraded.shape)}")
    if mask.shape != degraded.shape:
        raise ValueError(f"mask {tuple(mask.shape)} must match degraded {tuple(degraded.shape)}")
    batch = degraded.shape[0]
    if task_id.shape != (batch,) or cutoff_hz.shape != (batch,):
        raise ValueError("task_id and cutoff_hz must be [batch]")


def at_level(project: Projection, scale: torch.Tensor) -> Projection:
    """``project`` (made for audio at the caller's level) for audio divided by ``scale``."""
    return lambda estimate: project(estimate * scale) / scale


@torch.no_grad()
def generate(
    denoiser: Denoiser,
    degraded: torch.Tensor,
    mask: torch.Tensor,
    task_id: torch.Tensor,
    cutoff_hz: torch.Tensor,
    *,
    steps: int | None = None,
    sigmas: torch.Tensor | None = None,
    x: torch.Tensor | None = None,
    sampler: str = "heun",
    generator: torch.Generator | None = None,
    churn: float = 0.0,
    projections: Sequence[Projection] | None = None,
    callback: Callable[[dict], None] | None = None,
    precision: str = "fp32",
    compile: bool = False,
) -> torch.Tensor:
    """Sample the restored signal ``[batch, 1, time]`` (float32, on ``degraded``'s device;
    the work runs on the denoiser's device).

    ``degraded, mask [batch, 1, time]`` at 48 kHz (mask 1 = reliable sample), ``task_id [batch]``
    long, ``cutoff_hz [batch]`` (upper edge of the known band, Hz). Any ``time`` works.
    The audio is scaled so the known part has the training RMS, sampled, and scaled back.

    ``sigmas`` (ending with 0; default: the denoiser's schedule of ``steps`` steps between its
    ``sigma_min`` and ``sigma_max``, Karras unless it is a distilled student). ``x``: an
    initial guess at the caller's level (default zeros); sampling starts from it plus noise of
    std ``sigmas[0]`` (with a short schedule from a low sigma: SDEdit). ``projections``
    (default :func:`task_projections`) are applied in order to every clean estimate and to the
    result, at the caller's level, so the known samples come back bit-exact. ``churn > 0``
    needs ``sampler="heun"`` (or ``"euler"``). ``precision`` and ``compile`` concern the
    network's forward pass only (:func:`restore.diffusion.precision.inference_denoiser`).
    ``callback`` is the sampler's: ``{"i", "sigma", "x", "denoised"}`` after every step.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose from {sorted(SAMPLERS)}")
    device, input_device = next(denoiser.parameters()).device, degraded.device
    degraded, mask = degraded.float().to(device), mask.float().to(device)
    task_id, cutoff_hz = task_id.long().to(device), cutoff_hz.float().to(device)
    _check_inputs(degraded, mask, task_id, cutoff_hz)
    config = denoiser.config
    if projections is None:
        projections = task_projections(degraded, mask, task_id, cutoff_hz, MODEL_RATE)
    project = compose(projections)
    scale = level_scale(degraded, mask, config)
    # on the CPU: the samplers read each sigma as a Python float, which from a CUDA tensor
    # would be a sync point per step (the GPU queue would drain before every network call)
    if sigmas is None:
        if steps is None:
            raise ValueError("give steps or sigmas")
        sigmas = SCHEDULES[config.schedule](steps, config.sigma_min, config.sigma_max, config.rho)
    # drawn on the generator's device: the same seed gives the same noise on any device
    noise_device = generator.device if generator is not None else device
    start = torch.randn(degraded.shape, generator=generator, device=noise_device).to(device)
    start = start * float(sigmas[0])
    if x is not None:
        start = x.float().to(device) / scale + start
    extra_args = {"degraded": degraded / scale, "mask": mask, "task_id": task_id,
                  "cutoff_hz": cutoff_hz}
    result = SAMPLERS[sampler](
        inference_denoiser(denoiser, precision, compile), start, sigmas, extra_args=extra_args,
        callback=callback, churn=churn, generator=generator, project=at_level(project, scale),
    )
    # the last projection again at the caller's level: known samples come back bit-exact
    return project(result * scale).to(input_device)
