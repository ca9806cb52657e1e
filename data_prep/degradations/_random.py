"""Seeded sampling helpers shared by the degradations.

Every random number is drawn from the caller's ``torch.Generator`` on the generator's own
device and then moved to the audio's device, so one seed gives identical output on a given
device whatever the batch is used for next.
"""

from __future__ import annotations

import math

import torch


def _device(generator: torch.Generator) -> torch.device:
    return generator.device


def uniform(
    generator: torch.Generator, shape: tuple[int, ...], low: float, high: float,
    device: torch.device,
) -> torch.Tensor:
    """Uniform floats in ``[low, high)`` of ``shape`` on ``device``."""
    values = torch.rand(shape, generator=generator, device=_device(generator))
    return (low + (high - low) * values).to(device)


def log_uniform(
    generator: torch.Generator, shape: tuple[int, ...], low: float, high: float,
    device: torch.device,
) -> torch.Tensor:
    """Log-uniform floats in ``[low, high)`` (``low > 0``): every octave equally likely."""
    return torch.exp(uniform(generator, shape, math.log(low), math.log(high), device))


def integers(
    generator: torch.Generator, shape: tuple[int, ...], low: int, high: int,
    device: torch.device,
) -> torch.Tensor:
    """Integers in ``[low, high)`` (long)."""
    values = torch.randint(low, high, shape, generator=generator, device=_device(generator))
    return values.to(device)


def normal(
    generator: torch.Generator, shape: tuple[int, ...], device: torch.device
) -> torch.Tensor:
    """Standard normal floats of ``shape``."""
    return torch.randn(shape, generator=generator, device=_device(generator)).to(device)


def choice(
    generator: torch.Generator, batch: int, weights: list[float] | torch.Tensor,
    device: torch.device,
) -> torch.Tensor:
    """``[batch]`` indices drawn with probabilities proportional to ``weights``."""
    probs = torch.as_tensor(weights, dtype=torch.float64, device=_device(generator))
    picks = torch.multinomial(probs, batch, replacement=True, generator=generator)
    return picks.to(device)
