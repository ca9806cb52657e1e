"""Issue 13's classical baselines: the neighbour crossfade and the similarity copy."""

import numpy as np
import pytest

from restore.classical import (
    neighbour_bridge,
    neighbour_crossfade,
    similarity_bridge,
    similarity_copy,
)
from restore.classical.similarity import find_match

RATE = 48000


def _pattern(seconds: float, period_seconds: float = 1.5, noise: float = 0.0) -> np.ndarray:
    """A repeating bar of four decaying notes ``[1, frames]`` (period ``period_seconds``)."""
    period = int(period_seconds * RATE)
    bar = np.zeros(period)
    quarter = period // 4
    time = np.arange(quarter) / RATE
    for index, frequency in enumerate((220.0, 330.0, 440.0, 550.0)):
        bar[index * quarter : (index + 1) * quarter] = (
            np.sin(2 * np.pi * frequency * time) * np.exp(-3 * time))
    audio = np.resize(bar, int(seconds * RATE))
    audio += noise * np.random.default_rng(0).standard_normal(audio.shape[0])
    return audio[None].astype(np.float32)


def _gap(frames: int, start: int, length: int) -> np.ndarray:
    mask = np.zeros(frames, dtype=bool)
    mask[start : start + length] = True
    return mask


def _snr_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((estimate - reference) ** 2)))


@pytest.mark.parametrize("fill", [neighbour_crossfade, similarity_copy])
def test_fills_keep_length_known_audio_and_are_deterministic(fill):
    audio = _pattern(6.0, noise=0.05)
    mask = _gap(audio.shape[1], int(2.2 * RATE), RATE // 2)
    damaged = audio.copy()
    damaged[:, mask] = 0.0
    first, second = fill(damaged, mask, RATE), fill(damaged, mask, RATE)
    assert first.shape == audio.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[:, ~mask], damaged[:, ~mask])
    assert np.all(np.isfinite(first)) and np.any(first[:, mask] != 0)


def test_similarity_copy_fills_a_periodic_signal_almost_perfectly():
    audio = _pattern(12.0, noise=0.003)
    start = int(5.3 * RATE)
    mask = _gap(audio.shape[1], start, RATE)
    damaged = audio.copy()
    damaged[:, mask] = 0.0
    match = find_match(damaged[0].astype(np.float64), mask, start, start + RATE, RATE)
    assert (start - match.left_source) % int(1.5 * RATE) == 0  # a whole number of bars away
    filled = similarity_copy(damaged, mask, RATE)
    assert _snr_db(filled[:, mask], audio[:, mask]) > 25.0
    neighbour = neighbour_crossfade(damaged, mask, RATE)
    assert _snr_db(neighbour[:, mask], audio[:, mask]) < 5.0  # the 1 s lag is off the bar


def test_neighbour_crossfade_is_the_documented_crossfade_and_joins_smoothly():
    audio = np.random.default_rng(1).standard_normal((2, 4 * RATE)).astype(np.float32) * 0.1
    start, length = RATE, RATE // 4
    mask = _gap(audio.shape[1], start, length)
    filled = neighbour_crossfade(audio, mask, RATE, join_seconds=0.0)
    position = (np.arange(length) + 0.5) / length
    expected = (np.cos(np.pi / 2 * position) * audio[:, start - length : start]
                + np.sin(np.pi / 2 * position) * audio[:, start + length : start + 2 * length])
    np.testing.assert_allclose(filled[:, mask], expected, atol=1e-6)
    smooth = neighbour_crossfade(audio, mask, RATE)
    for join in (start, start + length):  # the mirror fade makes each join continuous
        jump = np.abs(smooth[:, join] - smooth[:, join - 1])
        assert np.all(jump <= 3 * np.abs(np.diff(audio, axis=1)).mean())


def test_neighbour_crossfade_edges_and_short_sides():
    audio = _pattern(2.0, noise=0.01)
    for start, length in [(0, 4800), (audio.shape[1] - 4800, 4800), (1000, 20000)]:
        mask = _gap(audio.shape[1], start, length)
        filled = neighbour_crossfade(audio, mask, RATE)
        assert np.all(np.isfinite(filled)) and np.any(filled[:, mask] != 0)
    nothing = neighbour_crossfade(np.zeros((1, 100), np.float32), np.ones(100, bool), RATE)
    assert not np.any(nothing)


def test_similarity_copy_falls_back_to_the_neighbour_crossfade_without_candidates():
    audio = _pattern(1.2, noise=0.01)  # too short to hold a second 0.5 s segment and context
    mask = _gap(audio.shape[1], int(0.35 * RATE), RATE // 2)
    damaged = audio.copy()
    damaged[:, mask] = 0.0
    assert find_match(damaged[0].astype(np.float64), mask, int(0.35 * RATE),
                      int(0.85 * RATE), RATE) is None
    np.testing.assert_array_equal(similarity_copy(damaged, mask, RATE),
                                  neighbour_crossfade(damaged, mask, RATE))


def test_similarity_copy_several_gaps_and_stereo():
    audio = np.concatenate([_pattern(10.0, noise=0.01), 0.5 * _pattern(10.0, noise=0.01)])
    mask = _gap(audio.shape[1], int(3.1 * RATE), RATE // 5) | _gap(audio.shape[1], 7 * RATE, RATE)
    damaged = audio.copy()
    damaged[:, mask] = 0.0
    filled = similarity_copy(damaged, mask, RATE)
    assert _snr_db(filled[:, mask], audio[:, mask]) > 15.0


@pytest.mark.parametrize("bridge", [neighbour_bridge, similarity_bridge])
def test_bridges_have_the_bridge_length(bridge):
    audio = _pattern(8.0, noise=0.01)
    a, b = audio[:, : 3 * RATE], audio[:, 4 * RATE :]
    middle = bridge(a, b, RATE, RATE)
    assert middle.shape == (1, RATE) and np.all(np.isfinite(middle))
    if bridge is similarity_bridge:  # A and B hold whole bars: the true middle is found
        assert _snr_db(middle, audio[:, 3 * RATE : 4 * RATE]) > 15.0


def test_similarity_copy_joins_step_only_by_the_copys_own_increment():
    rng = np.random.default_rng(3)
    audio = np.cumsum(rng.standard_normal((1, 6 * RATE)), axis=1).astype(np.float32)
    audio = (audio - audio.mean()) / np.abs(audio).max()  # brown noise: no true match exists
    start, length = int(2.5 * RATE), RATE // 2
    mask = _gap(audio.shape[1], start, length)
    damaged = audio.copy()
    damaged[:, mask] = 0.0
    match = find_match(damaged[0].astype(np.float64), mask, start, start + length, RATE)
    filled = similarity_copy(damaged, mask, RATE)[0].astype(np.float64)
    source = damaged[0].astype(np.float64) * match.gain
    left_step = filled[start] - filled[start - 1]
    right_step = filled[start + length] - filled[start + length - 1]
    after = match.right_source + length
    assert left_step == pytest.approx(source[match.left_source] - source[match.left_source - 1],
                                      abs=1e-5)
    assert right_step == pytest.approx(source[after] - source[after - 1], abs=1e-5)
