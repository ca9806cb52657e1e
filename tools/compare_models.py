"""Two `python -m evaluation run` reports of the same cases side by side: is a candidate model
better than the shipped one on every task both can do?

    python tools/compare_models.py /tmp/eval_shipped/report.json /tmp/eval_campaign/report.json

Prints one markdown table row per (task, condition, metric) of the model: shipped value,
candidate value, and candidate / shipped (distances: lower is better) or candidate - shipped
(dB metrics: higher is better). The reports must come from the same corpus, seed and clip count.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DB_METRICS = ("snr", "si_sdr", "sdr")  # higher is better; every other metric is a distance
SAME_CASES = ("corpus", "seed", "clips_per_condition", "clip_seconds")


def is_db(metric: str) -> bool:
    return any(metric.startswith(prefix) for prefix in DB_METRICS)


def rows(shipped: dict, candidate: dict) -> list[str]:
    lines = []
    for task, block in shipped["tasks"].items():
        other = candidate["tasks"].get(task)
        if other is None:
            continue
        for condition, result in block["conditions"].items():
            old = result["values"].get("model", {})
            new = other["conditions"].get(condition, {}).get("values", {}).get("model", {})
            for metric in block["metrics"]:
                if metric not in old or metric not in new:
                    continue
                a, b = old[metric], new[metric]
                change = f"{b - a:+.2f} dB" if is_db(metric) else f"{b / a:.3f}x" if a else "-"
                lines.append(f"| {task} | {condition} | {metric} | {a:.3f} | {b:.3f} | {change} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shipped", type=Path)
    parser.add_argument("candidate", type=Path)
    args = parser.parse_args()
    shipped, candidate = (json.loads(path.read_text()) for path in (args.shipped, args.candidate))
    differing = [key for key in SAME_CASES
                 if shipped["meta"].get(key) != candidate["meta"].get(key)]
    if differing:
        raise SystemExit(f"the reports differ in {differing}: not the same cases")
    print("| task | condition | metric | shipped | candidate | change |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows(shipped, candidate)))


if __name__ == "__main__":
    main()
