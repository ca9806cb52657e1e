"""``generate``: condition, normalise, sample, project onto known data, scale back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from restore.config import MODEL_RATE
from restore.diffusion.conditioning import known_data_projection, level_scale
from restore.diffusion.precision import inference_denoiser
from restore.diffusion.sampling import SAMPLERS, get_sigmas_karras

if TYPE_CHECKING:
    from restore.checkpoint import LoadedModel


def _check_inputs(degraded, mask, task_id, cutoff_hz) -> None:
    if degraded.dim() != 3 or degraded.shape[1] != 1:
        raise ValueError(f"degraded must be [batch, 1, time], got {tuple(degraded.shape)}")
    if mask.shape != degraded.shape:
        raise ValueError(f"mask {tuple(mask.shape)} must match degraded {tuple(degraded.shape)}")
    batch = degraded.shape[0]
    if task_id.shape != (batch,) or cutoff_hz.shape != (batch,):
        raise ValueError("task_id and cutoff_hz must be [batch]")


def _noise(shape, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Standard normal noise drawn on the generator's device (reproducible across devices)."""
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device).to(device)


@torch.no_grad()
def generate(
    model: LoadedModel,
    degraded: torch.Tensor,
    mask: torch.Tensor,
    task_id: torch.Tensor,
    cutoff_hz: torch.Tensor,
    *,
    steps: int,
    sampler: str = "heun",
    generator: torch.Generator | None = None,
    churn: float = 0.0,
    consistency: Callable[[torch.Tensor], torch.Tensor] | None = None,
    callback: Callable[[dict], None] | None = None,
    precision: str = "fp32",
    compile: bool = False,
) -> torch.Tensor:
    """Sample the restored signal ``[batch, 1, time]`` (float32, on ``degraded``'s device;
    the work runs on the model's device).

    ``degraded, mask [batch, 1, time]`` at 48 kHz (mask 1 = reliable sample), ``task_id [batch]``
    long, ``cutoff_hz [batch]`` (upper edge of the known band, Hz). Any ``time`` works.
    The audio is scaled so the known part has the training RMS, sampled, and scaled back.
    ``consistency(estimate [batch, 1, time]) -> same`` replaces the default known-data
    projection; it sees audio at the caller's level. ``churn > 0`` needs ``sampler="heun"``
    (or ``"euler"``). ``precision`` (``"fp32"``, ``"bf16"``, ``"auto"`` = bf16 where the
    hardware has it) and ``compile`` (``torch.compile`` on CUDA) concern the network's forward
    pass only; see :func:`restore.diffusion.precision.inference_denoiser`.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose from {sorted(SAMPLERS)}")
    device, input_device = next(model.denoiser.parameters()).device, degraded.device
    degraded, mask = degraded.float().to(device), mask.float().to(device)
    task_id, cutoff_hz = task_id.long().to(device), cutoff_hz.float().to(device)
    _check_inputs(degraded, mask, task_id, cutoff_hz)
    config = model.diffusion
    scale = level_scale(degraded, mask, config)
    scaled = degraded / scale
    if consistency is None:
        project = known_data_projection(scaled, mask, task_id, cutoff_hz, MODEL_RATE)
    else:
        def project(estimate: torch.Tensor) -> torch.Tensor:
            return consistency(estimate * scale) / scale

    # on the CPU: the samplers read each sigma as a Python float, which from a CUDA tensor
    # would be a sync point per step (the GPU queue would drain before every network call)
    sigmas = get_sigmas_karras(steps, config.sigma_min, config.sigma_max, config.rho)
    x = _noise(degraded.shape, generator, device) * float(sigmas[0])
    extra_args = {"degraded": scaled, "mask": mask, "task_id": task_id, "cutoff_hz": cutoff_hz}
    denoiser = inference_denoiser(model.denoiser, precision, compile)
    result = SAMPLERS[sampler](
        denoiser, x, sigmas, extra_args=extra_args, callback=callback, churn=churn,
        generator=generator, consistency=project,
    )
    # the last projection again at the caller's level: known samples come back bit-exact
    final = consistency or known_data_projection(degraded, mask, task_id, cutoff_hz, MODEL_RATE)
    return final(result * scale).to(input_device)
