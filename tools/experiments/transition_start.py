"""Transition experiment: where the model's sampling starts, which task id, how many steps.

``python -m tools.experiments.transition_start CORPUS [--clips 8] [--seconds 1.0]
[--variant TASK:START:STEPS[:SIGMA_END] ...]`` builds the evaluation's transition cases
(``evaluation.cases``, seed 0: the middle ``seconds`` of each 4 s test clip cut out, A before,
B after) and bridges them with 1 s of context on each side and a fresh seed-0 generator per
case, as ``restore.transition`` does. A variant is:

- ``TASK``: the task id the model is conditioned with, ``transition`` or ``inpaint``;
- ``START``: ``none`` = the shipped path (``restore.tasks.inpaint.fill_diffusion``: pure noise at
  sigma_max, band matching, AR edge blend); a number = SDEdit (Meng et al. 2021): the
  equal-power crossfade bridge noised to that sigma (model units, sigma_data = 0.5) and denoised
  by the model over a Karras schedule from there, with the same conditioning, known-data
  projection and post-processing (:func:`refine`, :func:`refine_window`);
- ``STEPS``: DPM-Solver++(2M) steps (the network in float32 on the CPU);
- ``SIGMA_END``: the SDEdit schedule's last non-zero sigma (default the model's sigma_min,
  0.002).

Prints the mean bridge LSD (``evaluation.runner.score``, as in the report), its ratio to the
crossfade's (issue 7's bar: <= 0.85), the mean join flux (bar: <= 1.0), and the bridge LSD split
into four bands (RMS of the log-power difference over the bridge's STFT frames).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import click
import numpy as np
import torch

from evaluation import metrics
from evaluation.cases import load_test_clips, transition_case
from evaluation.runner import score
from restore.checkpoint import LoadedModel, load_model
from restore.classical import equal_power_bridge
from restore.config import MODEL_RATE, TASK_ID
from restore.diffusion.conditioning import KeepItems, compose, task_projections
from restore.diffusion.generate import generate
from restore.diffusion.sampling import get_sigmas_karras
from restore.tasks import transition as transition_task
from restore.tasks.inpaint import MASK_PAD, blend_edges_with_ar, fill_diffusion, match_context_band
from restore.tasks.sampler import Sampler, SamplingOptions
from restore.tasks.stereo import from_components, silent_items, to_components

DEFAULT_VARIANTS = (
    "transition:none:8", "inpaint:none:8",
    "transition:0.3:8", "transition:0.5:8", "transition:1:8", "transition:2:8",
    "transition:none:16", "inpaint:none:16", "transition:1:16",
)
BAND_EDGES_HZ = (0, 2000, 6000, 12000, 24000)


@torch.no_grad()
def refine(model: LoadedModel, init: torch.Tensor, degraded: torch.Tensor, mask: torch.Tensor,
           task: str, *, sigma_start: float, steps: int, generator: torch.Generator,
           sigma_end: float | None = None) -> torch.Tensor:
    """SDEdit: ``init [items, 1, time]`` noised to ``sigma_start`` and denoised by the model.

    ``generate`` from the initial guess ``init`` with a Karras schedule from ``sigma_start`` to
    ``sigma_end``; ``degraded``/``mask`` (1 = known) condition the model, and every clean
    estimate is projected onto the known data (silent items stay silent).
    """
    config = model.diffusion
    task_id = torch.full((init.shape[0],), TASK_ID[task], dtype=torch.long)
    cutoff = torch.full((init.shape[0],), MODEL_RATE / 2)
    projections = [*task_projections(degraded, mask, task_id, cutoff),
                   KeepItems(degraded, silent_items(degraded, mask))]
    if sigma_start <= config.sigma_min:
        return compose(projections)(init)
    sigmas = get_sigmas_karras(steps, sigma_end or config.sigma_min, sigma_start, config.rho)
    return generate(model.denoiser, degraded, mask, task_id, cutoff, sigmas=sigmas, x=init,
                    sampler=model.default_sampler, generator=generator, projections=projections)


def refine_window(guess: np.ndarray, mask: np.ndarray, sampler: Sampler, task: str,
                  sigma_start: float, sigma_end: float | None) -> np.ndarray:
    """``fill_diffusion`` (48 kHz input) with the SDEdit start: ``guess [1, channels, frames]``
    holds the first guess where ``mask [1, frames]`` (True = unknown) is set."""
    known = torch.from_numpy(np.where(mask[:, None, :], 0.0, guess).astype(np.float32))
    model_mask = torch.ones(1, 1, known.shape[-1])
    unknown = np.flatnonzero(mask[0])
    model_mask[..., max(0, unknown[0] - MASK_PAD):unknown[-1] + 1 + MASK_PAD] = 0.0
    channels, length = guess.shape[1], guess.shape[2]
    degraded, init = (to_components(audio).reshape(channels, 1, length)
                      for audio in (known, torch.from_numpy(guess)))
    item_mask = model_mask.repeat_interleave(channels, dim=0)
    filled = refine(sampler.model, init, degraded, item_mask, task, sigma_start=sigma_start,
                    steps=sampler.steps, generator=sampler.generator, sigma_end=sigma_end)
    filled = from_components(filled.reshape(1, channels, length))
    filled = match_context_band(filled, known, model_mask)
    return blend_edges_with_ar(filled.numpy(), known.numpy(), mask, MODEL_RATE)


def make_bridges(cases, model, variant: str) -> list[np.ndarray]:
    """The whole clip ``A + bridge + B`` per case for one variant (``None`` = crossfade)."""
    context = transition_task.context_frames(MODEL_RATE)
    outputs = []
    for case in cases:
        start, end = case.region
        a, b = case.degraded[:, :start], case.degraded[:, end:]
        a_tail, b_head = a[:, -context:], b[:, :context]
        crossfade = equal_power_bridge(a_tail, b_head, end - start)
        if variant is None:
            outputs.append(np.concatenate([a, crossfade, b], axis=1))
            continue
        task, start_sigma, steps, *sigma_end = variant.split(":")
        # float32 on both paths: "auto" may pick bf16 on the CPU, and refine() runs float32
        sampler = Sampler.create(SamplingOptions(model, steps=int(steps), seed=0, device="cpu",
                                                 precision="fp32"))
        window = np.concatenate([a_tail, crossfade, b_head], axis=1)[None]
        mask = np.zeros((1, window.shape[-1]), dtype=bool)
        mask[:, context:context + end - start] = True
        if start_sigma == "none":
            degraded = np.where(mask[:, None, :], 0.0, window).astype(np.float32)
            filled = fill_diffusion(degraded, mask, MODEL_RATE, sampler, task=task)
        else:
            filled = refine_window(window, mask, sampler, task, float(start_sigma),
                                   float(sigma_end[0]) if sigma_end else None)
        outputs.append(np.concatenate([a, filled[0, :, context:context + end - start], b], 1))
    return outputs


def band_lsd(case, output: np.ndarray) -> list[float]:
    """RMS log-power difference over the bridge's STFT frames in each band of BAND_EDGES_HZ."""
    difference = (metrics.log_power_spectrogram(torch.from_numpy(output))
                  - metrics.log_power_spectrogram(torch.from_numpy(case.reference)))
    difference = difference[..., metrics.frames_overlapping([case.region], output.shape[-1])]
    bins = [metrics.cutoff_bin(edge, MODEL_RATE) for edge in BAND_EDGES_HZ]
    return [float(difference[:, low:high].square().mean().sqrt())
            for low, high in zip(bins, bins[1:], strict=False)]


