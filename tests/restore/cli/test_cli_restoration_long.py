"""A 2-hour recording goes through ``restore inpaint`` with memory bounded by the window batch.

The file (2 h, 16 kHz mono, 16-bit: 230 MB; 460 MB as float32) is generated block by block in a
temp folder. The run uses the diffusion method with an untrained tiny model and 1 sampler step,
so it finishes in seconds: only the windows around the 3 gaps are sampled and the rest is
streamed through. Peak RSS of the command is compared with the same command (same three gap
lengths) on a 1-minute file; holding the whole recording would add at least 230 MB. Peak RSS of
the same command varies by about +-50 MiB from run to run (allocator arenas, thread pools), so
the margin is 150 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import tiny_model_file

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 16000
MEASURE = ("import resource, subprocess, sys; "
           "code = subprocess.run(sys.argv[1:]).returncode; "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


def write_long(path: Path, seconds: int) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", RATE, 1, "PCM_16") as handle:
        for start in range(0, seconds, 60):
            t = (np.arange(60 * RATE) + start * RATE) / RATE
            block = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.shape)
            handle.write(block.astype(np.float32))


def peak_rss_mib(args: list[str]) -> float:
    """Peak resident memory (MiB) of ``restore ARGS`` run as its own process."""
    # same thread pool and allocator arenas on any machine: both vary peak RSS by tens of MiB
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MALLOC_ARENA_MAX": "2"}
    result = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "restore",
                             *args], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1]) / 1024  # ru_maxrss is KiB on Linux


def test_two_hour_file_inpaints_with_bounded_memory(tmp_path):
    model_file = tiny_model_file(tmp_path)
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    write_long(long, 2 * 3600)
    write_long(short, 60)
    common = ["--model", str(model_file), "--steps", "1", "--device", "cpu"]
    baseline = peak_rss_mib(["inpaint", str(short), "-o", str(tmp_path / "short_out.wav"),
                             "--gap", "0:10-0:10.5", "--gap", "0:30-0:31", "--gap", "0:50-0:50.25",
                             *common])
    out = tmp_path / "long_out.wav"
    peak = peak_rss_mib(["inpaint", str(long), "-o", str(out), "--gap", "0:10:00-0:10:00.5",
                         "--gap", "1:00:00-1:00:01", "--gap", "1:59:00-1:59:00.25", *common])
    assert sf.info(str(out)).frames == 2 * 3600 * RATE
    regions = json.loads(Path(f"{out}.restore.json").read_text())["generated_regions"]
    assert [round(item["start"]) for item in regions] == [600, 3600, 7140]
    assert peak < baseline + 150, f"peak RSS {peak:.0f} MiB vs {baseline:.0f} MiB for 1 min"
