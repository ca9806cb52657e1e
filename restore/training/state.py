"""Training state: EMA of weights, the atomic state file, per-step random generators."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from restore.io.atomic import write_with

STATE_FILE = "train_state.pt"  # optimizer, scheduler, network, EMA, step, RNG: exact resume
MODEL_FILE = "model.safetensors"  # EMA weights, fp16, loadable by restore.checkpoint
STATE_VERSION = 1


class EMA:
    """Exponential moving average of a network's weights (a frozen copy, updated in place)."""

    def __init__(self, network: nn.Module, decay: float) -> None:
        self.decay = decay
        self.network = copy.deepcopy(network).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, network: nn.Module, step: int) -> None:
        """Blend in the weights after optimiser step ``step`` (0-based).

        Warm-up: the decay is at most (1 + step) / (10 + step), so early averages are not
        dominated by the random initial weights.
        """
        decay = min(self.decay, (1 + step) / (10 + step))
        ema_params = list(self.network.parameters())
        params = [p.detach() for p in network.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(self.network.buffers(), network.buffers(), strict=True):
            ema_buffer.copy_(buffer)


def step_generator(seed: int, rank: int, step: int, device: torch.device) -> torch.Generator:
    """The generator for one optimiser step: pairs, sigmas and noise are a function of
    (seed, rank, step) alone, so a resumed run draws exactly what an uninterrupted one would."""
    return torch.Generator(device).manual_seed(((seed * 1_000_003 + rank) * 10_000_019 + step)
                                               % (2**63 - 1))


def save_state(
    path: Path,
    *,
    network: nn.Module,
    ema: EMA,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    run_config: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    """Write everything needed for an exact resume, atomically (temp file + rename)."""
    state = {
        "version": STATE_VERSION,
        "step": step,
        "run_config": run_config,
        "network": network.state_dict(),
        "ema": ema.network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "extra": extra,
    }
    write_with(path, lambda temp: torch.save(state, temp))


def load_state(path: Path, device: torch.device) -> dict[str, Any]:
    """Read a state file written by :func:`save_state` (tensors only, no pickled classes)."""
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"training state version {state.get('version')} is not {STATE_VERSION}")
    return state


def restore_state(state: dict[str, Any], *, network, ema, optimizer, scheduler) -> int:
    """Put a loaded state back into the live objects; returns the step to continue from."""
    network.load_state_dict(state["network"])
    ema.network.load_state_dict(state["ema"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"].cpu())
    if state["cuda_rng"] and torch.cuda.is_available():
        # a state saved by a process that saw more GPUs than this one: the visible ones only
        # (the training draws themselves come from step_generator, not from these states)
        visible = state["cuda_rng"][:torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([s.cpu() for s in visible])
    return int(state["step"])


RESUME_FILE = "resume.safetensors"  # compact state (< 16 MiB) that can travel between machines
RESUME_FORMAT = "restore-train-resume"


def save_compact(path: Path, network: nn.Module, *, step: int, run_config: dict[str, Any],
                 extra: dict[str, Any]) -> None:
    """The network's weights in fp16 plus step and config: enough to continue training on
    another machine together with the EMA in ``model.safetensors``. Optimizer moments are not
    kept (they would triple the size), so such a resume is close to, not exactly, the
    uninterrupted run."""
    tensors = {name: tensor.detach().to("cpu", torch.float16).contiguous()
               if tensor.is_floating_point() else tensor.detach().cpu().contiguous()
               for name, tensor in network.state_dict().items()}
    metadata = {"format": RESUME_FORMAT, "version": str(STATE_VERSION), "step": str(step),
                "run_config": json.dumps(run_config), "extra": json.dumps(extra)}
    write_with(path, lambda temp: save_file(tensors, str(temp), metadata=metadata))


def load_compact(path: Path, device: torch.device) -> dict[str, Any]:
    """Read :func:`save_compact`'s file: ``{"network", "step", "run_config", "extra"}``."""
    with safe_open(str(path), framework="pt", device="cpu") as stream:
        metadata = stream.metadata() or {}
        if metadata.get("format") != RESUME_FORMAT or metadata.get("version") != str(
                STATE_VERSION):
            raise ValueError("not a restore compact training state of this version")
        network = {name: stream.get_tensor(name).to(device) for name in stream.keys()}  # noqa: SIM118
    return {"network": network, "step": int(metadata["step"]),
            "run_config": json.loads(metadata["run_config"]),
            "extra": json.loads(metadata["extra"])}
