"""Research (issue 13): does the model improve on the similarity copy when it starts from it?

On the corpus's valid split (never the test split): gaps of 0.2 / 0.4 s in 4 s clips and 1 / 2 s
in 12 s clips (the evaluation's case builders, seed 0), filled by

- ``model``: the shipped path (``restore.tasks.inpaint.fill_diffusion`` on the gap plus
  ``CONTEXT_SECONDS`` each side, pure noise at sigma_max);
- ``neighbour`` and ``similarity``: issue 13's baselines on the whole clip;
- ``sdedit:S``: retrieval-started sampling: the similarity copy in the gap, noised to sigma
  ``S`` and denoised by the model with the inpainting conditioning (Meng et al. 2021; the
  window and post-processing as ``model``; ``tools.experiments.transition_start.refine_window``);
- ``oracle``: per clip the better of ``model`` and ``similarity`` (what a perfect per-gap
  choice could reach).

    python -m tools.experiments.retrieval_fill corpus --clips 8 --sigmas 0.1,0.3,1

Prints per gap length the mean gap LSD of each method, its ratio to the better of the two
reuse baselines (issue 13's bar: <= 0.8) and the mean join flux.
"""

from __future__ import annotations

import math
import time

import click
import numpy as np
import torch

from evaluation.cases import (
    LONG_CASE_SEED_OFFSET,
    LONG_CLIP_SECONDS,
    inpaint_case,
    load_long_test_clips,
    load_test_clips,
)
from evaluation.runner import score
from restore import checkpoint
from restore.classical import neighbour_crossfade, similarity_copy
from restore.config import MODEL_RATE
from restore.tasks.inpaint import CONTEXT_SECONDS, fill_diffusion
from restore.tasks.sampler import Sampler, SamplingOptions
from tools.experiments.transition_start import refine_window


def build_cases(corpus: str, clips: int, short_ms: list[float], long_ms: list[float]) -> list:
    """Inpaint cases of the valid split, as the evaluation builds them for the test split."""
    cases = []
    if short_ms:
        references = load_test_clips(corpus, clips, 4.0, 0, split="valid")
        rng = np.random.default_rng(0)
        cases += [inpaint_case(reference, index, gap, rng)
                  for gap in short_ms for index, reference in enumerate(references)]
    if long_ms:
        references = load_long_test_clips(corpus, clips, LONG_CLIP_SECONDS, 0, split="valid")
        rng = np.random.default_rng([0, LONG_CASE_SEED_OFFSET])
        cases += [inpaint_case(reference, index, gap, rng)
                  for gap in long_ms for index, reference in enumerate(references)]
    return cases


def window_of(case, guess: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The product's window around the gap from ``guess [channels, frames]`` (the gap holds
    the first guess), its mask (True = unknown) and its first frame."""
    start, end = case.region
    context = math.ceil(CONTEXT_SECONDS * MODEL_RATE)
    first, last = max(0, start - context), min(guess.shape[1], end + context)
    mask = np.zeros((1, last - first), dtype=bool)
    mask[:, start - first:end - first] = True
    return guess[None, :, first:last].astype(np.float32), mask, first


def fill(case, method: str, model, gap: np.ndarray, copy: np.ndarray, steps: int) -> np.ndarray:
    """The whole clip with the gap (``gap``: bool per frame) filled by ``method``."""
    start, end = case.region
    if method == "neighbour":
        return neighbour_crossfade(case.degraded, gap, MODEL_RATE)
    if method == "similarity":
        return copy
    window, mask, first = window_of(case, copy)
    sampler = Sampler.create(SamplingOptions(model, steps=steps, seed=case.clip, device="cpu",
                                             precision="fp32"))
    if method == "model":
        known = np.where(mask[:, None, :], 0.0, window).astype(np.float32)
        filled = fill_diffusion(known, mask, MODEL_RATE, sampler)
    else:
        filled = refine_window(window, mask, sampler, "inpaint", float(method.split(":")[1]), None)
    output = case.degraded.copy()
    output[:, start:end] = filled[0, :, start - first:end - first]
    return output


@click.command()
@click.argument("corpus")
@click.option("--clips", default=8, show_default=True)
@click.option("--short", "short_gaps", default="200,400", show_default=True, help="ms, 4 s clips")
@click.option("--long", "long_gaps", default="1000,2000", show_default=True, help="ms, 12 s clips")
@click.option("--sigmas", default="0.1,0.3,1", show_default=True, help="SDEdit start sigmas")
@click.option("--model", "model_file", default=None, help="model file (default: shipped)")
@click.option("--steps", default=8, show_default=True, help="sampler steps of every model fill")
def main(corpus, clips, short_gaps, long_gaps, sigmas, model_file, steps) -> None:
    torch.set_grad_enabled(False)
    parse = lambda text: [float(value) for value in text.split(",") if value]  # noqa: E731
    cases = build_cases(corpus, clips, parse(short_gaps), parse(long_gaps))
    model = checkpoint.load_model(model_file)
    methods = ["neighbour", "similarity", "model",
               *(f"sdedit:{sigma}" for sigma in sigmas.split(",") if sigma)]
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    began = time.perf_counter()
    for case in cases:
        gap = np.zeros(case.degraded.shape[1], dtype=bool)
        gap[case.region[0]:case.region[1]] = True
        copy = similarity_copy(case.degraded, gap, MODEL_RATE)
        row = results.setdefault(case.condition, {})
        for method in methods:
            scored = score(case, fill(case, method, model, gap, copy, steps))
            row.setdefault(method, []).append((scored["lsd_gap"], scored["join_flux"]))
    click.echo(f"{len(cases)} cases, {time.perf_counter() - began:.0f} s\n")
    click.echo("| gap | method | gap LSD | / better reuse | join flux | clips better than copy |")
    click.echo("| --- | --- | --- | --- | --- | --- |")
    for condition, row in results.items():
        lsd = {method: np.array([value[0] for value in values]) for method, values in row.items()}
        lsd["oracle"] = np.minimum(lsd["model"], lsd["similarity"])
        reuse = min(lsd["neighbour"].mean(), lsd["similarity"].mean())
        for method, values in lsd.items():
            flux = np.mean([value[1] for value in row[method]]) if method in row else math.nan
            better = int((values < lsd["similarity"]).sum())
            click.echo(f"| {condition} | {method} | {values.mean():.3f} | "
                       f"{values.mean() / reuse:.2f} | {flux:.2f} | {better} of {len(values)} |")


if __name__ == "__main__":
    main()
