"""Building blocks of the 1D U-Net: embeddings, FiLM residual blocks, attention, resampling.

The network knows nothing of sigmas or tasks by name: it receives an embedding vector
``[batch, embed_dim]`` that every block turns into a per-channel scale and shift (FiLM).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class FourierFeatures(nn.Module):
    """Fixed random Fourier features of a scalar per item: ``[batch] -> [batch, 2 * count]``.

    Frequencies are drawn once from N(0, scale^2) with a fixed seed (EDM's FourierEmbedding)
    and stored as a buffer, so they travel with the weights.
    """

    def __init__(self, count: int, scale: float = 16.0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(20220604)
        self.register_buffer("frequencies", torch.randn(count, generator=generator) * scale)

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        angle = 2 * math.pi * value.float()[:, None] * self.frequencies[None, :]
        return torch.cat([angle.cos(), angle.sin()], dim=1)


class HarmonicFeatures(nn.Module):
    """Deterministic features of a value in [0, 1]: cos/sin(pi k u), k = 1..count."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.register_buffer("harmonics", torch.arange(1, count + 1, dtype=torch.float32))

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        angle = math.pi * value.float()[:, None] * self.harmonics[None, :]
        return torch.cat([angle.cos(), angle.sin()], dim=1)


class ResidualBlock(nn.Module):
    """GroupNorm -> SiLU -> conv -> FiLM(GroupNorm) -> SiLU -> conv, plus a skip path.

    ``x [batch, in_channels, time]``, ``embedding [batch, embed_dim]`` ->
    ``[batch, out_channels, time]``. The last conv starts at zero so a fresh block is the identity.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        embed_dim: int,
        kernel_size: int,
        dilation: int,
        groups: int,
    ) -> None:
        super().__init__()
        padding = dilation * (kernel_size // 2)
        self.norm_in = nn.GroupNorm(groups, in_channels)
        self.conv_in = nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding,
                                 dilation=dilation)
        self.film = nn.Linear(embed_dim, 2 * out_channels)
        self.norm_out = nn.GroupNorm(groups, out_channels, affine=False)
        self.conv_out = nn.Conv1d(out_channels, out_channels, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        same = in_channels == out_channels
        self.skip = nn.Identity() if same else nn.Conv1d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        hidden = self.conv_in(F.silu(self.norm_in(x)))
        scale, shift = self.film(embedding)[:, :, None].chunk(2, dim=1)
        hidden = self.norm_out(hidden) * (1 + scale) + shift
        hidden = self.conv_out(F.silu(hidden))
        return self.skip(x) + hidden


class AttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention over time, residual: ``[batch, channels, time]``."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError("attention channels must be a multiple of heads")
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.out = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, time = x.shape
        qkv = self.qkv(self.norm(x)).reshape(batch, 3, self.heads, channels // self.heads, time)
        query, key, value = qkv.transpose(-1, -2).unbind(dim=1)  # each [batch, heads, time, dim]
        attended = F.scaled_dot_product_attention(query, key, value)
        return x + self.out(attended.transpose(-1, -2).reshape(batch, channels, time))


class Downsample(nn.Module):
    """Strided conv, kernel ``2 * stride``: ``[batch, in, time] -> [batch, out, time / stride]``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 2 * stride, stride=stride,
                              padding=stride // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Transposed conv, kernel ``2 * stride``: ``[batch, in, time] -> [batch, out, stride * time]``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride,
                                       padding=stride // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
