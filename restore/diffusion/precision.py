"""Inference precision and compilation: which arithmetic the network runs in while sampling.

Only the network's forward pass changes: it runs under ``torch.autocast`` (bf16) and its output
is cast back to float32, so the EDM preconditioning, the sampler's ODE updates and the
known-data projection all stay in float32 (known samples come back exact). Optionally the
network is wrapped in ``torch.compile`` (on CUDA, and on a CPU where a C++ compiler is
installed, which TorchInductor's CPU code needs); compiled networks are cached per denoiser,
because compiling costs tens of seconds and every file or variant makes a fresh sampler.
"""

from __future__ import annotations

import os
import shutil
import weakref

import torch
from torch import nn

from restore.diffusion.denoiser import Denoiser

PRECISIONS = ("auto", "fp32", "bf16")  # auto: bf16 where the hardware has it, else fp32

# denoiser -> its compiled network; weak keys: a model that is dropped takes its entry along
_COMPILED: weakref.WeakKeyDictionary[Denoiser, nn.Module] = weakref.WeakKeyDictionary()


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")


def compile_supported(device: torch.device) -> bool:
    """Whether ``torch.compile`` can run the network on ``device``: CUDA, or a CPU with a C++
    compiler (``$CXX``, ``g++``, ``c++`` or ``clang++`` on the path) for TorchInductor."""
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    return any(name and shutil.which(name) for name in names)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``: ``torch.bfloat16`` or None (fp32)."""
    check_precision(precision)
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


def resolved_name(precision: str, device: torch.device) -> str:
    """What ``precision`` runs as on ``device``: ``"bf16"`` or ``"fp32"`` (for records)."""
    return "fp32" if resolve_precision(precision, device) is None else "bf16"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively: CUDA, or a CPU with AVX512-BF16 / AMX.

    Elsewhere bf16 is emulated and slower than float32, so ``"auto"`` stays in float32.
    """
    if device.type == "cuda":
        return True
    if device.type != "cpu":
        return False
    try:  # oneDNN's own test of the CPU (a private op, hence the guard)
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class AutocastNetwork(nn.Module):
    """``network`` whose forward runs under ``torch.autocast(dtype)``; output float32."""

    def __init__(self, network: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.network = network
        self.device_type = device_type  # "cuda" or "cpu": autocast is per device type
        self.dtype = dtype  # torch.bfloat16

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            out = self.network(*args, **kwargs)
        return out.float()


def compiled_network(denoiser: Denoiser) -> nn.Module:
    """``torch.compile(denoiser.network)``, made once per denoiser.

    Default dynamic-shape handling: the first call compiles for its shapes, a call with another
    batch or length recompiles once with symbolic sizes (the last, smaller batch of a file).
    """
    network = _COMPILED.get(denoiser)
    if network is None:
        network = torch.compile(denoiser.network)
        _COMPILED[denoiser] = network
    return network


def inference_denoiser(denoiser: Denoiser, precision: str = "fp32",
                       compile: bool = False) -> Denoiser:
    """The denoiser to sample with: the same weights, the network in ``precision``.

    ``precision``: ``"fp32"`` (no autocast of its own: a caller's autocast still applies),
    ``"bf16"`` or ``"auto"`` (bf16 where :func:`native_bf16`, else fp32). ``compile`` wraps the
    network in ``torch.compile`` where :func:`compile_supported` (ignored elsewhere). Returns
    ``denoiser`` itself when nothing changes.
    """
    device = next(denoiser.parameters()).device
    dtype = resolve_precision(precision, device)
    use_compile = bool(compile) and compile_supported(device)
    if dtype is None and not use_compile:
        return denoiser
    network = compiled_network(denoiser) if use_compile else denoiser.network
    if dtype is not None:
        network = AutocastNetwork(network, device.type, dtype)
    return Denoiser(network, denoiser.config).eval()
