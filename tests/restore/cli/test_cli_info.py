"""``restore info`` numbers on a synthetic file, labels, and the batch helpers behind commands."""

from __future__ import annotations

import json
import re

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy import signal

from restore.cli import cli
from restore.cli.batch import InputItem, collect_inputs, output_for
from tests.helpers import restore_in_process

RATE = 44_100


@pytest.fixture
def damaged(tmp_path, rng):
    """44.1 kHz stereo, 16 kHz-band-limited noise, two 20 ms digital dropouts, a clipped burst."""
    taps = signal.firwin(2047, 16_000, fs=RATE, window=("kaiser", 12.0))
    audio = 0.2 * signal.lfilter(taps, 1, rng.standard_normal((2, 6 * RATE)), axis=1)
    audio[:, 2 * RATE:2 * RATE + 882] = 0
    audio[:, 4 * RATE:4 * RATE + 882] = 0
    audio[:, 5 * RATE:5 * RATE + 100] = 1.0
    path = tmp_path / "tape.wav"
    sf.write(path, audio.T, RATE, subtype="PCM_24")
    return path, audio


@pytest.mark.slow
def test_info_json_and_labels(tmp_path, damaged):
    path, audio = damaged
    labels = tmp_path / "tape.txt"
    result = CliRunner().invoke(cli, ["info", "--json", "--labels", str(labels), str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)[0]
    assert (report["container"], report["subtype"], report["channels"]) == ("WAV", "PCM_24", 2)
    assert report["duration_seconds"] == pytest.approx(6.0)
    assert report["peak_dbfs"] == pytest.approx(0.0, abs=0.01)
    assert report["clipped_share"] == pytest.approx(200 / audio.size, rel=0.01)
    assert report["cutoff_hz"] == pytest.approx(16_000, abs=250)
    assert report["nyquist_hz"] == RATE / 2
    starts = [item["start"] for item in report["dropouts"]]
    assert starts == [pytest.approx(2.0, abs=1e-4), pytest.approx(4.0, abs=1e-4)]
    assert report["dropouts"][0]["end"] == pytest.approx(2.02, abs=1e-4)
    expected = pyloudnorm.Meter(RATE).integrated_loudness(sf.read(path)[0])
    assert report["loudness_lufs"] == pytest.approx(expected, abs=0.02)
    lines = labels.read_text().splitlines()
    assert lines == ["2.000000\t2.020000\tdropout candidate",
                     "4.000000\t4.020000\tdropout candidate"]
    again = CliRunner().invoke(cli, ["info", "--labels", str(labels), str(path)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_info_text_output(damaged):
    path, _ = damaged
    result = CliRunner().invoke(cli, ["info", str(path)])
    assert result.exit_code == 0
    assert "16.1 kHz of 22.1 kHz (band-limited: drops" in result.output
    assert "2 candidates" in result.output and "0:00:02.000 - 0:00:02.020" in result.output


def clipped_sine(path, rate: int = 48_000) -> float:
    """1 s of a 0.9-amplitude sine as PCM_16, clipped at +16384 (-6.02 dBFS) and -8192
    (-12.04 dBFS); returns the share of samples at those two levels."""
    t = np.arange(rate) / rate
    audio = np.clip(np.round(0.9 * 32767 * np.sin(2 * np.pi * 441 * t)), -8192, 16384)
    sf.write(path, audio.astype(np.int16), rate, subtype="PCM_16")
    return float(np.mean((audio == 16384) | (audio == -8192)))


def clicky_tones(path, positions, rate: int = 48_000) -> None:
    """2 s of three quiet partials with one decaying click (6 samples, peak 0.3, alternating
    sign) at each of ``positions`` (frames)."""
    t = np.arange(2 * rate) / rate
    audio = sum(0.15 / k * np.sin(2 * np.pi * 196 * k * t + k) for k in (1, 2, 3))
    for index, position in enumerate(positions):
        audio[position:position + 6] += (-1) ** index * 0.3 * np.exp(-np.arange(6) / 2)
    sf.write(path, audio, rate, subtype="PCM_24")


def test_info_reports_clip_levels_and_clicks(tmp_path):
    clipped, clicky = tmp_path / "clipped.wav", tmp_path / "clicky.wav"
    at_levels = clipped_sine(clipped)
    positions = [5_000 + 11_000 * index for index in range(8)]
    clicky_tones(clicky, positions)
    result = restore_in_process("info", str(clipped), str(clicky))
    first, second = result.output.split(f"{clicky}\n")
    assert ("  full scale 0.0000 % of samples at or above -0.009 dBFS\n"
            f"  clipping   {100 * at_levels:.4f} % of samples at the detected clip levels: "
            "ch1 -6.02 / -12.04 dBFS (+ / -)\n  clicks     0\n") in first
    assert "  clipping   no clip level found\n" in second
    clicks = int(re.search(r"^  clicks +(\d+)$", second, re.MULTILINE).group(1))
    assert abs(clicks - len(positions)) <= 1


def test_collect_inputs(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.wav", "a/b/two.FLAC", "a/b/.hidden.wav", "a/notes.txt", "three.mp3"):
        (tmp_path / name).write_bytes(b"x")
    items = collect_inputs([tmp_path / "a", tmp_path / "three.mp3", tmp_path / "a/one.wav"],
                           recursive=True)
    assert [(item.path.relative_to(tmp_path).as_posix(), item.relative.as_posix())
            for item in items] == [("a/b/two.FLAC", "b/two.FLAC"), ("a/one.wav", "one.wav"),
                                   ("three.mp3", "three.mp3")]
    flat = collect_inputs([tmp_path / "a"], recursive=False)
    assert flat == [InputItem(tmp_path / "a", tmp_path.joinpath("a").relative_to(tmp_path))]


def test_output_for(tmp_path):
    item = InputItem(tmp_path / "in" / "reel1" / "a.wav", tmp_path.joinpath("reel1", "a.wav")
                     .relative_to(tmp_path))
    out = tmp_path / "out"
    assert output_for(item, out, several=True, suffix="_x") == out / "reel1" / "a_x.wav"
    assert output_for(item, tmp_path / "one.flac", several=False) == tmp_path / "one.flac"
    assert output_for(item, None, several=False) == item.path.with_name("a_restored.wav")
    mp3 = InputItem(tmp_path / "song.mp3", tmp_path.joinpath("song.mp3").relative_to(tmp_path))
    assert output_for(mp3, out, several=True) == out / "song.wav"
    out.mkdir()
    assert output_for(item, out, several=False) == out / "reel1" / "a.wav"


@pytest.mark.slow
def test_labels_for_several_files_go_into_a_folder(tmp_path, damaged):
    path, audio = damaged
    second = tmp_path / "other.flac"
    sf.write(second, audio.T, RATE, subtype="PCM_16")
    result = CliRunner().invoke(cli, ["info", "--labels", str(tmp_path / "labels"), str(path),
                                      str(second)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == ["other.labels.txt",
                                                                      "tape.labels.txt"]
    assert (tmp_path / "labels" / "other.labels.txt").read_text().count("\n") == 2
