"""The conditional 1D U-Net on raw 48 kHz waveforms.

``UNet1d(config)(x, c_noise, degraded, mask, task_id, cutoff_hz) -> Tensor [batch, 1, time]``.
It is a plain network: the EDM preconditioning (what ``x`` and ``c_noise`` are, how the output
is mixed with the input) lives in :mod:`restore.diffusion.denoiser`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from restore.config import MODEL_RATE, ModelConfig
from restore.model.layers import (
    AttentionBlock,
    Downsample,
    FourierFeatures,
    HarmonicFeatures,
    ResidualBlock,
    Upsample,
)

INPUT_CHANNELS = 3  # [scaled noisy signal, degraded signal, mask]


class ConditionEmbedding(nn.Module):
    """Noise level + task + cutoff -> one vector ``[batch, embed_dim]`` that drives every FiLM."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        self.noise_features = FourierFeatures(config.noise_fourier)
        self.cutoff_features = HarmonicFeatures(config.cutoff_fourier)
        self.noise_proj = nn.Linear(2 * config.noise_fourier, dim)
        self.cutoff_proj = nn.Linear(2 * config.cutoff_fourier, dim)
        self.task = nn.Embedding(config.num_tasks, dim)
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(
        self, c_noise: torch.Tensor, task_id: torch.Tensor, cutoff_hz: torch.Tensor
    ) -> torch.Tensor:
        cutoff = (cutoff_hz.float() / (MODEL_RATE / 2)).clamp(0.0, 1.0)
        summed = (
            self.noise_proj(self.noise_features(c_noise))
            + self.cutoff_proj(self.cutoff_features(cutoff))
            + self.task(task_id.long())
        )
        return self.mlp(summed)


def _level_blocks(config: ModelConfig, level: int, in_width: int, width: int) -> nn.ModuleList:
    blocks = nn.ModuleList()
    for index in range(config.blocks[level]):
        dilation = config.dilations[index % len(config.dilations)]
        blocks.append(
            ResidualBlock(in_width if index == 0 else width, width, config.embed_dim,
                          config.kernel_size, dilation, config.groups)
        )
    return blocks


class UNet1d(nn.Module):
    """Encoder/decoder of FiLM residual blocks with skip connections and an attention bottleneck.

    Level ``i`` runs at ``48 kHz / prod(strides[:i])`` with ``channels[i]`` channels. Any input
    length works: inputs are zero-padded to ``config.length_multiple`` and the output cropped.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.channels
        self.embedding = ConditionEmbedding(config)
        self.stem = nn.Conv1d(INPUT_CHANNELS, widths[0], 7, padding=3)
        self.encoder = nn.ModuleList(
            _level_blocks(config, level, widths[level], widths[level])
            for level in range(len(widths))
        )
        self.down = nn.ModuleList(
            Downsample(widths[i], widths[i + 1], config.strides[i]) for i in range(len(widths) - 1)
        )
        self.attention = nn.ModuleList(
            AttentionBlock(widths[-1], config.attention_heads, config.groups)
            for _ in range(config.bottleneck_attention)
        )
        self.up = nn.ModuleList(
            Upsample(widths[i + 1], widths[i], config.strides[i]) for i in range(len(widths) - 1)
        )
        # decoder level i < deepest takes [upsampled, encoder skip]: 2 * widths[i] channels;
        # the deepest level has no skip (nothing was down-sampled there yet)
        deepest = len(widths) - 1
        self.decoder = nn.ModuleList(
            _level_blocks(config, level, widths[level] * (1 if level == deepest else 2),
                          widths[level])
            for level in range(len(widths))
        )
        self.head = nn.Sequential(nn.GroupNorm(config.groups, widths[0]), nn.SiLU(),
                                  nn.Conv1d(widths[0], 1, 7, padding=3))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(
        self,
        x: torch.Tensor,
        c_noise: torch.Tensor,
        degraded: torch.Tensor,
        mask: torch.Tensor,
        task_id: torch.Tensor,
        cutoff_hz: torch.Tensor,
    ) -> torch.Tensor:
        """``x, degraded, mask [batch, 1, time]``; ``c_noise, cutoff_hz [batch]`` float;
        ``task_id [batch]`` long -> ``[batch, 1, time]``."""
        length = x.shape[-1]
        padding = -length % self.config.length_multiple
        hidden = F.pad(torch.cat([x, degraded, mask], dim=1), (0, padding))
        embedding = self.embedding(c_noise, task_id, cutoff_hz)
        # The stem reads the raw waveforms in float32 even under a bf16 autocast: bf16 keeps 8
        # bits of mantissa, and rounding the known signal acts as a broadband noise floor
        # that the model answers with hiss (measured in docs/results.md, "Inference precision").
        # The stem is a small share of the FLOPs (3 -> 16 channels, kernel 7).
        with torch.autocast(hidden.device.type, enabled=False):
            hidden = self.stem(hidden.float())
        skips = []  # encoder outputs of every level but the deepest
        for level, blocks in enumerate(self.encoder):
            for block in blocks:
                hidden = block(hidden, embedding)
            if level < len(self.down):
                skips.append(hidden)
                hidden = self.down[level](hidden)
        for attention in self.attention:
            hidden = attention(hidden)
        for level in reversed(range(len(self.decoder))):
            if level < len(self.up):
                hidden = self.up[level](hidden)
                hidden = torch.cat([hidden, skips[level]], dim=1)
            for block in self.decoder[level]:
                hidden = block(hidden, embedding)
        return self.head(hidden)[..., :length]
