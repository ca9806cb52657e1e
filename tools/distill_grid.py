"""Research: which sampler and grid should a distillation chain start from? LSD of one model
under several (sampler, schedule, steps) settings on the corpus's valid split (never the test
split): bandwidth extension from 8 kHz (whole clip) and 400 ms gaps (in the gap).

    python -m tools.distill_grid corpus runs/NAME/model.safetensors \
        --setting dpmpp_2m:karras:8 --setting heun:nested:16 --setting euler:nested:32

A progressive-distillation chain keeps at best its first teacher's quality (docs/model.md,
"Distillation"): that teacher's setting should be within a few per cent of the product's.
"""

from __future__ import annotations

import click
import numpy as np
import torch

from evaluation import cases as evaluation_cases
from evaluation import metrics
from restore import checkpoint
from restore.classical import sinc_upsample
from restore.config import MODEL_RATE, TASK_ID
from restore.diffusion.generate import generate
from restore.diffusion.sampling import SCHEDULES


def run_case(model, case, sampler: str, sigmas: torch.Tensor | None, seed: int,
             churn: float = 0.0, steps: int | None = None) -> np.ndarray:
    """The model's output for one bandwidth or inpaint case through ``generate`` (batch =
    channels), with the given sampler and noise levels (``sigmas``, or ``steps`` of the
    model's own schedule)."""
    if case.task == "bandwidth":
        degraded = sinc_upsample(case.degraded, case.input_rate, MODEL_RATE).astype(np.float32)
        mask = np.ones_like(degraded)
    else:
        degraded = case.degraded
        mask = np.ones_like(degraded)
        mask[:, case.region[0]:case.region[1]] = 0
    channels = degraded.shape[0]
    output = generate(
        model.denoiser, torch.from_numpy(degraded)[:, None], torch.from_numpy(mask)[:, None],
        torch.full((channels,), TASK_ID[case.task], dtype=torch.long),
        torch.full((channels,), float(case.input_band_hz)), sigmas=sigmas, sampler=sampler,
        steps=steps, generator=torch.Generator().manual_seed(seed), churn=churn)
    return output[:, 0].numpy()


@click.command()
@click.argument("corpus")
@click.argument("model_file")
@click.option("--setting", "settings", multiple=True, required=True,
              help="sampler:schedule:steps, e.g. heun:nested:16. Repeatable.")
@click.option("--clips", default=6, type=int)
@click.option("--seed", default=0, type=int)
def main(corpus, model_file, settings, clips, seed) -> None:
    torch.set_grad_enabled(False)
    model = checkpoint.load_model(None if model_file == "default" else model_file)
    config = model.diffusion
    references = evaluation_cases.load_test_clips(corpus, clips, 4.0, seed, split="valid")
    rng = np.random.default_rng(seed)
    cases = [evaluation_cases.bandwidth_case(reference, number, 8000, mp3_like=False)
             for number, reference in enumerate(references)]
    cases += [evaluation_cases.inpaint_case(reference, number, 400.0, rng)
              for number, reference in enumerate(references)]
    print("setting | network calls | LSD from 8 kHz | LSD in 400 ms gaps")
    for setting in settings:
        sampler, schedule, steps = setting.split(":")
        sigmas = SCHEDULES[schedule](int(steps), config.sigma_min, config.sigma_max, config.rho)
        calls = 2 * int(steps) - 1 if sampler == "heun" else int(steps)
        scores: dict[str, list[float]] = {"bandwidth": [], "inpaint": []}
        for case in cases:
            output = run_case(model, case, sampler, sigmas, seed + case.clip)
            if case.task == "bandwidth":
                scores["bandwidth"].append(metrics.lsd(output, case.reference))
            else:
                scores["inpaint"].append(metrics.lsd_in_regions(output, case.reference,
                                                                [case.region]))
        print(f"{setting} | {calls} | {np.mean(scores['bandwidth']):.3f} | "
              f"{np.mean(scores['inpaint']):.3f}", flush=True)


if __name__ == "__main__":
    main()
