"""report.json and report.md: per task and condition, every method's mean metrics and the model
against each baseline (ratio for distances, difference for dB metrics)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from evaluation.bars import bars_markdown, check_bars
from evaluation.runner import DB_METRICS, SIGNED_METRICS, TASK_METRICS, Results
from restore.io.atomic import write_text


def is_model(method: str) -> bool:
    return method == "model" or method.startswith("model@")


def compare(metric: str, model_value: float, baseline_value: float) -> dict[str, float] | None:
    """``{"ratio": model / baseline}`` for distances, ``{"difference_db": model - baseline}`` for
    dB metrics; None for signed metrics (loudness difference)."""
    if metric in SIGNED_METRICS:
        return None
    if metric in DB_METRICS:
        return {"difference_db": model_value - baseline_value}
    ratio = model_value / baseline_value if baseline_value else math.nan
    return {"ratio": ratio}


def _condition_summary(results: Results, task: str, condition: str) -> dict[str, Any]:
    methods = results.methods[task]
    values = {
        method: {metric: results.mean(task, condition, method, metric)
                 for metric in TASK_METRICS[task]}
        for method in methods
    }
    versus = {}
    for model in filter(is_model, methods):
        for baseline in [method for method in methods if not is_model(method)]:
            versus[f"{model} vs {baseline}"] = {
                metric: compare(metric, values[model][metric], values[baseline][metric])
                for metric in TASK_METRICS[task]
                if metric not in SIGNED_METRICS
            }
    versus.update(versus_better_reuse(values, methods))
    clips = sum(1 for case in results.cases if case.task == task and case.condition == condition)
    return {"clips": clips, "values": values, "versus": versus}


def summarise(results: Results, meta: dict[str, Any]) -> dict[str, Any]:
    """The report as a plain dict (what report.json holds, before non-finite -> null)."""
    tasks = {}
    for task, methods in results.methods.items():
        conditions = list(dict.fromkeys(c.condition for c in results.cases if c.task == task))
        tasks[task] = {
            "metrics": list(TASK_METRICS[task]),
            "methods": methods,
            "conditions": {name: _condition_summary(results, task, name) for name in conditions},
            "speed": {
                method: {
                    "audio_seconds": speed.audio_seconds,
                    "wall_seconds": speed.wall_seconds,
                    "x_realtime": speed.x_realtime,
                    "peak_rss_mb": speed.peak_rss_mb,
                    "peak_gpu_mb": speed.peak_gpu_mb,
                }
                for (speed_task, method), speed in results.speed.items()
                if speed_task == task
            },
        }
    per_case = [
        {"case": name, "method": method, **scores}
        for (name, method), scores in results.scores.items()
    ]
    report = {"meta": meta, "tasks": tasks, "per_case": per_case}
    report["bars"] = check_bars(report)
    return report


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities by None (strict JSON has no such numbers)."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _metric_table(task: str, summary: dict[str, Any], metric: str) -> list[str]:
    methods = summary["methods"]
    pairs = [key for key in next(iter(summary["conditions"].values()))["versus"]]
    kind = "difference_db" if metric in DB_METRICS else "ratio"
    headers = ["condition", *methods]
    if metric not in SIGNED_METRICS:
        headers += [key.replace(" vs ", " − " if kind == "difference_db" else " / ")
                    for key in pairs]
    lines = [f"#### {task}: {metric}", "", "| " + " | ".join(headers) + " |",
             "|" + "---|" * len(headers)]
    for condition, data in summary["conditions"].items():
        cells = [condition] + [_number(data["values"][m][metric]) for m in methods]
        if metric not in SIGNED_METRICS:
            cells += [_number(data["versus"][key][metric][kind]) for key in pairs]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _speed_table(task: str, summary: dict[str, Any]) -> list[str]:
    lines = [f"#### {task}: speed", "",
             "| method | audio s | wall s | x real time | peak RSS MB | peak GPU MB |",
             "|---|---|---|---|---|---|"]
    for method, speed in summary["speed"].items():
        lines.append(
            f"| {method} | {_number(speed['audio_seconds'], 1)} | "
            f"{_number(speed['wall_seconds'], 2)} | {_number(speed['x_realtime'], 2)} | "
            f"{_number(speed['peak_rss_mb'], 0)} | {_number(speed['peak_gpu_mb'], 0)} |"
        )
    return lines + [""]


def markdown(report: dict[str, Any]) -> str:
    """report.md: a header with how the run was made, then per task one table per metric."""
    meta = report["meta"]
    lines = ["# restore evaluation report", ""]
    lines += [f"- {key}: `{value}`" for key, value in meta.items()]
    lines += ["", "Distances (LSD, log-mel, join flux): lower is better; the model/baseline "
              "column is their ratio. dB metrics (SNR, SI-SDR): higher is better; the "
              "model − baseline column is the difference in dB. Definitions: docs/evaluation.md.",
              ""]
    lines += bars_markdown(report.get("bars", []))
    for task, summary in report["tasks"].items():
        lines += [f"## {task}", ""]
        for metric in summary["metrics"]:
            lines += _metric_table(task, summary, metric)
        lines += _speed_table(task, summary)
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.json`` (strict JSON) and ``report.md`` into ``out_dir``, atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(json_safe(report), indent=1, allow_nan=False) + "\n"
    json_path = write_text(out_dir / "report.json", text)
    md_path = write_text(out_dir / "report.md", markdown(report) + "\n")
    return json_path, md_path


REUSE_BASELINES = ("neighbour", "similarity")  # issue 13: baselines that reuse the recording


def versus_better_reuse(
    values: dict[str, dict[str, float]], methods: list[str]
) -> dict[str, dict[str, dict[str, float] | None]]:
    """``{"<model> vs better reuse": {metric: comparison}}``: each model against, per metric, the
    better of the neighbour crossfade and the similarity copy (lower distance, higher dB), the
    reference issue 13's bars use. Empty unless both baselines ran."""
    if not all(name in methods for name in REUSE_BASELINES):
        return {}
    better = {}
    for metric in values[REUSE_BASELINES[0]]:
        candidates = [values[name][metric] for name in REUSE_BASELINES]
        better[metric] = max(candidates) if metric in DB_METRICS else min(candidates)
    return {
        f"{model} vs better reuse": {
            metric: compare(metric, values[model][metric], better[metric])
            for metric in better if metric not in SIGNED_METRICS
        }
        for model in filter(is_model, methods)
    }
