"""Dropouts (short to long gaps) and transitions (a long cut-out middle between known sides).

Audio is ``[batch, channels, time]`` float; masks are ``[batch, 1, time]`` float with
1 = reliable sample, 0 = sample to regenerate. Whatever a gap is filled with (zeros, the last
sample held, low-level noise), its mask is 0: the model is told by the mask what to regenerate.
"""

from __future__ import annotations

import torch

from data_prep.degradations import _random

GAP_FILLS = ("zero", "hold", "noise")


def intervals_mask(starts: torch.Tensor, lengths: torch.Tensor, length: int) -> torch.Tensor:
    """Reliability mask ``[batch, 1, length]`` (0 inside any interval) from ``[batch, k]``
    interval starts and lengths in samples (a length of 0 marks an unused slot)."""
    position = torch.arange(length, device=starts.device).view(1, 1, length)
    inside = (position >= starts.unsqueeze(-1)) & (position < (starts + lengths).unsqueeze(-1))
    return (~inside.any(dim=1, keepdim=True)).float()


def fill_gaps(
    audio: torch.Tensor,
    mask: torch.Tensor,
    fill: torch.Tensor,
    noise_rms: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """Fill samples where ``mask == 0``; ``fill [batch]`` indexes :data:`GAP_FILLS`.

    "zero": digital silence; "hold": the last reliable sample before the gap repeated
    (0 when the gap opens the clip); "noise": Gaussian noise of RMS ``noise_rms [batch]``.
    """
    batch, channels, length = audio.shape
    reliable = mask.bool().expand(batch, channels, length)
    position = torch.arange(length, device=audio.device).expand(batch, channels, length)
    last = torch.where(reliable, position, torch.full_like(position, -1)).cummax(dim=-1).values
    held = audio.gather(-1, last.clamp(min=0)) * (last >= 0)
    noise = torch.zeros_like(audio)
    if bool((fill == 2).any()):  # draw noise only when some item needs it
        noise = _random.normal(generator, (batch, channels, length), audio.device)
        noise = noise * noise_rms.view(batch, 1, 1)
    kind = fill.view(batch, 1, 1)
    filler = torch.where(kind == 1, held, torch.where(kind == 2, noise, torch.zeros_like(audio)))
    return torch.where(reliable, audio, filler.to(audio.dtype))


def gaps(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    min_seconds: float = 0.001,
    max_seconds: float = 1.0,
    max_count: int = 4,
    max_fraction: float = 0.5,
    fills: tuple[str, ...] = GAP_FILLS,
    noise_dbfs: tuple[float, float] = (-70.0, -45.0),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop 1 to ``max_count`` gaps per item into ``audio [batch, channels, time]``.

    Gap lengths are log-uniform in ``[min_seconds, max_seconds]`` (each at most
    ``max_fraction`` of the clip divided by the item's gap count), positions uniform; gaps may
    overlap. The fill of each item is drawn from ``fills``; noise fills have an RMS level
    uniform in ``noise_dbfs``. Returns ``(degraded, mask [batch, 1, time])``. Sampled values
    (samples, per item) go into ``record`` when one is given.
    """
    batch, _, length = audio.shape
    device = audio.device
    count = _random.integers(generator, (batch, 1), 1, max_count + 1, device)
    longest = torch.clamp(max_fraction * length / count, min=1.0)
    seconds = _random.log_uniform(generator, (batch, max_count), min_seconds, max_seconds, device)
    lengths = torch.minimum((seconds * sample_rate).round(), longest).clamp(min=1).long()
    lengths = torch.where(torch.arange(max_count, device=device) < count, lengths, 0)
    starts = (_random.uniform(generator, (batch, max_count), 0.0, 1.0, device)
              * (length - lengths + 1)).floor().long()
    fill_index = torch.tensor([GAP_FILLS.index(name) for name in fills], device=device)
    fill = fill_index[_random.integers(generator, (batch,), 0, len(fills), device)]
    noise_rms = 10.0 ** (_random.uniform(generator, (batch,), *noise_dbfs, device) / 20.0)
    mask = intervals_mask(starts, lengths, length)
    degraded = fill_gaps(audio, mask, fill, noise_rms, generator)
    if record is not None:
        record.update(gap_starts=starts, gap_lengths=lengths, gap_fill=fill, noise_rms=noise_rms)
    return degraded, mask


def transition(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    min_seconds: float = 0.3,
    max_seconds: float = 2.0,
    min_context_seconds: float = 0.1,
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut one long middle out of ``audio [batch, channels, time]``, keeping both sides.

    The middle lasts uniform ``[min_seconds, max_seconds]`` (shortened so that each side keeps
    ``min_context_seconds``) and its start is uniform over the allowed range. The cut-out is
    zero and its mask 0. Returns ``(degraded, mask [batch, 1, time])``.
    """
    batch, _, length = audio.shape
    device = audio.device
    context = int(round(min_context_seconds * sample_rate))
    shortest = int(round(min_seconds * sample_rate))
    longest = min(int(round(max_seconds * sample_rate)), length - 2 * context)
    if longest < shortest:
        raise ValueError(
            f"transition needs clips of at least {(shortest + 2 * context) / sample_rate:.3f} s, "
            f"got {length / sample_rate:.3f} s"
        )
    lengths = _random.uniform(generator, (batch, 1), shortest, longest + 1, device).floor().long()
    room = length - 2 * context - lengths + 1
    starts = context + (_random.uniform(generator, (batch, 1), 0.0, 1.0, device) * room).long()
    mask = intervals_mask(starts, lengths, length)
    if record is not None:
        record.update(gap_starts=starts, gap_lengths=lengths)
    return audio * mask, mask


def join_for_transition(
    first: torch.Tensor, second: torch.Tensor, gap_samples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Transition between different sources: ``first [B, C, Ta]``, ``gap_samples`` of zeros,
    ``second [B, C, Tb]``. Returns ``(degraded [B, C, Ta + gap + Tb], mask [B, 1, ...])``
    with mask 0 on the bridge. There is no clean reference for such a bridge: this builds the
    model's input for evaluation and use, not a training target."""
    if first.shape[:2] != second.shape[:2]:
        raise ValueError(f"batch/channels differ: {tuple(first.shape)} vs {tuple(second.shape)}")
    batch, channels, _ = first.shape
    bridge = first.new_zeros(batch, channels, gap_samples)
    degraded = torch.cat([first, bridge, second], dim=-1)
    mask = torch.ones_like(degraded[:, :1])
    mask[..., first.shape[-1]:first.shape[-1] + gap_samples] = 0
    return degraded, mask
