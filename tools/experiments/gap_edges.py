"""Gap-edge experiment: the model's inpainting with and without its post-processing steps.

``python -m tools.experiments.gap_edges CORPUS [--clips 10] [--gap 0.4]`` takes every 25th
test clip of ``CORPUS`` (2 s each at 48 kHz), cuts one centred gap and fills it (8 steps, seed 0)
in four ways: the raw model (``restore.diffusion.generate``), the raw model with the AR edge
blend only, the task path ``restore.inpaint(method="diffusion")`` (band matching + edge blend),
and AR interpolation. Prints the mean gap LSD and join flux (evaluation.metrics) of each.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import soundfile as sf
import torch

import restore
from evaluation.metrics import flux_discontinuity, lsd_in_regions
from restore.checkpoint import load_model
from restore.classical.ar import ar_inpaint
from restore.config import MODEL_RATE
from restore.diffusion import generate
from restore.tasks.inpaint import blend_edges_with_ar

CLIP_FRAMES = 2 * MODEL_RATE


def load_clips(corpus: Path, count: int) -> np.ndarray:
    """``[count, 1, CLIP_FRAMES]`` float32 from the test split (every 25th clip)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    clips = [clip for clip in manifest["clips"] if clip["split"] == "test"][::25][:count]
    return np.stack([sf.read(corpus / clip["shard"], start=clip["offset"], frames=CLIP_FRAMES,
                             dtype="float32")[0][None] for clip in clips])


def score(name: str, filled: np.ndarray, reference: np.ndarray, gap: tuple[int, int]) -> str:
    pairs = list(zip(filled, reference, strict=True))
    lsd = np.mean([lsd_in_regions(out, ref, [gap]) for out, ref in pairs])
    flux = np.mean([flux_discontinuity(torch.as_tensor(out), list(gap), torch.as_tensor(ref))
                    for out, ref in pairs])
    return f"{name:28s} gap LSD {lsd:.3f}  join flux {flux:.2f}"


@click.command()
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--clips", default=10, show_default=True)
@click.option("--gap", "gap_seconds", default=0.4, show_default=True)
def main(corpus: Path, clips: int, gap_seconds: float) -> None:
    reference = load_clips(corpus, clips)
    first = (CLIP_FRAMES - int(gap_seconds * MODEL_RATE)) // 2
    gap = (first, first + int(gap_seconds * MODEL_RATE))
    gap_mask = np.zeros(CLIP_FRAMES, dtype=bool)
    gap_mask[gap[0]:gap[1]] = True
    degraded = np.where(gap_mask, 0.0, reference).astype(np.float32)
    model = load_model(None)
    count = len(reference)
    raw = generate(model.denoiser, torch.from_numpy(degraded), torch.from_numpy(~gap_mask).float()
                   .expand(count, 1, -1).contiguous(), torch.zeros(count, dtype=torch.long),
                   torch.full((count,), MODEL_RATE / 2), steps=8, sampler="dpmpp_2m",
                   generator=torch.Generator().manual_seed(0)).numpy()
    masks = np.repeat(gap_mask[None], count, axis=0)
    seconds = [(gap[0] / MODEL_RATE, gap[1] / MODEL_RATE)]
    task_path = np.stack([restore.inpaint(item, MODEL_RATE, seconds, model=model, steps=8,
                                          device="cpu", method="diffusion") for item in degraded])
    ar = np.stack([ar_inpaint(item, gap_mask, MODEL_RATE) for item in degraded])
    click.echo(score("raw model", raw, reference, gap))
    click.echo(score("raw model + AR edge blend", blend_edges_with_ar(raw, degraded, masks,
                                                                      MODEL_RATE), reference, gap))
    click.echo(score("restore.inpaint (diffusion)", task_path, reference, gap))
    click.echo(score("AR interpolation", ar, reference, gap))


if __name__ == "__main__":
    main()
