"""Guards on generated audio: quiet runs found block by block, the gate, the limiter, true peak."""

from __future__ import annotations

import numpy as np
import pytest

from restore.tasks import guard

RATE = 16_000


def test_quiet_runs_per_channel_across_blocks(rng):
    audio = 0.1 * rng.standard_normal((2, 3 * RATE))
    audio[:, 8000:12000] = 0.0  # 250 ms of digital silence in both channels
    audio[0, 20000:21000] = 1e-6 * rng.standard_normal(1000)  # 62.5 ms at -120 dBFS, left only
    audio[:, 30000:30400] = 0.0  # 25 ms: a pause too short to gate
    audio[1, 40000:] = 0.0  # right channel silent to the end
    survey = guard.InputSurvey(RATE, 2)
    for block in np.array_split(audio, [1234, 10_000, 10_001, 25_000], axis=1):
        survey.add(block)
    left, right = survey.quiet_runs()
    assert left == [(8000, 12000), (20000, 20960)]  # 5 ms frames: 20960-21040 plays
    assert right == [(8000, 12000), (40000, 48000)]
    assert survey.silent_channels() == (False, False)
    assert survey.true_peak >= np.abs(audio).max()


def test_dither_below_minus_90_is_quiet_and_a_silent_channel_is_found(rng):
    dither = (rng.random((1, RATE)) - rng.random((1, RATE))) / 32768  # about -96 dBFS RMS
    audio = np.concatenate([dither, np.zeros((1, RATE))])
    survey = guard.InputSurvey(RATE, 2)
    survey.add(audio)
    assert survey.silent_channels() == (True, True)
    assert survey.quiet_runs()[0] == [(0, RATE)]


def test_gate_closes_inside_runs_only_with_ramps():
    runs = [[(16000, 32000)], []]
    weights = np.concatenate([guard.gate_weights(runs, start, 10_000, RATE, 48_000, 3 * RATE)
                              for start in range(0, 144_000, 10_000)], axis=1)[:, :144_000]
    inset = int(guard.GATE_INSET_SECONDS * 48_000)
    assert np.all(weights[1] == 1.0)
    assert np.all(weights[0, 48_000 + inset:96_000 - inset] == 0.0)
    assert np.all(weights[0, :48_000 + inset // 2 - 1] == 1.0)
    assert np.all(weights[0, 96_000:] == 1.0)
    assert np.all(np.diff(weights[0, 48_000:48_000 + inset]) <= 0)


def test_limiter_keeps_the_sum_below_the_ceiling_and_leaves_quiet_parts(rng):
    base = 0.9 * np.sin(np.linspace(0, 20 * np.pi, 48_000))[None].repeat(2, 0)
    added = 0.3 * rng.standard_normal((2, 48_000))
    limited = guard.limit_added(base, added, 48_000)
    assert np.abs(base + limited).max() <= guard.CEILING + 1e-9
    over = (np.abs(base + added) > guard.CEILING).any(axis=0)
    near = np.convolve(over, np.ones(4 * 48 + 1), mode="same") > 0  # within 2 ms of an over
    assert over.any() and (~near).sum() > 2000
    np.testing.assert_array_equal(limited[:, ~near], added[:, ~near])
    untouched = guard.limit_added(0.1 * base, added * 0.1, 48_000)
    np.testing.assert_array_equal(untouched, added * 0.1)


def test_safe_gain_and_the_limiters_record():
    assert guard.safe_gain(0.5) == 1.0
    assert guard.safe_gain(1.2) * 1.2 == pytest.approx(guard.CEILING)
    limiter = guard.Limiter(RATE, 1.2)
    quiet = np.full((2, 100), 0.5)
    np.testing.assert_array_equal(limiter(quiet), quiet)
    assert limiter.record() is None
    loud = np.sin(np.linspace(0, 20 * np.pi, RATE))[None].repeat(2, 0) * 1.2
    out = limiter(loud)
    assert np.abs(out).max() <= guard.CEILING + 1e-6
    quiet_part = np.abs(loud[0]) < 0.5
    np.testing.assert_allclose(out[:, quiet_part], loud[:, quiet_part], rtol=1e-6)
    record = limiter.record()
    assert record["max_reduction_db"] == pytest.approx(1.68, abs=0.05)
    assert record["input_true_peak_dbtp"] == pytest.approx(1.584, abs=1e-3)


def test_true_peak_sees_inter_sample_peaks():
    t = np.arange(RATE) / RATE  # a sine at fs/4 sampled 45 degrees off its peaks
    audio = np.sin(2 * np.pi * RATE / 4 * t + np.pi / 4)[None]
    survey = guard.InputSurvey(RATE, 1)
    survey.add(audio)
    assert np.abs(audio).max() == pytest.approx(0.7071, abs=1e-3)
    assert survey.true_peak == pytest.approx(1.0, abs=0.02)

