"""File-level declicking and declipping: stream a file through :mod:`restore.tasks.repair`.

Declip reads the file twice: once to measure each channel's clip levels (one pass, no memory),
once to repair. Outputs go through :class:`restore.io.AudioWriter` (atomic, format and
Broadcast WAV chunks carried).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from restore import io
from restore.classical.clip_detect import ChannelClipping, ClipScanner
from restore.tasks.files import BLOCK_SECONDS, EXACT_SUBTYPES
from restore.tasks.provenance import Region
from restore.tasks.repair import RegionCollector, RepairPlan, repair_stream


@dataclass
class RepairResult:
    """What one file's repair did: regions (seconds), repaired frames, and how many restored
    samples exceeded full scale in an integer format (limited there)."""

    regions: list[Region]
    repaired_frames: int
    over_full_scale: int


def _dtype(info: io.AudioInfo) -> str:
    return "float64" if info.subtype in EXACT_SUBTYPES else "float32"


def scan_clipping(path: Path) -> list[ChannelClipping]:
    """Each channel's clip levels, measured block by block over the whole file."""
    info = io.read_info(path)
    scanner = ClipScanner(info.channels)
    for block in io.iter_blocks(path, max(4096, int(BLOCK_SECONDS * info.sample_rate)),
                                dtype=_dtype(info)):
        scanner.update(block)
    return scanner.result()


def repair_file(path: Path, output: Path, plan: RepairPlan, *, sampling, batch_size: int,
                writer_options: dict, callback: Callable[[dict], None] | None = None
                ) -> RepairResult:
    """Repair ``path`` into ``output`` with ``plan``; samples that were not damaged are copied
    exactly (float64 for 32-bit integer and double files)."""
    info = io.read_info(path)
    dtype = _dtype(info)

    def read(first: int, count: int) -> np.ndarray:
        audio, _ = io.load(path, first, count, dtype=dtype)
        return audio

    collector = RegionCollector(info.sample_rate, plan.task, plan.method)
    over = 0
    with io.AudioWriter(output, info.sample_rate, info.channels, like=info, frames=info.frames,
                        **writer_options) as writer:
        integer = not ("FLOAT" in writer.subtype or "DOUBLE" in writer.subtype)
        for block, repaired in repair_stream(read, info.frames, info.sample_rate, plan,
                                             sampling=sampling, batch_size=batch_size,
                                             callback=callback):
            collector.add(repaired)
            if integer:
                over += int(np.count_nonzero(np.abs(block) > 1.0))
                block = np.clip(block, -1.0, 1.0)
            writer.write(block)
    return RepairResult(collector.regions(), collector.samples, over)


def damage_report(path: Path, sensitivity: float = 1.0) -> dict:
    """What ``restore info`` reports about clipping and clicks (two streamed passes).

    ``clip_levels_dbfs``: per channel ``[positive, negative]`` (None: not clipped);
    ``clipped_at_level_share``: share of all samples sitting at their channel's clip levels;
    ``clicks``: click runs the declick detector finds (any channel, joined across channels).
    """
    from restore.tasks.repair import damaged_mask

    info = io.read_info(path)
    levels = scan_clipping(path)
    dtype = _dtype(info)

    def read(first: int, count: int) -> np.ndarray:
        return io.load(path, first, count, dtype=dtype)[0]

    clipped = 0
    clicks = RegionCollector(info.sample_rate, "declick", "classical")
    for block, repaired in repair_stream(read, info.frames, info.sample_rate,
                                         RepairPlan("declick", sensitivity=sensitivity),
                                         detect_only=True):
        clicks.add(repaired)
        if any(level.clipped for level in levels):
            clipped += int(damaged_mask(block, info.sample_rate,
                                        RepairPlan("declip", levels=levels)).sum())
    return {"clip_levels_dbfs": [list(level.dbfs()) for level in levels],
            "clipped_at_level_share": clipped / max(1, info.frames * info.channels),
            "clicks": len(clicks.runs)}


def damage_lines(report: dict) -> list[str]:
    """Lines for ``restore info``'s text output."""
    levels = [f"ch{index + 1} " + " / ".join("-" if value is None else f"{value:.2f}"
                                               for value in pair)
              for index, pair in enumerate(report["clip_levels_dbfs"])
              if any(value is not None for value in pair)]
    clip = ("none found" if not levels else
            f"{100 * report['clipped_at_level_share']:.4f} % of samples at "
            + ", ".join(levels) + " dBFS (+ / -)")
    return [f"  clipping   {clip}", f"  clicks     {report['clicks']}"]
