"""Channel components that keep the stereo image: mid/side for two channels, Helmert in general.

Channels are never generated independently. They are turned into orthonormal components whose
first one is the (scaled) mono sum, ``sum(channels) / sqrt(n)``: for stereo that is mid/side,
``M = (L + R) / sqrt(2)``, ``S = (L - R) / sqrt(2)``. The model fills each component with its own
known data as conditioning; the generated part of the mono sum is exactly ``sqrt(n)`` times the
generated mid, so it cannot cancel when the channels are summed to mono.

A silent channel (quieter than -90 dBFS RMS where the audio is known) is left out of the
components: it becomes a component of its own, which is kept as it is (silent), and the other
channels get the Helmert components among themselves. Mixing it in would put generated audio
into it (the side of a left-only recording is the left channel itself).
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg
import torch

SILENT_RMS = 10.0 ** (-90.0 / 20.0)  # a channel or component quieter than this (-90 dBFS RMS)
# where it is known is kept as it is, not generated


@functools.cache
def component_matrix(channels: int) -> np.ndarray:
    """Orthonormal ``[channels, channels]`` matrix, first row ``1 / sqrt(channels)`` (Helmert)."""
    return scipy.linalg.helmert(channels, full=True)


@functools.cache
def _matrix_without(silent: tuple[bool, ...]) -> np.ndarray:
    active = [index for index, quiet in enumerate(silent) if not quiet]
    quiet = [index for index, flag in enumerate(silent) if flag]
    matrix = np.zeros((len(silent), len(silent)))
    if active:
        matrix[np.ix_(range(len(active)), active)] = component_matrix(len(active))
    for row, channel in enumerate(quiet, start=len(active)):
        matrix[row, channel] = 1.0
    return matrix


def channel_matrices(silent: torch.Tensor) -> torch.Tensor:
    """Orthonormal ``[batch, channels, channels]`` matrices for ``silent [batch, channels]``
    (bool): Helmert over the other channels, each silent channel a component of its own."""
    rows = [_matrix_without(tuple(bool(flag) for flag in item)) for item in silent.cpu()]
    return torch.as_tensor(np.stack(rows))


def silent_channels(audio: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``[batch, channels]`` bool: channels of ``audio [batch, channels, time]`` whose known
    samples (``mask [batch, 1, time] > 0.5``; all when None) are quieter than ``SILENT_RMS``."""
    if mask is None:
        mask = torch.ones_like(audio[:, :1])
    known = (mask > 0.5).to(audio.dtype)
    energy = (audio**2 * known).sum(dim=2) / known.sum(dim=2).clamp_min(1.0)
    return energy.sqrt() < SILENT_RMS


def to_components(audio: torch.Tensor, matrices: torch.Tensor | None = None) -> torch.Tensor:
    """``[batch, channels, time]`` -> components ``[batch, channels, time]`` (mid first).

    ``matrices [batch, channels, channels]`` (:func:`channel_matrices`) replace the Helmert
    matrix per item, e.g. to keep silent channels apart.
    """
    matrix = _matrix(matrices, audio)
    return torch.einsum("kc,bct->bkt" if matrix.dim() == 2 else "bkc,bct->bkt",
                        matrix, audio).contiguous()


def from_components(components: torch.Tensor, matrices: torch.Tensor | None = None
                    ) -> torch.Tensor:
    """Inverse of :func:`to_components` (the matrices are orthonormal: their transposes)."""
    matrix = _matrix(matrices, components)
    return torch.einsum("kc,bkt->bct" if matrix.dim() == 2 else "bkc,bkt->bct",
                        matrix, components).contiguous()


def _matrix(matrices: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """The per-item ``matrices`` on ``like``'s device and dtype, or the Helmert matrix."""
    if matrices is None:
        return torch.as_tensor(component_matrix(like.shape[1]), dtype=like.dtype,
                               device=like.device)
    return matrices.to(like.device, like.dtype)


def silent_items(degraded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``[items]`` bool: items whose known samples ``[items, 1, time]`` are digital silence.

    Such a component (e.g. the side of a dual-mono recording, or a silent channel) is kept as
    it is instead of being filled with noise at the model's level floor.
    """
    known = (mask > 0.5).to(degraded.dtype)
    energy = (degraded**2 * known).sum(dim=(1, 2)) / known.sum(dim=(1, 2)).clamp_min(1.0)
    return energy.sqrt() < SILENT_RMS
