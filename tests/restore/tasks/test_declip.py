"""Clipping detection and declipping: levels, the observation's constraint, exactness, CLI.

The tiny random model only checks the diffusion path's mechanics (constraint, exactness).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import restore
from restore.classical.clip_detect import ClipScanner, clipped_mask, detect_clipping
from restore.classical.declip import (
    SPADE,
    SPADE_LONG,
    choose_settings,
    compaction,
    spade_declip,
    spline_declip,
    window_samples,
)
from tests.helpers import restore_in_process, tiny_model_file

RATE = 16_000


def harmonic(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """``[frames]`` float64: a few partials with vibrato-free envelopes, peak 0.9."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    audio = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * 220 * k * t + rng.uniform(0, 6))
                for k in range(1, 6))
    audio *= 0.75 + 0.25 * np.sin(2 * np.pi * 1.3 * t)
    return 0.9 * audio / np.max(np.abs(audio))


def voiced(seconds: float, rate: int = RATE) -> np.ndarray:
    """``[frames]``: speech-like pulses (pitch gliding 80-200 Hz, one resonance) in syllables
    of about 170 ms with pauses between them."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 60 * np.sin(2 * np.pi * 3 * t)
    pulses = np.diff(np.floor(np.cumsum(pitch) / rate), prepend=0.0)
    audio = scipy.signal.lfilter([1.0], [1.0, -1.3, 0.8], pulses) * (np.sin(2 * np.pi * 3 * t) > 0)
    return 0.9 * audio / np.max(np.abs(audio))


def sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((estimate - reference) ** 2)))


def test_detects_asymmetric_levels_below_full_scale():
    clean = harmonic(1.0)
    clipped = np.clip(clean, -0.5, 0.35)
    levels = detect_clipping(np.stack([clipped, clean]))
    assert levels[0].positive == pytest.approx(0.35) and levels[0].negative == pytest.approx(-0.5)
    assert levels[0].dbfs() == (pytest.approx(-9.12, abs=0.01), pytest.approx(-6.02, abs=0.01))
    assert not levels[1].clipped  # the clean channel: its peak is reached once
    mask = clipped_mask(np.stack([clipped, clean]), levels)
    np.testing.assert_array_equal(mask[0], (clean >= 0.35) | (clean <= -0.5))
    assert not mask[1].any()


def test_a_few_samples_at_the_peak_are_not_clipping():
    clean = harmonic(1.0)
    peak = np.argmax(clean)
    clean[peak - 1:peak + 2] = clean[peak]  # a flat top of three samples, once
    assert not detect_clipping(clean[None])[0].clipped


def test_streaming_scanner_matches_whole_array():
    clipped = np.clip(harmonic(2.0), -0.4, 0.4)
    scanner = ClipScanner(1)
    for start in range(0, clipped.shape[0], 1000):  # runs cross block edges
        scanner.update(clipped[None, start:start + 1000])
    assert scanner.result() == detect_clipping(clipped[None])


@pytest.mark.parametrize("declipper", ["spade", "spline"])
def test_constraint_and_exactness(declipper):
    clean = harmonic(0.5)
    clipped = np.clip(clean, -0.45, 0.4)[None]
    mask = (clipped >= 0.4) | (clipped <= -0.45)
    restored = (spade_declip(clipped, mask, RATE) if declipper == "spade"
                else spline_declip(clipped, mask))
    np.testing.assert_array_equal(restored[~mask], clipped.astype(np.float32)[~mask])
    positive, negative = mask & (clipped > 0), mask & (clipped < 0)
    assert np.all(restored[positive] >= np.float32(0.4))
    assert np.all(restored[negative] <= np.float32(-0.45))


def test_spade_improves_sdr_and_beats_the_spline():
    clean = harmonic(1.0, seed=2)
    level = 0.45
    clipped = np.clip(clean, -level, level)[None]
    mask = np.abs(clipped) >= level
    spade = spade_declip(clipped, mask, RATE)[0]
    spline = spline_declip(clipped, mask)[0]
    before = sdr(clipped[0], clean)
    assert sdr(spade, clean) > before + 5
    assert sdr(spade, clean) > sdr(spline, clean) + 2


def test_block_length_follows_the_signal():
    tones, speech = harmonic(2.0), voiced(2.0)
    long_window, short_window = window_samples(SPADE_LONG, RATE), window_samples(SPADE, RATE)
    assert compaction(tones, long_window) < compaction(tones, short_window)
    assert compaction(speech, long_window) > compaction(speech, short_window)
    # the choice is made on the clipped input, where it must hold too
    assert choose_settings(np.clip(tones, -0.3, 0.3), RATE) == SPADE_LONG
    assert choose_settings(np.clip(speech, -0.3, 0.3), RATE) == SPADE
    assert choose_settings(tones[:long_window], RATE) == SPADE  # too short to judge: short blocks
    assert compaction(np.zeros(4 * long_window), long_window) == 1.0


def test_spade_chooses_per_channel():
    clean = np.stack([harmonic(0.5, seed=3), voiced(0.5)])
    clipped = np.clip(clean, -0.4, 0.4)
    mask = np.abs(clipped) >= 0.4
    both = spade_declip(clipped, mask, RATE)
    np.testing.assert_array_equal(both[0], spade_declip(clipped[:1], mask[:1], RATE,
                                                        SPADE_LONG)[0])
    np.testing.assert_array_equal(both[1], spade_declip(clipped[1:], mask[1:], RATE, SPADE)[0])
    for channel in range(2):
        assert sdr(both[channel], clean[channel]) > sdr(clipped[channel], clean[channel]) + 3


# --- through the real command line ---------------------------------------------------------


run = restore_in_process


@pytest.fixture(scope="module")
def clipped_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("declip")
    audio = np.stack([np.clip(harmonic(1.0, seed=0), -0.5, 0.4),
                      np.clip(harmonic(1.0, seed=1), -0.3, 0.3)], axis=1)
    sf.write(folder / "clipped.wav", audio, RATE, subtype="PCM_16")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("method", ["classical", "diffusion"])
def test_cli_keeps_unclipped_samples_and_the_constraint(clipped_file, method):
    out = clipped_file / f"out_{method}.wav"
    extra = ([] if method == "classical" else
             ["--model", str(tiny_model_file(clipped_file)), "--steps", "2", "--device", "cpu"])
    run("declip", str(clipped_file / "clipped.wav"), "-o", str(out), "--method", method,
        "--subtype", "FLOAT", *extra)
    original, _ = sf.read(clipped_file / "clipped.wav", dtype="float32")
    restored, _ = sf.read(out, dtype="float32")
    levels = detect_clipping(original.T)
    mask = clipped_mask(original.T, levels).T
    np.testing.assert_array_equal(restored[~mask], original[~mask])
    assert np.all(np.abs(restored[mask]) >= np.abs(original[mask]))
    assert np.all(np.sign(restored[mask]) == np.sign(original[mask]))
    regions = json.loads(Path(f"{out}.restore.json").read_text())["generated_regions"]
    assert regions and {item["task"] for item in regions} == {"declip"}
    assert {item["method"] for item in regions} == {method}


@pytest.mark.slow
def test_cli_integer_output_warns_about_full_scale(clipped_file, tmp_path):
    loud = tmp_path / "loud.wav"
    audio, _ = sf.read(clipped_file / "clipped.wav", dtype="float32")
    sf.write(loud, audio / np.abs(audio).max(axis=0), RATE, subtype="PCM_16")
    result = run("declip", str(loud), "-o", str(tmp_path / "out.wav"), "--method", "classical")
    assert "exceed full scale" in result.stderr


def test_cli_level_option_and_errors(clipped_file, tmp_path):
    result = run("declip", str(clipped_file / "clipped.wav"), "-o", str(tmp_path / "x.wav"),
                 "--level", "loud", check=False)
    assert result.exit_code == 2 and "auto or a level in dBFS" in result.stderr
    result = run("declip", str(clipped_file / "clipped.wav"), "-o", str(tmp_path / "y.wav"),
                 "--method", "diffusion", "--model", str(tiny_model_file(tmp_path, num_tasks=3)),
                 check=False)
    assert result.exit_code == 1
    assert "the model does not know task declip" in result.stderr.strip().splitlines()[0]
    clean = tmp_path / "clean.wav"
    sf.write(clean, harmonic(0.5)[:, None], RATE, subtype="PCM_16")
    result = run("declip", str(clean), "-o", str(tmp_path / "z.wav"))
    assert "no hard clipping found" in result.stderr
    regions = json.loads((tmp_path / "z.wav.restore.json").read_text())["generated_regions"]
    assert regions == []


def test_api_declip_with_a_fixed_level():
    clean = harmonic(0.5)
    clipped = np.clip(clean, -0.5, 0.5)[None].astype(np.float32)
    restored, regions = restore.declip(clipped, RATE, level_dbfs=20 * np.log10(0.5),
                                       method="classical", return_regions=True)
    mask = np.abs(clipped) >= 0.5
    np.testing.assert_array_equal(restored[~mask], clipped[~mask])
    assert sdr(restored[0], clean) > sdr(clipped[0], clean) and regions
