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

from evaluation import metrics
from restore import checkpoint
from restore.config import MODEL_RATE
from tools.distill_grid import run_case
from tools.fill_energy import inpaint_cases, level_db

CONTEXT_SECONDS = 0.2
CAPS_DB = (3.0, 6.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--gaps", default="200,400,800", help="gap lengths in ms")
    parser.add_argument("--clips", type=int, default=8)
    arguments = parser.parse_args()
    torch.set_grad_enabled(False)
    cases = inpaint_cases(arguments.corpus, arguments.gaps, arguments.clips, 0)
    model = checkpoint.load_model(arguments.model)
    context = int(CONTEXT_SECONDS * MODEL_RATE)
    results: dict[str, list[list[float]]] = {}
    for case in cases:
        start, end = case.region
        output = run_case(model, case, "dpmpp_2m", None, case.clip, steps=8)
        around = np.concatenate([case.reference[:, max(0, start - context):start],
                                 case.reference[:, end:end + context]], axis=1)
        gain_db = level_db(around) - level_db(output[:, start:end])
        row = [metrics.lsd_in_regions(output, case.reference, [(start, end)])]
        for cap in CAPS_DB:
            matched = output.copy()
            matched[:, start:end] *= 10 ** (np.clip(gain_db, -cap, cap) / 20)
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
