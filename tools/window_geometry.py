"""Upsampling quality and speed of window geometries on the corpus's valid split (issue 14).

Long clips (``--seconds``, cut from consecutive clips of one track, as the evaluation's long
cases) are band-limited as the evaluation's ``from_<rate>Hz`` cases and upsampled back to
48 kHz through the streaming pipeline (:func:`restore.tasks.bandwidth.extend_bandwidth`) with
each geometry; long clips so that every geometry has seams (windows and batches) inside them.
Prints and writes (``--out``, JSON) the mean LSD, LSD-HF and LSD-LF per geometry and condition,
and the wall seconds of the sampling (on a shared machine only a rough guide: the bench times).

    python -m tools.window_geometry --corpus corpus --clips 4 --seconds 12 --steps 8 \\
        --geometry 1,0.25,0.25 --geometry 5,0.25,0.25 --out runs/window_geometry.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from evaluation import metrics
from evaluation.cases import bandwidth_case, load_long_test_clips
from restore.config import MODEL_RATE
from restore.tasks.bandwidth import WindowGeometry, extend_bandwidth
from restore.tasks.sampler import SamplingOptions
from restore.tasks.source import ArraySink, ArraySource


def upsample(degraded: np.ndarray, input_rate: int, cutoff_hz: float, options: SamplingOptions,
             geometry: WindowGeometry) -> np.ndarray:
    """``degraded [channels, frames]`` at ``input_rate`` -> ``[channels, n]`` at 48 kHz."""
    sink = ArraySink()
    extend_bandwidth(ArraySource(degraded, input_rate), sink, MODEL_RATE, cutoff_hz=cutoff_hz,
                     method="diffusion", options=options, geometry=geometry)
    return sink.result()


def overhead_share(geometry: WindowGeometry) -> float:
    """Share of the processed samples that are context or overlap: (2 c + o) / (w + 2 c)."""
    padded = geometry.window_seconds + 2 * geometry.context_seconds
    return (2 * geometry.context_seconds + geometry.overlap_seconds) / padded


@click.command()
@click.option("--corpus", default="corpus", show_default=True)
@click.option("--split", default="valid", show_default=True)
@click.option("--clips", default=4, show_default=True)
@click.option("--seconds", default=12.0, show_default=True, help="Length of each clip.")
@click.option("--steps", default=8, show_default=True)
@click.option("--rates", default="8000,16000", show_default=True, help="Input rates, Hz.")
@click.option("--geometry", "geometries", multiple=True, default=("1,0.25,0.25",),
              help="window,overlap,context in seconds (repeatable).")
@click.option("--batch-size", default=None, type=int, help="Windows per batch.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def main(corpus: str, split: str, clips: int, seconds: float, steps: int, rates: str,
         geometries: tuple[str, ...], batch_size: int | None, out: Path | None) -> None:
    references = load_long_test_clips(corpus, clips, seconds, seed=0, split=split)
    options = SamplingOptions(steps=steps, seed=0, device="cpu", batch_size=batch_size).loaded()
    results = []
    for text in geometries:
        geometry = WindowGeometry(*(float(value) for value in text.split(",")))
        for rate in (int(value) for value in rates.split(",")):
            values: dict[str, list[float]] = {"lsd": [], "lsd_hf": [], "lsd_lf": []}
            wall = 0.0
            for index, reference in enumerate(references):
                case = bandwidth_case(reference, index, rate, mp3_like=False)
                start = time.perf_counter()
                output = upsample(case.degraded, rate, case.input_band_hz, options, geometry)
                wall += time.perf_counter() - start
                values["lsd"].append(metrics.lsd(output, reference))
                values["lsd_hf"].append(metrics.lsd_hf(output, reference, MODEL_RATE,
                                                       case.cutoff_hz))
                values["lsd_lf"].append(metrics.lsd_lf(output, reference, MODEL_RATE,
                                                       case.cutoff_hz))
            row = {"geometry": text, "overhead_share": round(overhead_share(geometry), 4),
                   "condition": f"from_{rate}Hz", "wall_seconds": round(wall, 2),
                   "audio_seconds": seconds * len(references),
                   **{name: float(np.mean(list_)) for name, list_ in values.items()},
                   "per_clip": values}
            results.append(row)
            print(f"{text:>16} {row['condition']:>13}  lsd {row['lsd']:.4f}  lsd_hf "
                  f"{row['lsd_hf']:.4f}  lsd_lf {row['lsd_lf']:.4f}  wall {wall:.1f} s", flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"split": split, "clips": clips, "seconds": seconds,
                                   "steps": steps, "results": results}, indent=1))


if __name__ == "__main__":
    main()
