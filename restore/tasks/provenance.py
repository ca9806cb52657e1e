"""Provenance of generated audio: which regions were synthesised rather than recovered.

A region is a plain dict ``{"start": s, "end": s, "task": name, ...}`` (seconds of the output's
timeline), ready for the sidecar's ``generated_regions`` and for an Audacity label track.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Region = dict[str, Any]


def region(start: float, end: float, task: str, **details: Any) -> Region:
    """One generated region; ``details`` e.g. ``band_hz=[lo, hi]`` or ``method="classical"``."""
    return {"start": round(float(start), 6), "end": round(float(end), 6), "task": task,
            **details}


def frames_region(first: int, last: int, sample_rate: int, task: str, **details: Any) -> Region:
    """A region from output frames ``[first, last)``."""
    return region(first / sample_rate, last / sample_rate, task, **details)


def label_rows(regions: Iterable[Region]) -> list[tuple[float, float, str]]:
    """``(start, end, label)`` rows for an Audacity label track ("generated: <task> ...")."""
    rows = []
    for item in regions:
        label = f"generated: {item['task']}"
        if "band_hz" in item:
            low, high = item["band_hz"]
            label += f" {low:.0f}-{high:.0f} Hz"
        if item.get("variant"):
            label += f" (variant {item['variant']})"
        rows.append((item["start"], item["end"], label))
    return rows