def summary(cases, outputs) -> tuple[float, float, np.ndarray]:
    """Mean bridge LSD, mean join flux, mean per-band LSD."""
    scores = [score(case, output) for case, output in zip(cases, outputs, strict=True)]
    bands = np.mean([band_lsd(case, out) for case, out in zip(cases, outputs, strict=True)], 0)
    return (float(np.mean([item["lsd_bridge"] for item in scores])),
            float(np.mean([item["join_flux"] for item in scores])), bands)


@click.command()
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--clips", default=8, show_default=True)
@click.option("--seconds", default=1.0, show_default=True, help="bridge length")
@click.option("--variant", "variants", multiple=True, default=DEFAULT_VARIANTS,
              show_default=True, help="TASK:START:STEPS[:SIGMA_END] (START 'none' = noise)")
def main(corpus: Path, clips: int, seconds: float, variants: tuple[str, ...]) -> None:
    cases = [transition_case(clip, index, seconds)
             for index, clip in enumerate(load_test_clips(corpus, clips, 4.0, seed=0))]
    model = load_model(None)
    bands = " | ".join(f"{low // 1000}-{high // 1000}k"
                       for low, high in zip(BAND_EDGES_HZ, BAND_EDGES_HZ[1:], strict=False))
    click.echo(f"{len(cases)} clips, {seconds:g} s bridge, seed 0\n")
    click.echo(f"| variant | bridge LSD | / crossfade | join flux | {bands} | seconds |")
    click.echo("| --- " * (4 + len(BAND_EDGES_HZ)) + "|")
    crossfade_lsd = math.nan
    for variant in (None, *variants):
        began = time.perf_counter()
        lsd, flux, per_band = summary(cases, make_bridges(cases, model, variant))
        elapsed = time.perf_counter() - began
        crossfade_lsd = lsd if variant is None else crossfade_lsd
        click.echo(f"| {variant or 'crossfade'} | {lsd:.3f} | {lsd / crossfade_lsd:.3f} | "
                   f"{flux:.2f} | " + " | ".join(f"{value:.2f}" for value in per_band)
                   + f" | {elapsed:.0f} |")


if __name__ == "__main__":
    main()
