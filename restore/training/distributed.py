"""torchrun / DistributedDataParallel plumbing: which process am I, on which device."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from restore.errors import RestoreError


@dataclass(frozen=True)
class Processes:
    """This process's place in the run: ``rank`` of ``world``, training on ``device``."""

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def agree(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any rank (a sync point under DDP)."""
        if self.world == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def start(device_name: str = "auto") -> Processes:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1), pick the device.

    ``device_name``: "auto" (CUDA if present), "cpu", "cuda" or "cuda:N". Under torchrun each
    process takes ``cuda:LOCAL_RANK`` (NCCL); on CPU the gloo backend is used.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device_name)
    except RuntimeError:
        raise RestoreError(None, f"--device {device_name!r}: not a device name") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RestoreError(None, f"--device {device_name}: no CUDA device is available here")
    if world == 1:
        return Processes(0, 1, device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), device)


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
