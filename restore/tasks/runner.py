"""What every diffusion task shares: device and model resolution, seeded sampling of components.

Tasks hand over multichannel windows already at the model's rate; this module turns them into
mid/side (Helmert) components, samples them as one batch, keeps silent components silent and
turns the result back into channels.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from restore.config import TASK_ID
from restore.diffusion.conditioning import known_data_projection
from restore.diffusion.precision import check_precision
from restore.tasks.stereo import (
    channel_matrices,
    from_components,
    silent_channels,
    silent_items,
    to_components,
)

METHODS = ("auto", "diffusion", "classical")
# windows (or gaps) sampled together when the caller gives no batch size: a few on a CPU, where
# a larger batch is no faster; many on a GPU, which a handful of windows leaves mostly idle
CPU_BATCH_SIZE = 4
CUDA_BATCH_SIZE = 32


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else as given."""
    if str(device) == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        # one process per GPU under torchrun: each takes its own
        return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    return torch.device(device)


def resolve_model(model, device: torch.device):
    """A ``LoadedModel`` from ``model`` (a LoadedModel, a file path, or None = default model)."""
    from restore.checkpoint import LoadedModel, load_model

    if isinstance(model, LoadedModel):
        model.denoiser.to(device)
        return model
    return load_model(None if model is None else Path(model), device=device)


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def task_method(method: str, task: str) -> str:
    """The method a task runs for ``method``: upsampling and transitions have no regime where
    the classical method wins, so ``"auto"`` is the model there; inpainting decides per gap."""
    check_method(method)
    return "diffusion" if method == "auto" and task != "inpaint" else method


def default_batch_size(device: str | torch.device | None) -> int:
    """Windows per batch for ``device`` (None: no model, e.g. the classical method)."""
    if device is not None and resolve_device(device).type == "cuda":
        return CUDA_BATCH_SIZE
    return CPU_BATCH_SIZE


def resolve_batch_size(batch_size: int | None, device: str | torch.device | None) -> int:
    """``batch_size`` itself (checked >= 1), or the device's default when None."""
    if batch_size is None:
        return default_batch_size(device)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    return int(batch_size)


@dataclass
class Sampling:
    """How to sample: a loaded model, steps, a seeded generator, a progress callback, and the
    network's arithmetic (see :func:`restore.diffusion.precision.inference_denoiser`)."""

    model: object  # restore.checkpoint.LoadedModel
    steps: int
    generator: torch.Generator
    callback: Callable[[dict], None] | None = None
    precision: str = "fp32"  # network forward: fp32, bf16, or "auto" (bf16 where native)
    compile: bool = False  # torch.compile the network (CUDA only; compiles once per model)

    @classmethod
    def create(cls, model, *, steps: int | None, seed: int, device: str | torch.device,
               callback: Callable[[dict], None] | None = None, precision: str = "fp32",
               compile: bool = False) -> Sampling:
        check_precision(precision)
        loaded = resolve_model(model, resolve_device(device))
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        return cls(loaded, int(steps or loaded.default_steps), generator, callback, precision,
                   bool(compile))

    def reseeded(self, seed: int) -> Sampling:
        """The same sampling with a fresh generator seeded with ``seed`` (one per variant)."""
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        return Sampling(self.model, self.steps, generator, self.callback, self.precision,
                        self.compile)

    @property
    def device(self) -> torch.device:
        return next(self.model.denoiser.parameters()).device


def sample_components(
    sampling: Sampling,
    audio: torch.Tensor,
    mask: torch.Tensor,
    task: str,
    cutoff_hz: float,
    blend: Callable[[torch.Tensor], torch.Tensor] | None = None,
    silent: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fill ``audio [batch, channels, time]`` (model rate) where ``mask [batch, 1, time]`` is 0.

    For the ``bandwidth`` task the mask is all ones and the band above ``cutoff_hz`` is generated.
    Channels are sampled as mid/side (Helmert) components in one batch. ``blend(components
    [batch, channels, time]) -> same`` runs after the known-data projection at every step (the
    chunking engine uses it to make overlapping windows agree). ``silent [batch, channels]``
    (bool) names the channels kept as they are (default: those quieter than -90 dBFS where
    known, :func:`restore.tasks.stereo.silent_channels`); the others are sampled as components
    among themselves. Returns ``[batch, channels, time]``.
    """
    from restore.diffusion import generate

    batch, channels, length = audio.shape
    device = sampling.device
    audio = audio.to(device, torch.float32)
    matrices = channel_matrices(silent_channels(audio, mask.to(device)) if silent is None
                                else silent).to(device, torch.float32)
    components = to_components(audio, matrices)
    degraded = components.reshape(batch * channels, 1, length)
    item_mask = mask.to(device, torch.float32).repeat_interleave(channels, dim=0)
    task_id = torch.full((batch * channels,), TASK_ID[task], dtype=torch.long, device=device)
    cutoff = torch.full((batch * channels,), float(cutoff_hz), device=device)
    project = known_data_projection(degraded, item_mask, task_id, cutoff)
    kept = silent_items(degraded, item_mask)

    def consistency(estimate: torch.Tensor) -> torch.Tensor:
        estimate = project(estimate)
        estimate = torch.where(kept.reshape(-1, 1, 1), degraded, estimate)
        if blend is not None:
            blended = blend(estimate.reshape(batch, channels, length))
            estimate = blended.reshape(batch * channels, 1, length).to(estimate.dtype)
        return estimate

    result = generate(sampling.model, degraded, item_mask, task_id, cutoff, steps=sampling.steps,
                      sampler=sampling.model.default_sampler, generator=sampling.generator,
                      consistency=consistency, callback=sampling.callback,
                      precision=sampling.precision, compile=sampling.compile)
    return from_components(result.reshape(batch, channels, length), matrices)
