"""Research: are a model's gap fills too quiet? LSD in the gap and the fill's level against the
true audio's, on the corpus's valid split (never the test split), for several models and
sampler settings in one run.

    python -m tools.fill_energy corpus default runs/NAME/model.safetensors \
        --gaps 200,400,800 --clips 12 --sampler dpmpp_2m --sampler heun:churn=8

Prints one row per (model, sampler, gap): mean LSD in the gap, mean fill level minus true
level (dB, RMS over the gap) and the share of fills more than 3 dB too quiet.
"""

from __future__ import annotations

import math

import click
import numpy as np
import torch

from evaluation import cases as evaluation_cases
from evaluation import metrics
from restore import checkpoint
from tools.distill_grid import run_case


def level_db(audio: np.ndarray) -> float:
    """RMS level of ``audio`` in dB."""
    return 10 * math.log10(float(np.mean(np.square(audio, dtype=np.float64))) + 1e-12)


def inpaint_cases(corpus: str, gaps: str, clips: int, seed: int) -> list:
    """Inpaint cases of the valid split: every gap length of ``gaps`` (ms, comma-separated) on
    each of ``clips`` clips."""
    references = evaluation_cases.load_test_clips(corpus, clips, 4.0, seed, split="valid")
    rng = np.random.default_rng(seed)
    return [evaluation_cases.inpaint_case(reference, number, float(gap), rng)
            for gap in gaps.split(",") for number, reference in enumerate(references)]


def _parse_sampler(text: str) -> tuple[str, float]:
    name, _, rest = text.partition(":")
    churn = float(rest.split("=", 1)[1]) if rest.startswith("churn=") else 0.0
    return name, churn


@click.command()
@click.argument("corpus")
@click.argument("models", nargs=-1, required=True)
@click.option("--gaps", default="200,400,800", help="Gap lengths in ms.")
@click.option("--clips", default=12, type=int)
@click.option("--steps", default=8, type=int)
@click.option("--sampler", "samplers", multiple=True, default=("dpmpp_2m",),
              help="Sampler name, optionally ':churn=N' (heun/euler only). Repeatable.")
@click.option("--seed", default=0, type=int)
def main(corpus, models, gaps, clips, steps, samplers, seed) -> None:
    torch.set_grad_enabled(False)
    cases = inpaint_cases(corpus, gaps, clips, seed)
    print("model | sampler | gap | LSD in gap | fill - true level (dB) | fills > 3 dB quiet")
    for name in models:
        model = checkpoint.load_model(None if name == "default" else name)
        for text in samplers:
            sampler, churn = _parse_sampler(text)
            rows: dict[str, list[tuple[float, float]]] = {}
            for case in cases:
                start, end = case.region
                output = run_case(model, case, sampler, None, seed + case.clip, churn, steps)
                lsd = metrics.lsd_in_regions(output, case.reference, [(start, end)])
                level = level_db(output[:, start:end]) - level_db(case.reference[:, start:end])
                rows.setdefault(case.condition, []).append((lsd, level))
            for condition, values in rows.items():
                lsd_values, levels = np.array(values).T
                print(f"{name} | {text} | {condition} | {lsd_values.mean():.3f} | "
                      f"{levels.mean():+.2f} | {np.mean(levels < -3):.2f}", flush=True)


if __name__ == "__main__":
    main()
