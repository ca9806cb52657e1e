"""Precision experiment: does bf16 inference change quality against fp32?

``python -m tools.experiments.precision CORPUS [--split valid] [--clips 8] [--steps 8]``
builds the evaluation's bandwidth (8 and 16 kHz input) and inpainting (100 and 400 ms) cases
from 4 s clips of a corpus split, runs the shipped model through ``restore.upsample`` /
``restore.inpaint`` (method diffusion, seed 0) once with ``precision="fp32"`` and once with
``"bf16"``, and prints the mean LSD (whole clip and above the cutoff for bandwidth, over the gap's
frames for inpainting) and wall time of each. Tune on ``valid``; the test split is for the report.
"""

from __future__ import annotations

import time

import click
import numpy as np

import restore
from evaluation import metrics
from evaluation.cases import build_cases, load_test_clips
from restore.checkpoint import load_model
from restore.config import MODEL_RATE

PRECISIONS = ("fp32", "bf16")


def run_case(case, model, precision: str, steps: int) -> np.ndarray:
    if case.task == "bandwidth":
        return restore.upsample(case.degraded, case.input_rate, MODEL_RATE, model=model,
                                steps=steps, seed=0, device="cpu", method="diffusion",
                                precision=precision)
    start, end = case.region
    return restore.inpaint(case.degraded, MODEL_RATE, [(start / MODEL_RATE, end / MODEL_RATE)],
                           model=model, steps=steps, seed=0, device="cpu", method="diffusion",
                           precision=precision)


def scores(case, output: np.ndarray) -> dict[str, float]:
    if case.task == "bandwidth":
        return {"lsd": metrics.lsd(output, case.reference),
                "lsd_hf": metrics.lsd_hf(output, case.reference, MODEL_RATE, case.cutoff_hz)}
    return {"lsd_gap": metrics.lsd_in_regions(output, case.reference, [case.region])}


@click.command()
@click.argument("corpus", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="valid", show_default=True)
@click.option("--clips", default=8, show_default=True)
@click.option("--steps", default=8, show_default=True)
def main(corpus: str, split: str, clips: int, steps: int) -> None:
    model = load_model(None, "cpu")
    references = load_test_clips(corpus, clips, 4.0, seed=0, split=split)
    cases = build_cases(references, 0, gap_ms=(100.0, 400.0), bandwidth_rates=(8000, 16000),
                        mp3=False, transition_seconds=())
    table: dict[tuple[str, str], dict[str, list[float]]] = {}
    for case in cases:
        for precision in PRECISIONS:
            began = time.perf_counter()
            output = run_case(case, model, precision, steps)
            row = table.setdefault((case.condition, precision), {"seconds": []})
            row["seconds"].append(time.perf_counter() - began)
            for name, value in scores(case, output).items():
                row.setdefault(name, []).append(value)
    click.echo(f"{split} split, {clips} clips of 4 s, {steps} steps, CPU")
    for (condition, precision), row in table.items():
        values = "  ".join(f"{name} {np.mean(items):.3f}" for name, items in row.items()
                           if name != "seconds")
        click.echo(f"{condition:14s} {precision}  {values}  wall {np.sum(row['seconds']):.1f} s")


if __name__ == "__main__":
    main()
