"""Spectrum-matching experiment: does pulling a fill's average spectrum towards its context help?

``python -m tools.experiments.fill_spectrum CORPUS [--split valid] [--clips 12]``
cuts one gap of each length (100/200/400 ms, positions as ``evaluation.cases``) into 4 s clips
of a corpus split, fills it with ``restore.inpaint(method="diffusion")`` (8 steps, seed 0),
then equalises the fill towards its context (:func:`match_context_spectrum`) with two gain
ranges, and prints the mean LSD over the gap's frames and the join flux of each next to AR
interpolation's. Tune on ``valid``; the test split is for the report. Result (docs/results.md):
a change of 1 % or less, so it is not part of ``restore``.

The equaliser: Welch power spectra (20 ms segments) of the context (up to 0.25 s or the gap's
length on each side) and of the fill, each smoothed over a third of an octave; their ratio,
clamped to ``[floor_db, ceiling_db]``, becomes a linear-phase FIR (``scipy.signal.firwin2``)
applied to the fill, crossfaded in over 5 ms at each edge.
"""

from __future__ import annotations

import click
import numpy as np
from scipy import signal

import restore
from evaluation.cases import build_cases, load_test_clips
from evaluation.metrics import flux_discontinuity, lsd_in_regions
from restore.checkpoint import load_model
from restore.classical.ar import ar_inpaint
from restore.config import MODEL_RATE

SETTINGS = {"cut only": (-30.0, 0.0), "cut+boost6": (-30.0, 6.0)}  # name -> (floor, ceiling) dB
SEGMENT_SECONDS, CONTEXT_SECONDS, EDGE_SECONDS, TAPS_SECONDS = 0.02, 0.25, 0.005, 0.02
SMOOTH_OCTAVES = 1 / 3


def match_context_spectrum(audio: np.ndarray, region: tuple[int, int], sample_rate: int,
                           floor_db: float, ceiling_db: float) -> np.ndarray:
    """``audio [channels, frames]`` with samples ``[start, end)`` equalised to their context."""
    start, end = region
    segment = int(SEGMENT_SECONDS * sample_rate)
    context = max(int(CONTEXT_SECONDS * sample_rate), end - start)
    sides = [side for side in (audio[:, max(0, start - context):start],
                               audio[:, end:end + context]) if side.shape[1] >= segment]
    if end - start < segment or not sides:
        return audio
    frequencies, target = _power(sides, sample_rate, segment)
    _, current = _power([audio[:, start:end]], sample_rate, segment)
    gain_db = np.clip(10 * np.log10((target + 1e-12) / (current + 1e-12)), floor_db, ceiling_db)
    fir = signal.firwin2(int(TAPS_SECONDS * sample_rate) | 1, frequencies, 10 ** (gain_db / 20),
                         fs=sample_rate)
    half = fir.size // 2
    low, high = max(0, start - half), min(audio.shape[1], end + half)
    filtered = signal.fftconvolve(audio[:, low:high], fir[None], mode="same", axes=1)
    filtered = filtered[:, start - low:end - low]
    ramp = min(int(EDGE_SECONDS * sample_rate), (end - start) // 2)
    weight = np.ones(end - start)
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    weight[:ramp], weight[end - start - ramp:] = fade, fade[::-1]
    out = audio.copy()
    out[:, start:end] = audio[:, start:end] * (1 - weight) + filtered * weight
    return out.astype(audio.dtype, copy=False)


def _power(pieces: list[np.ndarray], sample_rate: int, segment: int):
    """Length-weighted mean Welch spectrum of ``pieces``, smoothed over ``SMOOTH_OCTAVES``."""
    total = sum(piece.shape[1] for piece in pieces)
    power = 0.0
    for piece in pieces:
        frequencies, spectrum = signal.welch(piece, sample_rate, nperseg=segment, axis=-1)
        power = power + spectrum.mean(axis=0) * piece.shape[1] / total
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    ratio, step = 2 ** (SMOOTH_OCTAVES / 2), frequencies[1]
    low = np.searchsorted(frequencies, frequencies / ratio - step / 2)
    high = np.maximum(np.searchsorted(frequencies, frequencies * ratio + step / 2, side="right"),
                      low + 1)
    return frequencies, (cumulative[high] - cumulative[low]) / (high - low)


@click.command()
@click.argument("corpus", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="valid", show_default=True)
@click.option("--clips", default=12, show_default=True)
@click.option("--gaps", default="100,200,400", show_default=True)
def main(corpus: str, split: str, clips: int, gaps: str) -> None:
    model = load_model(None, "cpu")
    references = load_test_clips(corpus, clips, 4.0, seed=0, split=split)
    cases = build_cases(references, 0, gap_ms=tuple(float(v) for v in gaps.split(",")),
                        bandwidth_rates=(), mp3=False, transition_seconds=())
    rows: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for case in cases:
        start, end = case.region
        filled = restore.inpaint(case.degraded, MODEL_RATE,
                                 [(start / MODEL_RATE, end / MODEL_RATE)], model=model, steps=8,
                                 seed=0, device="cpu", method="diffusion")
        mask = np.zeros(case.reference.shape[-1], bool)
        mask[start:end] = True
        outputs = {"model": filled, "ar": ar_inpaint(case.degraded, mask, MODEL_RATE)}
        for name, (floor_db, ceiling_db) in SETTINGS.items():
            outputs[name] = match_context_spectrum(filled, (start, end), MODEL_RATE, floor_db,
                                                   ceiling_db)
        for name, output in outputs.items():
            rows.setdefault(case.condition, {}).setdefault(name, []).append(
                (lsd_in_regions(output, case.reference, [case.region]),
                 flux_discontinuity(output, [start, end], case.reference)))
    for condition, table in rows.items():
        ar = float(np.mean([lsd for lsd, _ in table["ar"]]))
        click.echo(f"{condition} ({len(table['ar'])} clips, {split}): AR {ar:.3f}")
        for name, values in table.items():
            lsd, flux = np.mean(values, axis=0)
            click.echo(f"  {name:12s} LSD {lsd:.3f}  x AR {lsd / ar:.3f}  join flux {flux:.2f}")


if __name__ == "__main__":
    main()
