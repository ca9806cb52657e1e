"""Constant memory: converting a 20-minute file costs no more memory than converting a 1-second one.

The long file (48 kHz stereo 16-bit, 230 MB on disk, 460 MB as float32) is generated in blocks
in a temporary folder. Each conversion runs the real CLI in a fresh process, which reports its
own peak RSS; a reader or writer that held the file would exceed the bound by hundreds of MB.
"""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest
import soundfile as sf

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 48_000
LONG_SECONDS = 20 * 60
BOUND_MB = 150

PEAK_RSS_SCRIPT = """
import resource, sys
from restore.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="restore")
except SystemExit as stop:
    assert not stop.code, stop.code
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # KiB -> MiB on Linux
"""


def write_long(path, seconds: int) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", RATE, 2, "PCM_16") as handle:
        for _ in range(0, seconds, 10):
            handle.write(rng.integers(-8000, 8000, (10 * RATE, 2), dtype=np.int16))


def peak_rss_mb(*args) -> int:
    result = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, *map(str, args)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # stdout is a pipe, not a terminal: no progress bar, even on this run of several seconds
    assert result.stderr == ""
    return int(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_long_file_converts_in_constant_memory(tmp_path):
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, np.zeros((RATE, 2), np.int16), RATE, subtype="PCM_16")
    write_long(long, LONG_SECONDS)
    baseline = peak_rss_mb("-q", "convert", short, "-o", tmp_path / "short_out.wav")
    peak = peak_rss_mb("convert", long, "-o", tmp_path / "long_out.wav")
    assert sf.info(tmp_path / "long_out.wav").frames == LONG_SECONDS * RATE
    assert peak - baseline < BOUND_MB, (baseline, peak)


@pytest.mark.slow
def test_info_reads_in_constant_memory(tmp_path):
    # A whole-file analysis of 6 minutes would hold 6 * 60 * 48000 * 2 float64 = 276 MB more
    # than one of 1 minute; block-wise analysis costs the same for both.
    short, long = tmp_path / "one_minute.wav", tmp_path / "six_minutes.wav"
    write_long(short, 60)
    write_long(long, 360)
    baseline = peak_rss_mb("-q", "info", short)
    peak = peak_rss_mb("-q", "info", long)
    assert peak - baseline < 100, (baseline, peak)  # run-to-run noise is tens of MiB


def write_long_pyav(path, seconds: int) -> None:
    """A Matroska file of 16-bit PCM: read through PyAV (decoded into a temporary file), like
    an M4A or MP3, but quick to make; the reader's memory does not depend on the codec."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=RATE, layout="stereo")
        for start in range(0, seconds, 10):
            samples = rng.integers(-8000, 8000, (1, 2 * 10 * RATE), dtype=np.int16)
            frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = RATE, start * RATE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.slow
def test_pyav_input_converts_in_constant_memory(tmp_path):
    short, long = tmp_path / "short.mka", tmp_path / "long.mka"
    write_long_pyav(short, 10)
    write_long_pyav(long, LONG_SECONDS)
    baseline = peak_rss_mb("-q", "convert", short, "-o", tmp_path / "short_out.wav")
    peak = peak_rss_mb("-q", "convert", long, "-o", tmp_path / "long_out.wav")
    assert sf.info(tmp_path / "long_out.wav").frames == LONG_SECONDS * RATE
    assert peak - baseline < BOUND_MB, (baseline, peak)
