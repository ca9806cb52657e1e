"""Research: does matching a fill's level to the audio around the gap lower its LSD? On the
corpus's valid split (never the test split), the model's 8-step fills through ``generate``
(as ``tools/fill_energy.py``), scaled so that their RMS equals that of the true audio 200 ms
each side of the gap, the gain capped at +-3 or +-6 dB.

    python -m tools.experiments.fill_level corpus --clips 8

Prints, per gap length, the mean LSD in the gap plain and matched, and how many fills the
3 dB-capped matching improved. Result and decision: docs/results.md, "Experiments that did not
change the product".
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from evaluation import cases as evaluation_cases
from evaluation import metrics
from restore import checkpoint
from restore.config import MODEL_RATE
from restore.diffusion.sampling import SCHEDULES
from tools.distill_grid import run_case

CONTEXT_SECONDS = 0.2
CAPS_DB = (3.0, 6.0)


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)) + 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--gaps", default="200,400,800", help="gap lengths in ms")
    parser.add_argument("--clips", type=int, default=8)
    arguments = parser.parse_args()
    torch.set_grad_enabled(False)
    references = evaluation_cases.load_test_clips(arguments.corpus, arguments.clips, 4.0, 0,
                                                  split="valid")
    rng = np.random.default_rng(0)
    cases = [evaluation_cases.inpaint_case(reference, number, float(gap), rng)
             for gap in arguments.gaps.split(",") for number, reference in enumerate(references)]
    model = checkpoint.load_model(arguments.model)
    config = model.diffusion
    sigmas = SCHEDULES[config.schedule](8, config.sigma_min, config.sigma_max, config.rho)
    context = int(CONTEXT_SECONDS * MODEL_RATE)
    results: dict[str, list[list[float]]] = {}
    for case in cases:
        start, end = case.region
        output = run_case(model, case, "dpmpp_2m", sigmas, case.clip)
        around = np.concatenate([case.reference[:, max(0, start - context):start],
                                 case.reference[:, end:end + context]], axis=1)
        gain = _rms(around) / _rms(output[:, start:end])
        row = [metrics.lsd_in_regions(output, case.reference, [(start, end)])]
        for cap in CAPS_DB:
            matched = output.copy()
            matched[:, start:end] *= np.clip(gain, 10 ** (-cap / 20), 10 ** (cap / 20))
            row.append(metrics.lsd_in_regions(matched, case.reference, [(start, end)]))
        results.setdefault(case.condition, []).append(row)
    for condition, rows in results.items():
        values = np.array(rows)
        plain, capped3, capped6 = values.mean(axis=0)
        better = int((values[:, 1] < values[:, 0]).sum())
        print(f"{condition}: plain {plain:.3f}, matched (3 dB cap) {capped3:.3f}, matched "
              f"(6 dB cap) {capped6:.3f}; 3 dB matching better in {better} of {len(values)}")


if __name__ == "__main__":
    main()
