"""CPU time of ``restore.declick`` on crackle added to real music (issue 12's speed bar).

The bench's synthetic music hides the crackle under its own noise (nothing is repaired), so
this script builds the honest load: the first 8 music clips of a corpus split (4 s each) tiled
to ``--seconds`` per channel (the right channel in the opposite order), independent crackle as
the evaluation's ``crackle`` case added to each channel, then times one ``restore.declick``
(one process) or, with ``--cli``, one ``restore declick`` command on it written as a float WAV
(blocks in one process per core).

    python -m tools.declick_speed --corpus corpus --seconds 300 [--cli]
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
import soundfile as sf

import restore
from evaluation.repair_cases import add_clicks, load_clips_of_kind
from restore.config import MODEL_RATE


def cpu_seconds() -> float:
    """This process's CPU time and that of its finished children (the command's workers)."""
    return sum(usage.ru_utime + usage.ru_stime for usage in
               (resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN)))


def declick_command(audio: np.ndarray) -> np.ndarray:
    """``restore declick`` on ``audio [channels, frames]`` through a float WAV."""
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "crackly.wav", Path(folder) / "out"
        sf.write(source, audio.T, MODEL_RATE, subtype="FLOAT")
        out.mkdir()
        subprocess.run([sys.executable, "-m", "restore", "-q", "declick", str(source), "-o",
                        f"{out}/", "--method", "classical"], check=True)
        return sf.read(out / "crackly.wav", dtype="float64", always_2d=True)[0].T


@click.command()
@click.option("--corpus", required=True, help="Corpus folder (data_prep format).")
@click.option("--seconds", default=300.0, show_default=True, help="Length per channel.")
@click.option("--split", default="valid", show_default=True, help="Corpus split of the music.")
@click.option("--cli", is_flag=True, help="Time the command (a file) instead of the API.")
def main(corpus: str, seconds: float, split: str, cli: bool) -> None:
    music = load_clips_of_kind(corpus, 8, 4.0, seed=1, speech=False, split=split)
    frames = int(seconds * MODEL_RATE)
    clean = np.stack([np.resize(np.concatenate([clip[0] for clip in order]), frames)
                      for order in (music, music[::-1])])
    rng = np.random.default_rng(0)
    damaged = [add_clicks(row[None], "crackle", rng) for row in clean]
    audio = np.concatenate([row for row, _ in damaged])
    start_cpu, start_wall = cpu_seconds(), time.time()
    if cli:
        repaired = declick_command(audio)
    else:
        repaired = restore.declick(audio, MODEL_RATE, method="classical")
    cpu, wall = cpu_seconds() - start_cpu, time.time() - start_wall

    def snr(estimate: np.ndarray) -> float:
        return float(10 * np.log10(np.sum(clean.astype(np.float64) ** 2)
                                   / np.sum((estimate - clean.astype(np.float64)) ** 2)))

    clicks = sum(len(found) for _, found in damaged)
    click.echo(f"{seconds:g} s stereo, {clicks} clicks: {cpu:.1f} s CPU, {wall:.1f} s wall, "
               f"{3600 / seconds * cpu:.0f} s CPU per hour; SNR {snr(audio):.1f} -> "
               f"{snr(repaired):.1f} dB")


if __name__ == "__main__":
    main()
