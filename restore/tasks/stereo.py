"""Channel components that keep the stereo image: mid/side for two channels, Helmert in general.

Channels are never generated independently. They are turned into orthonormal components whose
first one is the (scaled) mono sum, ``sum(channels) / sqrt(n)``: for stereo that is mid/side,
``M = (L + R) / sqrt(2)``, ``S = (L - R) / sqrt(2)``. The model fills each component with its own
known data as conditioning; the generated part of the mono sum is exactly ``sqrt(n)`` times the
generated mid, so it cannot cancel when the channels are summed to mono.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg
import torch

SILENT_RMS = 1e-7  # a component whose known part is quieter than this is kept, not generated


@functools.cache
def component_matrix(channels: int) -> np.ndarray:
    """Orthonormal ``[channels, channels]`` matrix, first row ``1 / sqrt(channels)`` (Helmert)."""
    return scipy.linalg.helmert(channels, full=True)


def to_components(audio: torch.Tensor) -> torch.Tensor:
    """``[batch, channels, time]`` -> components ``[batch, channels, time]`` (mid first)."""
    matrix = torch.as_tensor(component_matrix(audio.shape[1]), dtype=audio.dtype,
                             device=audio.device)
    return torch.einsum("kc,bct->bkt", matrix, audio).contiguous()


def from_components(components: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_components` (the matrix is orthonormal: its transpose)."""
    matrix = torch.as_tensor(component_matrix(components.shape[1]), dtype=components.dtype,
                             device=components.device)
    return torch.einsum("kc,bkt->bct", matrix, components).contiguous()


def silent_items(degraded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[items]`` bool: items whose known samples ``[items, 1, time]`` are digital silence.

    Such a component (e.g. the side of a dual-mono recording) is kept as silence instead of
    being filled with noise at the model's level floor.
    """
    known = (mask > 0.5).to(degraded.dtype)
    energy = (degraded**2 * known).sum(dim=(1, 2)) / known.sum(dim=(1, 2)).clamp_min(1.0)
    return energy.sqrt() < SILENT_RMS
