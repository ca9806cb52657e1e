"""Measure issue 16's upsampling bars on the bandwidth test set (docs/io.md).

    python -m tools.bandwidth_testset build DIR        # first
    python -m tools.upsample_checks below DIR --steps 2   # LSD below 0.9 x the input's Nyquist
    python -m tools.upsample_checks codecs DIR         # MP3/AAC: generated band vs the decode

``below``: each source (renders, sonic-pi samples, game music) is cut to SECONDS, resampled
down to 8, 16 and 22.05 kHz (sox, very high quality), upsampled back to the source's rate by
``restore.upsample`` with the shipped model, and compared with the source: LSD (NU-Wave 2,
``evaluation.metrics``) over the bins below 0.9 x the low rate's Nyquist, leaving out the first
and last ``TRIM_SECONDS`` (where every resampler rings at the excerpt's cut). Bar: <= 0.05. That
band is the input's whatever the model generates above it, so ``--steps 2`` measures the same
as the default 8 steps in a quarter of the time.

``codecs``: every MP3/AAC decode of the test set that the estimator calls band-limited is
upsampled at its own rate with the model (``--cutoff`` as estimated, so the model always runs);
LSD above the estimated cutoff against the source, for the output and for the decode itself,
up to the source's own edge (the game music is itself a Vorbis decode, silent above 18 kHz).
Bars: output <= decode on every file, mean ratio <= 0.6. The last column is what the command
does by default: where the content just below the edge is fainter than
``GENERATE_MIN_EDGE_DBFS`` it keeps the decode (ratio 1).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import restore
from evaluation.metrics import cutoff_bin, lsd_per_frame
from restore.checkpoint import load_model
from restore.cutoff import estimate_bandwidth
from restore.tasks.bandwidth import band_plan

ROOT = Path(__file__).resolve().parents[1]

SECONDS = 4.0
START_SECONDS = 1.0
SOURCES = ("flute_fluidr3.wav", "harp_fluidr3.wav", "choir_fluidr3.wav", "strings_fluidr3.wav",
           "piano_fluidr3.wav", "guitar_fluidr3.wav", "loop_amen_full.wav", "ambi_choir.wav",
           "game_music.wav", "piano_pp.wav")
LOW_RATES = (8000, 16_000, 22_050)
TRIM_SECONDS = 0.25


def excerpt(path: Path) -> tuple[np.ndarray, int]:
    """``SECONDS`` from ``START_SECONDS`` in (earlier in a shorter file; all of a short one)."""
    info = sf.info(path)
    rate = info.samplerate
    start = min(START_SECONDS, max(0.0, info.duration - SECONDS))
    audio, _ = sf.read(path, start=int(start * rate), frames=int(SECONDS * rate),
                       always_2d=True, dtype="float32")
    return audio.T, rate


def resample_sox(audio: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as temp:
        sf.write(f"{temp}/in.wav", audio.T, rate, subtype="FLOAT")
        subprocess.run(["sox", f"{temp}/in.wav", "-r", str(new_rate), f"{temp}/out.wav",
                        "rate", "-v"], check=True, capture_output=True)
        return sf.read(f"{temp}/out.wav", always_2d=True, dtype="float32")[0].T


def band_lsd(estimate: np.ndarray, reference: np.ndarray, rate: int, low_hz: float,
             high_hz: float) -> float:
    frames = min(estimate.shape[1], reference.shape[1])
    low, high = cutoff_bin(low_hz, rate), cutoff_bin(high_hz, rate)
    return float(lsd_per_frame(estimate[:, :frames], reference[:, :frames], low, high).mean())


def below(folder: Path, model, steps: int | None, only: list[str] | None = None,
          rates: list[int] | None = None) -> None:
    print("| source | input rate | estimate of the input | LSD below 0.9 x Nyquist |")
    print("| --- | --- | --- | --- |")
    worst = 0.0
    for name in only or SOURCES:
        source, rate = excerpt(folder / name)
        for low_rate in rates or LOW_RATES:
            low = resample_sox(source, rate, low_rate)
            estimate = estimate_bandwidth(low, low_rate)
            out = restore.upsample(low, low_rate, rate, model=model, device="cpu", steps=steps)
            trim = int(TRIM_SECONDS * rate)
            value = band_lsd(out[:, trim:-trim], source[:, trim:-trim], rate, 0.0,
                             0.9 * low_rate / 2)
            worst = max(worst, value)
            shown = "full band" if not estimate.band_limited else f"{estimate.cutoff_hz:.0f} Hz"
            print(f"| {name} | {low_rate} Hz | {shown} | {value:.4f} |", flush=True)
    print(f"\nworst {worst:.4f} (bar 0.05)")


def codecs(folder: Path, model, steps: int | None, first: int = 0) -> None:
    entries = json.loads((folder / "manifest.json").read_text())
    print("| decode | estimated cutoff | level below it | LSD above it: decode | model | ratio "
          "| by default |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    ratios, defaults = [], []
    for index, entry in enumerate(entries):
        if not ("MP3" in entry["kind"] or "AAC" in entry["kind"]) or index < first:
            continue
        decode, rate = excerpt(folder / entry["file"])
        source, _ = excerpt(folder / entry["source"])
        estimate = estimate_bandwidth(sf.read(folder / entry["file"], always_2d=True)[0].T, rate)
        if not estimate.band_limited:
            print(f"| {entry['file']} | full band: left as it is | | | | | |")
            continue
        out = restore.upsample(decode, rate, rate, cutoff_hz=estimate.cutoff_hz, model=model,
                               device="cpu", steps=steps)
        top = estimate_bandwidth(sf.read(folder / entry["source"], always_2d=True)[0].T,
                                 rate).cutoff_hz
        kept = band_lsd(decode, source, rate, estimate.cutoff_hz, top)
        made = band_lsd(out, source, rate, estimate.cutoff_hz, top)
        ratios.append(made / kept)
        generate = band_plan(rate, rate, estimate.cutoff_hz, estimate.edge_level_dbfs).generate
        defaults.append(made / kept if generate else 1.0)
        print(f"| {entry['file']} | {estimate.cutoff_hz:.0f} Hz | "
              f"{estimate.edge_level_dbfs:.0f} dBFS | {kept:.3f} | {made:.3f} | "
              f"{made / kept:.2f} | {'generated' if generate else 'decode kept'} |", flush=True)
    print(f"\nmodel everywhere: mean ratio {np.mean(ratios):.3f} (bar 0.6), worst "
          f"{np.max(ratios):.3f} (bar 1.0); by default: mean {np.mean(defaults):.3f}, worst "
          f"{np.max(defaults):.3f}; {len(ratios)} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["below", "codecs"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--steps", type=int, default=None, help="sampler steps (model's default)")
    parser.add_argument("--only", nargs="*", default=None, help="below: these sources only")
    parser.add_argument("--rates", nargs="*", type=int, default=None, help="below: these rates")
    parser.add_argument("--first", type=int, default=0,
                        help="codecs: start at this manifest entry (resume a run)")
    arguments = parser.parse_args()
    model = load_model(None, device="cpu")
    if arguments.action == "below":
        below(arguments.folder, model, arguments.steps, arguments.only, arguments.rates)
    else:
        codecs(arguments.folder, model, arguments.steps, arguments.first)


if __name__ == "__main__":
    main()
