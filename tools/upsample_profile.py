"""Where a CPU upsample spends its time: ``cProfile`` around one ``restore.upsample`` of the
bench's synthetic 16 kHz input (:func:`evaluation.bench.tiled`) to 48 kHz (issue 14).

    python -m tools.upsample_profile --seconds 60 --steps 8
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time

import click

import restore
from evaluation.bench import UPSAMPLE_INPUT_RATE, tiled
from restore.tasks.sampler import SamplingOptions


@click.command()
@click.option("--seconds", default=60.0, show_default=True, help="Input length.")
@click.option("--steps", default=8, show_default=True)
@click.option("--rows", default=40, show_default=True, help="Profile rows printed.")
def main(seconds: float, steps: int, rows: int) -> None:
    audio = tiled(seconds, UPSAMPLE_INPUT_RATE)
    model = SamplingOptions(steps=steps, device="cpu").loaded().model
    load = os.getloadavg()[0]
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    restore.upsample(audio, UPSAMPLE_INPUT_RATE, rate=48_000, cutoff_hz=UPSAMPLE_INPUT_RATE / 2,
                     model=model, steps=steps, device="cpu")
    profile.disable()
    wall = time.perf_counter() - start
    click.echo(f"wall {wall:.1f} s, {seconds / wall:.3f} x real time, load average "
               f"{load:.1f} -> {os.getloadavg()[0]:.1f}")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(rows)


if __name__ == "__main__":
    main()
