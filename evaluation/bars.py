"""The quality bars of issue 7, checked on a report's per-condition means.

A bar is either relative (``metric`` of the model <= ``factor`` x the baseline's, or for dB
metrics >= the baseline's + ``offset_db``) or absolute (``metric`` <= ``limit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    task: str
    conditions: tuple[str, ...]
    metric: str
    baseline: str | None = None  # None: absolute bar against ``limit``
    factor: float | None = None  # model <= factor x baseline
    offset_db: float | None = None  # model >= baseline + offset_db
    limit: float | None = None  # model <= limit
    best_of: tuple[str, ...] = ()  # baseline = the lowest of these methods' means (issue 13)

    def describe(self) -> str:
        if self.factor is not None and self.best_of:
            return f"{self.metric} <= {self.factor:g} x min({', '.join(self.best_of)})"
        if self.factor is not None:
            return f"{self.metric} <= {self.factor:g} x {self.baseline}"
        if self.offset_db is not None:
            return f"{self.metric} >= {self.baseline} {self.offset_db:+g} dB"
        return f"{self.metric} <= {self.limit:g}"


BARS: tuple[Bar, ...] = (
    Bar("inpaint", ("gap_100ms", "gap_200ms", "gap_400ms"), "lsd_gap", "ar", factor=0.75),
    Bar("inpaint", ("gap_10ms", "gap_50ms"), "snr_gap", "ar", offset_db=-1.0),
    Bar("bandwidth", ("from_8000Hz", "from_16000Hz"), "lsd", "sinc", factor=0.8),
    Bar("bandwidth", ("from_8000Hz", "from_16000Hz"), "lsd_hf", "sinc", factor=0.7),
    Bar("bandwidth", ("from_8000Hz", "from_16000Hz"), "lsd_lf", limit=0.1),
    Bar("transition", ("bridge_1s",), "lsd_bridge", "crossfade", factor=0.85),
    Bar("transition", ("bridge_1s",), "join_flux", limit=1.0),
)


# Issue 13 (long fills): against the better of the two baselines that reuse the recording's own
# audio; transitions of 1 s on long clips as bridge_1s.
LONG_FILL_CONDITIONS = ("gap_200ms", "gap_400ms", "gap_1000ms", "gap_2000ms")
LONG_FILL_BARS: tuple[Bar, ...] = (
    Bar("inpaint", LONG_FILL_CONDITIONS, "lsd_gap", factor=0.8,
        best_of=("neighbour", "similarity")),
    Bar("inpaint", LONG_FILL_CONDITIONS, "join_flux", limit=1.0),
    Bar("transition", ("bridge_1s_long",), "lsd_bridge", "crossfade", factor=0.85),
    Bar("transition", ("bridge_1s_long",), "join_flux", limit=1.0),
)


def _threshold(bar: Bar, values: dict[str, dict[str, float]]) -> float:
    if bar.best_of:
        return bar.factor * min(values[name][bar.metric] for name in bar.best_of)
    if bar.baseline is None:
        return bar.limit
    reference = values[bar.baseline][bar.metric]
    if bar.factor is not None:
        return bar.factor * reference
    return reference + bar.offset_db


def check_bars(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (bar, condition, model method) present in ``report``: value, threshold, pass."""
    rows = []
    for bar in BARS + LONG_FILL_BARS:
        task = report["tasks"].get(bar.task)
        if task is None:
            continue
        models = [m for m in task["methods"] if m == "model" or m.startswith("model@")]
        for condition in bar.conditions:
            values = task["conditions"].get(condition, {}).get("values")
            if values is None or (bar.baseline and bar.baseline not in values):
                continue
            if any(name not in values for name in bar.best_of):
                continue
            threshold = _threshold(bar, values)
            for model in models:
                value = values[model][bar.metric]
                higher_better = bar.offset_db is not None
                passed = value >= threshold if higher_better else value <= threshold
                rows.append({"task": bar.task, "condition": condition, "method": model,
                             "bar": bar.describe(), "value": value, "threshold": threshold,
                             "passed": bool(passed) and math.isfinite(value)})
    return rows


def bars_markdown(rows: list[dict[str, Any]]) -> list[str]:
    """A markdown table of :func:`check_bars` rows (empty list when there are none)."""
    if not rows:
        return []
    lines = ["## Quality bars (issues 7 and 13)", "",
             "| task | condition | method | bar | value | threshold | passed |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['task']} | {row['condition']} | {row['method']} | {row['bar']} | "
                     f"{row['value']:.3f} | {row['threshold']:.3f} | "
                     f"{'yes' if row['passed'] else 'NO'} |")
    return lines + [""]
