"""Inpainting quality and speed against the real context around each gap, on the corpus's valid
split (issue 14: CPU inpainting <= 0.5 s per 100 ms dropout; the window is the gap plus its
context on each side, so the context sets the cost of every dropout).

Every clip gets one gap per length, placed as the evaluation's ``gap_<ms>ms`` cases; each
context is run through ``restore.inpaint`` (``method="diffusion"``, the model's default steps)
with every gap's context set to it (``product``: the product's own rule,
:func:`restore.tasks.inpaint.context_seconds`). Prints the mean LSD in the gap and
the wall seconds per gap (on a shared machine only a rough guide: the bench times).

    python -m tools.inpaint_context corpus --clips 16 --contexts 0.25,0.5 --gaps 100,200,400,800
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

import restore
from evaluation import metrics
from evaluation.cases import inpaint_case, load_test_clips
from restore.config import MODEL_RATE
from restore.tasks import inpaint as inpaint_module


@click.command()
@click.argument("corpus")
@click.option("--clips", default=16, type=int, show_default=True)
@click.option("--clip-seconds", default=4.0, type=float, show_default=True)
@click.option("--contexts", default="0.25,0.5,product", show_default=True,
              help="Seconds or 'product', comma-separated.")
@click.option("--gaps", default="100,200,400,800", show_default=True, help="ms, comma-separated.")
@click.option("--model", default="default", show_default=True)
@click.option("--steps", default=None, type=int, help="Default: the model's own.")
@click.option("--seed", default=0, type=int, show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path), help="JSON of the table.")
def main(corpus, clips, clip_seconds, contexts, gaps, model, steps, seed, out) -> None:
    references = load_test_clips(corpus, clips, clip_seconds, seed, split="valid")
    options = {"model": None if model == "default" else model, "steps": steps, "seed": seed,
               "device": "cpu", "method": "diffusion"}
    product = (inpaint_module.CONTEXT_SECONDS, inpaint_module.LONG_GAP_CONTEXT_SECONDS)
    table = {}
    for gap_ms in (float(value) for value in gaps.split(",")):
        rng = np.random.default_rng(seed)
        cases = [inpaint_case(reference, index, gap_ms, rng)
                 for index, reference in enumerate(references)]
        for context in contexts.split(","):
            (inpaint_module.CONTEXT_SECONDS, inpaint_module.LONG_GAP_CONTEXT_SECONDS) = (
                product if context == "product" else (float(context),) * 2)
            distances, started = [], time.perf_counter()
            for case in cases:
                gap = [((case.region[0] + 0.01) / MODEL_RATE, (case.region[1] - 0.01) / MODEL_RATE)]
                filled = restore.inpaint(case.degraded, MODEL_RATE, gap, **options)
                distances.append(metrics.lsd_in_regions(filled, case.reference, [case.region]))
            seconds = (time.perf_counter() - started) / len(cases)
            table[f"{gap_ms:g}ms/{context}"] = {"lsd_gap": float(np.mean(distances)),
                                                "seconds_per_gap": seconds}
            click.echo(f"gap {gap_ms:g} ms, context {context}: LSD in the gap "
                       f"{np.mean(distances):.3f}, {seconds:.2f} s per gap")
    if out is not None:
        out.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
