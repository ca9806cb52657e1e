"""Does ``--detect`` leave pauses alone and still find dropouts? (docs/usage.md, issue 16)

    python -m tools.detect_checks DIR [--old COMMIT]

Material: espeak-ng speech (two sentences, 22.05 kHz) and FluidSynth piano and flute melodies
with rests (48 kHz), each with its pauses gated 40 dB below the peak (5 ms frames, 20 ms hold)
to digital silence ("zero") and to 16-bit TPDF dither ("dither"). Counted: dropout candidates
on the gated files (every one is a false alarm), then six dropouts of 5-200 ms written into
loud passages of each ungated file (found if a candidate starts within 10 ms). ``--old``
also counts with ``restore.analysis`` at an earlier commit.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from restore.analysis import find_dropouts
from tools.bandwidth_testset import old_estimator, render

ROOT = Path(__file__).resolve().parents[1]

SENTENCES = ("The archive holds recordings of speech and music. Some of them were made on tape, "
             "others on lacquer discs, and a few on wire. Each one is catalogued and copied.",
             "Please listen carefully. Numbers follow: one, two, three, four, five. Then a "
             "pause, and the end.")
DROPOUT_SECONDS = (0.005, 0.02, 0.05, 0.1, 0.2, 0.01)


def make(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, text in enumerate(SENTENCES):
        path = folder / f"speech{index + 1}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
        paths.append(path)
    for name, program in (("piano", 0), ("flute", 73)):
        render(folder / f"{name}.wav", program, "fluidr3", velocity=60, rests=True)
        paths.append(folder / f"{name}.wav")
    return paths


def gate(audio: np.ndarray, rate: int, dither: bool, seed: int = 0) -> np.ndarray:
    """``[frames, channels]`` with 5 ms frames below peak - 40 dB (held 20 ms) replaced."""
    frame = int(0.005 * rate)
    whole = audio.shape[0] // frame * frame
    level = 10 * np.log10((audio[:whole] ** 2).reshape(-1, frame, audio.shape[1])
                          .mean(axis=(1, 2)) + 1e-20)
    opened = level > level.max() - 40.0
    held = opened.copy()
    for shift in range(1, 5):
        held[shift:] |= opened[:-shift]
    closed = np.concatenate([~np.repeat(held, frame), np.zeros(audio.shape[0] - whole, bool)])
    out = audio.copy()
    noise = np.random.default_rng(seed)
    out[closed] = ((noise.random(out[closed].shape) - noise.random(out[closed].shape)) / 32768
                   if dither else 0.0)
    return out


def with_dropouts(audio: np.ndarray, rate: int, seed: int) -> tuple[np.ndarray, list[float]]:
    frame = int(0.005 * rate)
    whole = audio.shape[0] // frame * frame
    level = 10 * np.log10((audio[:whole] ** 2).reshape(-1, frame, audio.shape[1])
                          .mean(axis=(1, 2)) + 1e-20)
    loud = np.flatnonzero(level > np.median(level[level > -90]))
    starts: list[int] = []
    for index in np.random.default_rng(seed).permutation(loud):
        start = int(index) * frame
        if 0.3 * rate < start < audio.shape[0] - 0.5 * rate and all(
                abs(start - other) > 0.5 * rate for other in starts):
            starts.append(start)
        if len(starts) == len(DROPOUT_SECONDS):
            break
    out = audio.copy()
    for start, seconds in zip(sorted(starts), DROPOUT_SECONDS, strict=False):
        out[start:start + int(seconds * rate)] = 0.0
    return out, [start / rate for start in sorted(starts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--old", default=None)
    arguments = parser.parse_args()
    finders = {"now": find_dropouts}
    if arguments.old:
        finders["before"] = old_estimator(arguments.old, "find_dropouts")
    print("| file | gated to | candidates: " + " | ".join(finders) + " |")
    print("| --- | --- |" + " --- |" * len(finders))
    recall = []
    for path in make(arguments.folder):
        audio, rate = sf.read(path, always_2d=True)
        for mode in ("zero", "dither"):
            gated = np.round(gate(audio, rate, mode == "dither") * 32768) / 32768
            counts = [str(len(find(gated.T, rate))) for find in finders.values()]
            print(f"| {path.name} | {mode} | " + " | ".join(counts) + " |")
        damaged, truth = with_dropouts(audio, rate, seed=5)
        found = find_dropouts(damaged.T, rate)
        hits = sum(any(abs(start - item[0]) < 0.01 for item in found) for start in truth)
        recall.append(f"{path.name} {hits} of {len(truth)}")
    print("\nDropouts of " + ", ".join(f"{1000 * s:g}" for s in DROPOUT_SECONDS)
          + " ms found: " + "; ".join(recall))


if __name__ == "__main__":
    main()
