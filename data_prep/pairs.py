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

BANDWIDTH_KINDS = ("filter", "resample")


@dataclasses.dataclass
class PairBatch:
    """A batch of training pairs (all tensors on the clean batch's device).

    ``degraded [B, 1, T]``: model input (zero where ``mask`` is 0 for inpaint / transition);
    ``mask [B, 1, T]``: 1 = reliable sample; ``task_id [B]`` long per ``restore.config.TASK_ID``;
    ``cutoff_hz [B]``: upper edge of the known band (Nyquist when the whole band is known);
    ``params``: per task, the indices of its items and the parameters drawn for them.
    """

    degraded: torch.Tensor
    mask: torch.Tensor
    task_id: torch.Tensor
    cutoff_hz: torch.Tensor
    params: dict[str, dict[str, torch.Tensor]] = dataclasses.field(default_factory=dict)


def make_batch(
    clean: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    tasks: Sequence[str] = TASKS,
    task_weights: Sequence[float] | None = None,
) -> PairBatch:
    """Degrade ``clean [B, 1, T]`` into a :class:`PairBatch`, one task per item.

    Tasks are drawn with ``task_weights`` (uniform by default). Inpaint: 1 to 4 gaps of
    1 ms to 1 s, zero-filled. Bandwidth: half the items through a random IIR low-pass
    (cutoff 2 to 20 kHz), half resampled down to 8 to 32 kHz and back; the mask is all ones.
    Transition: one middle of 0.3 to 2 s cut out (ranges shrink with short clips so that
    each side keeps context). Same generator state and input -> identical batch.
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
    mask = torch.ones_like(clean[:, :1])
    cutoff = torch.full((batch,), sample_rate / 2.0, device=device)
    params: dict[str, dict[str, torch.Tensor]] = {}
    for task in tasks:
        index = (task_id == TASK_ID[task]).nonzero().flatten()
        if index.numel() == 0:
            continue
        record: dict[str, torch.Tensor] = {"index": index}
        part, part_mask = _TASK_FUNCTIONS[task](clean[index], generator, sample_rate, record)
        degraded[index] = part
        mask[index] = part_mask
        if "cutoff_hz" in record:
            cutoff[index] = record["cutoff_hz"].float()
        params[task] = record
    return PairBatch(degraded=degraded, mask=mask, task_id=task_id, cutoff_hz=cutoff, params=params)


def _inpaint(clean, generator, sample_rate, record):
    return degradations.gaps(clean, generator, sample_rate=sample_rate, fills=("zero",),
                             record=record)


def _bandwidth(clean, generator, sample_rate, record):
    batch = clean.shape[0]
    kind = _random.integers(generator, (batch,), 0, len(BANDWIDTH_KINDS), clean.device)
    degraded = torch.empty_like(clean)
    cutoff = torch.empty(batch, device=clean.device)
    functions = (degradations.lowpass_filters, degradations.resample_down_up)
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


_TASK_FUNCTIONS = {"inpaint": _inpaint, "bandwidth": _bandwidth, "transition": _transition}
