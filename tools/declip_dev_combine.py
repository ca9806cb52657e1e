"""Compare and combine saved :mod:`tools.declip_dev` runs on the same dev cases.

For each saved run (``NAME=path.json``, its outputs in the ``.npz`` beside it) prints the mean
SDR improvement per condition, then the same for the average of every pair of runs (both
outputs are consistent with the observation, so their average is too), and lists the
per-clip gains beside the signal features of the clipped input (``--features``).

    python -m tools.declip_dev_combine short=runs/declip_dev/base.json \\
        long=runs/declip_dev/w8192.json --features
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import click
import numpy as np

from evaluation.repair_cases import _sdr
from restore.classical.declip import SPADE_LONG, choose_settings
from tools.declip_dev import dev_cases


def compaction(row: np.ndarray, window: int, energy: float = 0.95) -> float:
    """Share of the Hann-STFT coefficients (hop window / 4) holding ``energy`` of the total."""
    hop = window // 4
    starts = np.arange(0, max(1, row.shape[0] - window + 1), hop)
    frames = row[starts[:, None] + np.arange(window)] * np.hanning(window)
    power = np.sort(np.abs(np.fft.rfft(frames, axis=1)).ravel() ** 2)[::-1]
    cumulative = np.cumsum(power) / power.sum()
    return float(np.searchsorted(cumulative, energy) + 1) / power.size


def signal_features(degraded: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Candidate features of the clipped input ``[1, frames]`` for choosing settings."""
    row = degraded[0].astype(np.float64)
    peak = np.max(np.abs(row))
    clipped = float(np.mean(np.abs(row) >= peak))
    frames = row[: row.shape[0] // 960 * 960].reshape(-1, 960)
    energy = np.mean(frames**2, axis=1)
    quiet = float(np.mean(energy < 1e-3 * energy.max()))
    window = 2048
    starts = np.arange(0, row.shape[0] - window + 1, window // 2)
    power = np.abs(np.fft.rfft(row[starts[:, None] + np.arange(window)] * np.hanning(window),
                               axis=1)) ** 2 + 1e-12
    flatness = float(np.median(np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)))
    return dict(clipped=clipped, quiet=quiet, flatness=flatness,
                compact2k=compaction(row, 2048), compact8k=compaction(row, 8192),
                ratio=compaction(row, 8192) / compaction(row, 2048))


def load_run(spec: str) -> tuple[str, dict, dict]:
    name, path = spec.split("=", 1)
    run = json.loads(Path(path).read_text())
    outputs = dict(np.load(Path(path).with_suffix(".npz")))
    return name, run, outputs


def case_key(case: dict) -> str:
    return f"{case['kind']}_{case['sdr']:g}_{case['index']}"


def summary(label: str, cases: list[dict], outputs: dict) -> dict[str, float]:
    gains = {}
    for case in cases:
        output = outputs[case_key(case)]
        gains[case_key(case)] = (_sdr(output, case["reference"])
                                 - _sdr(case["degraded"], case["reference"]))
    line = []
    for condition in sorted({key.rsplit("_", 1)[0] for key in gains}):
        chosen = [gain for key, gain in gains.items() if key.rsplit("_", 1)[0] == condition]
        line.append(f"{condition} {np.mean(chosen):+.2f}")
    print(f"{label:24s} " + "  ".join(line))
    return gains


@click.command()
@click.argument("runs", nargs=-1)
@click.option("--data", "corpus", type=click.Path(path_type=Path), default=Path("corpus"))
@click.option("--features", is_flag=True, help="Per-clip gains beside input features.")
@click.option("--chosen", default=None, metavar="SHORT,LONG",
              help="Two run names: also score what restore's choose_settings picks per clip.")
def main(runs: tuple[str, ...], corpus: Path, features: bool, chosen: str | None) -> None:
    loaded = [load_run(spec) for spec in runs]
    first = loaded[0][1]
    kinds = sorted({row["kind"] for row in first["rows"]})
    sdrs = sorted({row["sdr"] for row in first["rows"]})
    clips = 1 + max(row["index"] for row in first["rows"])
    cases = dev_cases(corpus, first["split"], clips, first["seconds"], first["seed"], sdrs,
                      kinds)
    all_gains = {name: summary(name, cases, outputs) for name, _, outputs in loaded}
    for (name_a, _, out_a), (name_b, _, out_b) in itertools.combinations(loaded, 2):
        average = {key: (out_a[key].astype(np.float64) + out_b[key]) / 2 for key in out_a}
        all_gains[f"avg({name_a},{name_b})"] = summary(f"avg({name_a},{name_b})", cases,
                                                         average)
    if chosen is not None:
        by_name = {name: outputs for name, _, outputs in loaded}
        short, long = (by_name[name] for name in chosen.split(","))
        picked = {}
        for case in cases:
            is_long = choose_settings(case["degraded"][0].astype(np.float64), 48_000) == SPADE_LONG
            picked[case_key(case)] = (long if is_long else short)[case_key(case)]
            print(f"{case_key(case):16s} {'long' if is_long else 'short'}")
        all_gains["chosen"] = summary("chosen", cases, picked)
    if features:
        for case in cases:
            key = case_key(case)
            described = signal_features(case["degraded"], 48_000)
            print(f"{key:16s} " + " ".join(f"{name}={all_gains[name][key]:+.2f}"
                                          for name in all_gains)
                  + " | " + " ".join(f"{k}={v:.3f}" for k, v in described.items()))


if __name__ == "__main__":
    main()
