"""What every diffusion task shares: the sampling options, model and device resolution, and
seeded sampling of multichannel windows (at the model's rate) as mid/side components
(:meth:`Sampler.fill`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from restore.checkpoint import LoadedModel, load_model
from restore.config import TASK_ID
from restore.diffusion.conditioning import KeepItems, Projection, task_projections
from restore.diffusion.generate import generate
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


def resolve_model(model: LoadedModel | str | Path | None, device: torch.device) -> LoadedModel:
    """A ``LoadedModel`` from ``model`` (a LoadedModel, a file path, or None = default model)."""
    if isinstance(model, LoadedModel):
        return model.to(device)
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


@dataclass(frozen=True)
class SamplingOptions:
    """How to run the model: the same run-level choices for every task, API and CLI alike."""

    model: LoadedModel | str | Path | None = None  # None: the model shipped with restore
    steps: int | None = None  # sampler steps (None: the model's default)
    seed: int = 0  # variant v of a task uses seed + v
    device: str | torch.device = "auto"  # auto: CUDA when available
    precision: str = "fp32"  # network forward: fp32, bf16, or "auto" (bf16 where native)
    compile: bool = False  # torch.compile the network (CUDA; a CPU with a C++ compiler)
    batch_size: int | None = None  # windows sampled together (None: the device's default)

    def __post_init__(self) -> None:
        check_precision(self.precision)

    def batch_size_for(self, method: str) -> int:
        """``batch_size``, or the default of the device the model runs on (the CPU's for the
        classical method)."""
        return resolve_batch_size(self.batch_size, None if method == "classical" else self.device)

    def loaded(self) -> SamplingOptions:
        """The same options with the model loaded on its device (once, for many files)."""
        device = resolve_device(self.device)
        return replace(self, model=resolve_model(self.model, device), device=device)


@dataclass
class Sampler:
    """:class:`SamplingOptions` made ready: a loaded model, its steps and a seeded generator."""

    model: LoadedModel
    steps: int
    generator: torch.Generator
    precision: str = "fp32"
    compile: bool = False

    @classmethod
    def create(cls, options: SamplingOptions, variant: int = 0) -> Sampler:
        """A fresh sampler seeded with ``options.seed + variant``, so that results do not depend
        on what ran before."""
        model = resolve_model(options.model, resolve_device(options.device))
        generator = torch.Generator(device="cpu").manual_seed(int(options.seed) + variant)
        return cls(model, int(options.steps or model.default_steps), generator,
                   options.precision, bool(options.compile))

    @property
    def device(self) -> torch.device:
        return self.model.device

    def fill(self, audio: torch.Tensor, mask: torch.Tensor, task: str, cutoff_hz: float,
             projections: Sequence[Projection] = (),
             silent: torch.Tensor | None = None) -> torch.Tensor:
        """Fill ``audio [batch, channels, time]`` (model rate) where ``mask [batch, 1, time]``
        is 0; returns ``[batch, channels, time]``.

        For the ``bandwidth`` task the mask is all ones and the band above ``cutoff_hz`` is
        generated. Channels are sampled as mid/side (Helmert) components in one batch
        ``[batch * channels, 1, time]``; ``projections`` on that batch run after the task's own
        at every step (the chunking engine's window agreement). ``silent [batch, channels]``
        (bool) names the channels kept as they are (default: those quieter than -90 dBFS where
        known, :func:`restore.tasks.stereo.silent_channels`); the others are sampled as
        components among themselves.
        """
        batch, channels, length = audio.shape
        device = self.device
        audio, mask = audio.to(device, torch.float32), mask.to(device, torch.float32)
        matrices = channel_matrices(silent_channels(audio, mask) if silent is None
                                    else silent).to(device, torch.float32)
        degraded = to_components(audio, matrices).reshape(batch * channels, 1, length)
        item_mask = mask.repeat_interleave(channels, dim=0)
        task_id = torch.full((batch * channels,), TASK_ID[task], dtype=torch.long, device=device)
        cutoff = torch.full((batch * channels,), float(cutoff_hz), device=device)
        kept = KeepItems(degraded, silent_items(degraded, item_mask))
        result = generate(self.model.denoiser, degraded, item_mask, task_id, cutoff,
                          steps=self.steps, sampler=self.model.default_sampler,
                          generator=self.generator,
                          projections=[*task_projections(degraded, item_mask, task_id, cutoff),
                                       kept, *projections],
                          precision=self.precision, compile=self.compile)
        return from_components(result.reshape(batch, channels, length), matrices)
