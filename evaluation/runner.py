"""Run every method on every case, score the outputs, and time each (task, method)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from evaluation import metrics
from evaluation.cases import Case
from evaluation.measure import Measure
from evaluation.methods import Method
from evaluation.repair_cases import REPAIR_METRICS, score_repair
from restore.config import MODEL_RATE

# Metrics per task, headline first. Lower is better except for the dB metrics.
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "inpaint": ("lsd_gap", "snr_gap", "lsd", "si_sdr", "log_mel", "join_flux"),
    "bandwidth": ("lsd", "lsd_hf", "lsd_lf", "snr", "si_sdr", "log_mel", "loudness_diff"),
    "transition": ("lsd_bridge", "snr_bridge", "log_mel", "join_flux"),
    **REPAIR_METRICS,
}
DB_METRICS = frozenset({"snr", "snr_gap", "snr_bridge", "si_sdr",  # higher is better
                        "sdr", "sdr_gain", "snr_gain"})
# no ratio: closer to 0 is better (loudness), or a dB level where lower is better
SIGNED_METRICS = frozenset({"loudness_diff", "far_change_db", "far_damaged"})


def score(case: Case, output: np.ndarray) -> dict[str, float]:
    """The task's metrics (see ``TASK_METRICS``) of ``output [channels, frames]`` at 48 kHz."""
    reference = case.reference
    if output.shape != reference.shape:
        raise ValueError(f"{case.name}: output {output.shape} != reference {reference.shape}")
    if case.task in REPAIR_METRICS:
        return score_repair(case, output)
    values = {"log_mel": metrics.log_mel_distance(output, reference, MODEL_RATE)}
    if case.task == "bandwidth":
        values.update(
            lsd=metrics.lsd(output, reference),
            lsd_hf=metrics.lsd_hf(output, reference, MODEL_RATE, case.cutoff_hz),
            lsd_lf=metrics.lsd_lf(output, reference, MODEL_RATE, case.cutoff_hz),
            snr=metrics.snr(output, reference),
            si_sdr=metrics.si_sdr(output, reference),
            loudness_diff=metrics.loudness_difference(output, reference, MODEL_RATE),
        )
        return values
    region = [case.region]
    local = metrics.lsd_in_regions(output, reference, region)
    join_flux = metrics.flux_discontinuity(output, list(case.region), reference=reference)
    local_snr = metrics.snr(output, reference, region)
    if case.task == "inpaint":
        values.update(lsd_gap=local, snr_gap=local_snr, lsd=metrics.lsd(output, reference),
                      si_sdr=metrics.si_sdr(output, reference), join_flux=join_flux)
    else:
        values.update(lsd_bridge=local, snr_bridge=local_snr, join_flux=join_flux)
    return values


@dataclass
class Speed:
    """Throughput and memory of one method over all cases of one task."""

    audio_seconds: float
    wall_seconds: float
    peak_rss_mb: float
    peak_gpu_mb: float

    @property
    def x_realtime(self) -> float:
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else math.inf


@dataclass
class Results:
    """Scores per (case, method), example outputs (first clip of each condition), speeds."""

    cases: list[Case]
    scores: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    examples: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    speed: dict[tuple[str, str], Speed] = field(default_factory=dict)
    methods: dict[str, list[str]] = field(default_factory=dict)

    def mean(self, task: str, condition: str, method: str, metric: str) -> float:
        """Mean of ``metric`` over the clips of one condition (non-finite values propagate)."""
        values = [
            self.scores[(case.name, method)][metric]
            for case in self.cases
            if case.task == task and case.condition == condition
        ]
        return float(np.mean(values)) if values else math.nan


def run_methods(
    cases: list[Case],
    methods: dict[str, dict[str, Method]],
    callback: Callable[[dict], None] | None = None,
) -> Results:
    """Run ``methods[task][name]`` on every case of ``task``; score every output.

    Each (task, method) runs over all its cases inside one :class:`Measure`, so its speed
    counts only the method (scoring happens after). ``callback({"task", "method", "done",
    "total"})`` is called after each case.
    """
    results = Results(cases)
    for task, named in methods.items():
        task_cases = [case for case in cases if case.task == task]
        if not task_cases:
            continue
        results.methods[task] = list(named)
        for name, method in named.items():
            outputs = []
            with Measure() as measured:
                for done, case in enumerate(task_cases, 1):
                    outputs.append(np.asarray(method(case), dtype=np.float32))
                    if callback is not None:
                        callback({"task": task, "method": name, "done": done,
                                  "total": len(task_cases)})
            seconds = sum(case.seconds for case in task_cases)
            results.speed[(task, name)] = Speed(seconds, measured.wall_seconds,
                                                measured.peak_rss_mb, measured.peak_gpu_mb)
            for case, output in zip(task_cases, outputs, strict=True):
                results.scores[(case.name, name)] = score(case, output)
                if case.clip == 0:
                    results.examples[(case.name, name)] = output
    return results
