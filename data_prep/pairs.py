"""Training pairs: degrade clean clips on the fly, on whatever device the clips are on.

``make_batch`` draws a task per item (inpaint / bandwidth / transition, see
``restore.config.TASKS``) and applies that task's degradation from :mod:`data_prep.degradations`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from data_prep import degradations
from data_prep.degradations import _random
from restore.config import TASK_ID, TASKS

BANDWIDTH_KINDS = ("filter", "resample", "codec")
# tasks whose input shows a gated silence (docs/data.md, "Gated silence"): in a gap or a bridge the
# silence would be a target the model cannot see coming, and it learns to fill too quietly
SILENCE_TASKS = ("bandwidth", "declip", "declick")
CLICK_MARGINS = (0, 2, 4, 8)  # samples a declick mask is widened by on each side


@dataclasses.dataclass
class PairBatch:
    """A batch of training pairs (all tensors on the clean batch's device).

    ``degraded [B, 1, T]``: model input (zero where ``mask`` is 0 for inpaint / transition);
    ``mask [B, 1, T]``: 1 = reliable sample; ``task_id [B]`` long per ``restore.config.TASK_ID``;
    ``cutoff_hz [B]``: upper edge of the known band (Nyquist when the whole band is known);
    ``params``: per task, the indices of its items and the parameters drawn for them;
    ``clean [B, 1, T]``: the training targets (the input clips, with gated silence where
    ``make_batch`` added it).
    """

    degraded: torch.Tensor
    mask: torch.Tensor
    task_id: torch.Tensor
    cutoff_hz: torch.Tensor
    params: dict[str, dict[str, torch.Tensor]] = dataclasses.field(default_factory=dict)
    clean: torch.Tensor | None = None


def make_batch(
    clean: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    tasks: Sequence[str] = TASKS,
    task_weights: Sequence[float] | None = None,
    silence_share: float = 0.0,
) -> PairBatch:
    """Degrade ``clean [B, 1, T]`` into a :class:`PairBatch`, one task per item.

    Tasks are drawn with ``task_weights`` (uniform by default). Inpaint: 1 to 4 gaps of
    1 ms to 1 s, zero-filled. Bandwidth: a third of the items through a random IIR low-pass
    (cutoff 2 to 20 kHz), a third resampled down to 8 to 32 kHz and back, a third through the
    codec-like band limit with spectral holes (cutoff 4 to 20 kHz); the mask is all ones.
    Declip: hard clipping (see :func:`_declip`). Declick: clicks and crackle, masked and zeroed.
    Transition: one middle of 0.3 to 2 s cut out (ranges shrink with short clips so that
    each side keeps context). ``silence_share`` of the items of :data:`SILENCE_TASKS` get a
    stretch of digital silence first (:func:`gate_silence`; the targets are ``PairBatch.clean``).
    Same generator state and input -> identical batch.
    """
    unknown = [task for task in tasks if task not in TASK_ID]
    if unknown or not tasks:
        raise ValueError(f"unknown tasks {unknown}; known: {list(TASKS)}")
    batch, _, length = clean.shape
    device = clean.device
    weights = list(task_weights) if task_weights is not None else [1.0] * len(tasks)
    picks = _random.choice(generator, batch, weights, device)
    task_id = torch.tensor([TASK_ID[task] for task in tasks], device=device)[picks]
    degraded = clean.clone()
    targets = clean.clone() if silence_share > 0 else clean  # gated below, per task
    mask = torch.ones_like(clean[:, :1])
    cutoff = torch.full((batch,), sample_rate / 2.0, device=device)
    params: dict[str, dict[str, torch.Tensor]] = {}
    for task in tasks:
        index = (task_id == TASK_ID[task]).nonzero().flatten()
        if index.numel() == 0:
            continue
        record: dict[str, torch.Tensor] = {"index": index}
        if silence_share > 0 and task in SILENCE_TASKS:
            targets[index] = gate_silence(clean[index], generator, silence_share, sample_rate)
        part, part_mask = _TASK_FUNCTIONS[task](targets[index], generator, sample_rate, record)
        degraded[index] = part
        mask[index] = part_mask
        if "cutoff_hz" in record:
            cutoff[index] = record["cutoff_hz"].float()
        params[task] = record
    return PairBatch(degraded=degraded, mask=mask, task_id=task_id, cutoff_hz=cutoff, params=params,
                     clean=targets)


def _inpaint(clean, generator, sample_rate, record):
    return degradations.gaps(clean, generator, sample_rate=sample_rate, fills=("zero",),
                             record=record)


def _bandwidth(clean, generator, sample_rate, record):
    batch = clean.shape[0]
    kind = _random.integers(generator, (batch,), 0, len(BANDWIDTH_KINDS), clean.device)
    degraded = torch.empty_like(clean)
    cutoff = torch.empty(batch, device=clean.device)
    functions = (degradations.lowpass_filters, degradations.resample_down_up,
                 degradations.codec_like)
    for number, function in enumerate(functions):
        chosen = (kind == number).nonzero().flatten()
        if chosen.numel() == 0:
            continue
        part_record: dict[str, torch.Tensor] = {}
        degraded[chosen], _ = function(clean[chosen], generator, sample_rate=sample_rate,
                                       record=part_record)
        cutoff[chosen] = part_record["cutoff_hz"].float()
        for key, values in part_record.items():  # NaN where another kind was used
            if key != "cutoff_hz":
                record.setdefault(key, torch.full((batch,), float("nan"), device=clean.device))
                record[key][chosen] = values.float()
    record.update(cutoff_hz=cutoff, band_kind=kind)
    return degraded, torch.ones_like(clean[:, :1])


def _transition(clean, generator, sample_rate, record):
    seconds = clean.shape[-1] / sample_rate
    context = min(0.1, 0.1 * seconds)
    shortest = min(0.3, 0.25 * seconds)
    longest = max(shortest, min(2.0, seconds - 2 * context))
    return degradations.transition(clean, generator, sample_rate=sample_rate,
                                   min_seconds=shortest, max_seconds=longest,
                                   min_context_seconds=context, record=record)


def _declip(clean, generator, sample_rate, record):
    """Hard clipping at 10-90 % of the item's peak (a third of the items asymmetric); the
    degraded input keeps the clipped values, which carry each sample's sign and the level."""
    return degradations.clipping(clean, generator, level_range=(0.1, 0.9), asymmetric_share=0.3,
                                 record=record)


def _declick(clean, generator, sample_rate, record):
    """Sparse clicks or dense crackle (or both); the covered samples, widened by 0-8 samples
    on each side as a detector's margin would, are masked and zeroed like gaps."""
    batch = clean.shape[0]
    device = clean.device
    damaged, mask = degradations.clicks(clean, generator, sample_rate=sample_rate, record=record)
    dense, dense_mask = degradations.crackle(clean, generator, sample_rate=sample_rate)
    kind = _random.integers(generator, (batch,), 0, 3, device).view(batch, 1, 1)  # 0, 1, both
    crackle_part = dense - clean
    damaged = torch.where(kind == 0, damaged, torch.where(kind == 1, dense, damaged + crackle_part))
    mask = torch.where(kind == 0, mask, torch.where(kind == 1, dense_mask, mask * dense_mask))
    margins = torch.tensor(CLICK_MARGINS, device=device)
    margin = margins[_random.integers(generator, (batch,), 0, len(CLICK_MARGINS), device)]
    widened = mask
    for width in CLICK_MARGINS[1:]:  # per-item choice without a host sync
        covered = torch.nn.functional.max_pool1d(1 - mask, 2 * width + 1, stride=1, padding=width)
        widened = torch.where(margin.view(batch, 1, 1) == width, 1 - covered, widened)
    record.update(click_kind=kind.flatten(), margin_samples=margin)
    return damaged * widened, widened


_TASK_FUNCTIONS = {"inpaint": _inpaint, "bandwidth": _bandwidth, "transition": _transition,
                   "declip": _declip, "declick": _declick}


def gate_silence(clean: torch.Tensor, generator: torch.Generator, share: float = 0.1,
                 sample_rate: int = 48_000) -> torch.Tensor:
    """Digital silence in a ``share`` of the items: one stretch of 0.05 to 1 s set to exactly
    zero (a gated pause, a lead-in), so that the model learns that silence stays silent.
    ``clean [B, 1, T]`` -> a new tensor; the other items are unchanged. No host sync."""
    batch, _, length = clean.shape
    device = clean.device
    chosen = _random.uniform(generator, (batch, 1, 1), 0.0, 1.0, device) < share
    seconds = _random.log_uniform(generator, (batch, 1, 1), 0.05, 1.0, device)
    width = (seconds * sample_rate).clamp(max=length // 2)
    start = _random.uniform(generator, (batch, 1, 1), 0.0, 1.0, device) * (length - width)
    time = torch.arange(length, device=device).view(1, 1, -1)
    silent = chosen & (time >= start) & (time < start + width)
    return torch.where(silent, torch.zeros_like(clean), clean)
