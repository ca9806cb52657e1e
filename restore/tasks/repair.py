"""Declicking and declipping: find the damaged samples, re-estimate them, keep everything else.

The audio is processed in blocks of ``BLOCK_SECONDS`` (plus ``CONTEXT_SECONDS`` of real audio on
each side, which detection and repair see but which is written by the neighbouring block), so
memory is bounded by a block whatever the file's length. In every block:

1. the damaged samples are found per channel: clicks by the AR-residual detector
   (:mod:`restore.classical.declick`), clipped samples at the channel's clip levels
   (:mod:`restore.classical.clip_detect`, measured on the whole file beforehand);
2. they are re-estimated: ``classical`` by AR interpolation (clicks) or A-SPADE under the
   sign-and-level constraint (clipping), ``diffusion`` by the model around the damaged runs
   (:mod:`restore.tasks.repair_model`);
3. the block is written with only the damaged samples replaced: every other sample is the
   input's, bit for bit.

``method="auto"`` is the classical method unless the model knows the task and was measured
better than it (``MODEL_MEASURED_BETTER``, empty until a model that knows the tasks has been
evaluated).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from restore.checkpoint import LoadedModel
from restore.classical.clip_detect import ChannelClipping, ClipScanner, clipped_mask
from restore.classical.declick import detect_clicks, fill_clicks, runs_of
from restore.classical.declip import consistent, spade_declip
from restore.config import TASK_ID
from restore.errors import ModelError
from restore.tasks.provenance import Region, frames_region
from restore.tasks.repair_model import model_repair
from restore.tasks.sampler import Sampler, SamplingOptions, check_method
from restore.tasks.source import Sink, Source

BLOCK_SECONDS = 10.0  # audio detected and repaired at a time
CONTEXT_SECONDS = 0.1  # real audio on each side of a block that detection and repair see
MODEL_MEASURED_BETTER: frozenset[str] = frozenset()  # tasks where auto picks the model
REGION_JOIN_SECONDS = 0.001  # repaired runs closer than this are listed as one region
MAX_WORKERS = 4  # processes for the classical repair of files of several blocks


@dataclass(frozen=True)
class RepairPlan:
    """What to repair and how: ``task`` declick or declip, ``method`` classical or diffusion.

    ``sensitivity`` divides the click detector's threshold; ``levels`` are the clip levels of
    each channel (declip).
    """

    task: str
    method: str = "classical"
    sensitivity: float = 1.0
    levels: list[ChannelClipping] = field(default_factory=list)


def model_knows(model: LoadedModel, task: str) -> bool:
    """Whether ``model`` (a LoadedModel) was built and trained for ``task``."""
    if model.config.num_tasks <= TASK_ID[task]:
        return False
    tasks = model.card.get("tasks")
    return tasks is None or task in tasks


def check_model_knows(model: LoadedModel, task: str, path: Path | None = None) -> None:
    """ModelError naming the model file when it does not know ``task``."""
    if not model_knows(model, task):
        known = ", ".join(model.card.get("tasks", [])[:model.config.num_tasks]) or "other tasks"
        raise ModelError(path, f"the model does not know task {task} (it was trained on "
                               f"{known}); use --method classical, or a model trained on "
                               f"{task}")


def repair_method(method: str, task: str) -> str:
    """``auto`` -> the model where it measured better (see ``MODEL_MEASURED_BETTER``), else
    classical; ``diffusion`` and ``classical`` as given."""
    check_method(method)
    if method == "auto":
        return "diffusion" if task in MODEL_MEASURED_BETTER else "classical"
    return method


def damaged_mask(window: np.ndarray, sample_rate: int, plan: RepairPlan) -> np.ndarray:
    """``bool [channels, n]``: the damaged samples of ``window [channels, n]``."""
    if plan.task == "declick":
        return detect_clicks(window, sample_rate, plan.sensitivity)
    return clipped_mask(window, plan.levels)


def repair_window(window: np.ndarray, mask: np.ndarray, sample_rate: int, plan: RepairPlan,
                  sampler: Sampler | None = None, batch_size: int = 4) -> np.ndarray:
    """Re-estimate ``window [channels, n]`` under ``mask``; float64, unmasked samples kept."""
    if not mask.any():
        return window.astype(np.float64)
    if plan.method == "diffusion":
        repaired = model_repair(window, mask, sample_rate, plan.task, sampler, batch_size)
    elif plan.task == "declick":
        repaired = fill_clicks(window, mask, sample_rate)
    else:
        repaired = spade_declip(window, mask, sample_rate)
    repaired = repaired.astype(np.float64)
    if plan.task == "declip":
        repaired = consistent(repaired, window.astype(np.float64), mask)
    return np.where(mask, repaired, window)


def repair_workers(blocks: int, plan: RepairPlan) -> int:
    """Processes for the classical repair: one per core (at most ``MAX_WORKERS``) once a file
    has three blocks or more; the model path and short files stay in this process."""
    if plan.method != "classical" or blocks < 3:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, cores or 1))


def repair_stream(source: Source, plan: RepairPlan, *, sampler: Sampler | None = None,
                  batch_size: int = 4, callback: Callable[[dict], None] | None = None,
                  detect_only: bool = False,
                  workers: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(block [channels, n], repaired [n] bool)`` for consecutive blocks of ``source``.

    Blocks are read in the source's exact dtype (float64 keeps 32-bit files exact).
    ``repaired`` marks the frames where any channel's sample was changed. Unmasked samples of
    ``block`` are the source's, unchanged. ``detect_only`` yields the input blocks unchanged
    with what would be repaired. Blocks are independent, so the classical repair runs them in
    ``workers`` processes (default :func:`repair_workers`) with the same result as one.
    """
    frames, sample_rate = source.frames, source.sample_rate
    block_frames = max(1024, int(BLOCK_SECONDS * sample_rate))
    context = int(CONTEXT_SECONDS * sample_rate)
    total = max(1, -(-frames // block_frames))

    def windows() -> Iterator[tuple[slice, np.ndarray]]:
        for first in range(0, frames, block_frames):
            last = min(first + block_frames, frames)
            low, high = max(0, first - context), min(frames, last + context)
            yield slice(first - low, last - low), source.read(low, high - low, source.exact_dtype)

    if detect_only:
        for core, window in windows():
            yield window[:, core], damaged_mask(window, sample_rate, plan)[:, core].any(axis=0)
        return
    workers = repair_workers(total, plan) if workers is None else workers
    if workers > 1 and plan.method == "classical":
        results = _in_processes(windows(), sample_rate, plan, workers)
    else:
        results = ((core, window, *_repair_block(window, sample_rate, plan, sampler, batch_size))
                   for core, window in windows())
    for index, (core, window, mask, repaired) in enumerate(results):
        block = np.where(mask[:, core], repaired[:, core], window[:, core]).astype(window.dtype)
        # a detected run whose samples the repair kept (a faint click, an attack) is no region
        yield block, (block != window[:, core]).any(axis=0)
        if callback is not None:
            callback({"windows_done": index + 1, "windows": total})


def _repair_block(window: np.ndarray, sample_rate: int, plan: RepairPlan,
                  sampler: Sampler | None = None,
                  batch_size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    mask = damaged_mask(window, sample_rate, plan)
    return mask, repair_window(window, mask, sample_rate, plan, sampler, batch_size)


def _in_processes(windows: Iterable[tuple[slice, np.ndarray]], sample_rate: int,
                  plan: RepairPlan, workers: int) -> Iterator[tuple]:
    """``_repair_block`` of every window in ``workers`` spawned processes, in order, with at
    most ``2 * workers`` blocks in flight (memory stays bounded by a few blocks)."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque = deque()
    try:
        for core, window in windows:
            pending.append((core, window, pool.submit(_repair_block, window, sample_rate, plan)))
            if len(pending) > 2 * workers:
                core, window, future = pending.popleft()
                yield (core, window, *future.result())
        while pending:
            core, window, future = pending.popleft()
            yield (core, window, *future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class RegionCollector:
    """Turns the per-block ``repaired`` flags into regions: runs closer than
    ``REGION_JOIN_SECONDS`` (the pieces of one click, across blocks too) are one region."""

    def __init__(self, sample_rate: int, task: str, method: str) -> None:
        self.sample_rate, self.task, self.method = sample_rate, task, method
        self.runs: list[list[int]] = []
        self.position = 0

    def add(self, repaired: np.ndarray) -> None:
        join = int(REGION_JOIN_SECONDS * self.sample_rate)
        for start, end in runs_of(repaired).tolist():
            start, end = start + self.position, end + self.position
            if self.runs and start - self.runs[-1][1] <= join:
                self.runs[-1][1] = end
            else:
                self.runs.append([start, end])
        self.position += repaired.shape[0]

    def regions(self) -> list[Region]:
        return [frames_region(start, end, self.sample_rate, self.task, method=self.method)
                for start, end in self.runs]


def scan_clipping(source: Source) -> list[ChannelClipping]:
    """Each channel's clip levels, measured block by block over the whole source."""
    scanner = ClipScanner(source.channels)
    for block in source.blocks(exact=True):
        scanner.update(block)
    return scanner.result()


def repair(source: Source, sink: Sink, plan: RepairPlan, *, options: SamplingOptions,
           callback: Callable[[dict], None] | None = None,
           workers: int | None = 1) -> list[Region]:
    """Repair ``source`` into ``sink`` with ``plan``; samples that were not damaged are copied
    exactly. Returns the repaired regions. ``workers``: see :func:`repair_stream` (None: one
    process per core; the command line's choice. The Python API stays in its process: spawned
    workers re-import the caller's main module, which a script without a main guard forbids)."""
    sampler = None
    if plan.method == "diffusion":
        sampler = Sampler.create(options)
        named = options.model if isinstance(options.model, (str, Path)) else None
        check_model_knows(sampler.model, plan.task, named)
    collector = RegionCollector(source.sample_rate, plan.task, plan.method)
    with sink.open(source.sample_rate, source.channels, like=source, frames=source.frames) as out:
        for block, repaired in repair_stream(source, plan, sampler=sampler,
                                             batch_size=options.batch_size_for(plan.method),
                                             callback=callback, workers=workers):
            collector.add(repaired)
            out.write(block)
    return collector.regions()


def damage_report(source: Source, sensitivity: float = 1.0) -> dict:
    """What ``restore info`` reports about clipping and clicks (two streamed passes).

    ``clip_levels_dbfs``: per channel ``[positive, negative]`` (None: not clipped);
    ``clipped_at_level_share``: share of all samples sitting at their channel's clip levels;
    ``clicks``: click runs the declick detector finds (any channel, joined across channels).
    """
    levels = scan_clipping(source)
    clipped = 0
    clicks = RegionCollector(source.sample_rate, "declick", "classical")
    for block, repaired in repair_stream(source, RepairPlan("declick", sensitivity=sensitivity),
                                         detect_only=True):
        clicks.add(repaired)
        if any(level.clipped for level in levels):
            clipped += int(damaged_mask(block, source.sample_rate,
                                        RepairPlan("declip", levels=levels)).sum())
    return {"clip_levels_dbfs": [list(level.dbfs()) for level in levels],
            "clipped_at_level_share": clipped / max(1, source.frames * source.channels),
            "clicks": len(clicks.runs)}
