import numpy as np
import pytest

from evaluation import metrics
from restore.classical import (
    ar_inpaint,
    equal_power_bridge,
    gap_runs,
    linear_interpolate,
    sinc_upsample,
    zero_fill,
)
from restore.classical.lpc import autocorrelation, burg, extrapolate, lpc

RATE = 48000


def tones(seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    """Stereo sum of three sinusoids ``[2, frames]`` float32."""
    t = np.arange(int(seconds * rate)) / rate
    left = (
        0.3 * np.sin(2 * np.pi * 440 * t)
        + 0.2 * np.sin(2 * np.pi * 1234.5 * t + 1)
        + 0.1 * np.sin(2 * np.pi * 3100 * t + 2)
    )
    return np.stack([left, 0.5 * left[::-1]]).astype(np.float32)


def mask_for(length: int, start: int, size: int) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    mask[start : start + size] = True
    return mask


def test_gap_runs_and_simple_fillers():
    mask = np.array([0, 1, 1, 0, 0, 1, 0], dtype=bool)
    assert gap_runs(mask) == [(1, 3), (5, 6)]
    audio = np.array([[1.0, 9, 9, 4, 5, 9, 7]], dtype=np.float32)
    np.testing.assert_array_equal(zero_fill(audio, mask), [[1, 0, 0, 4, 5, 0, 7]])
    np.testing.assert_allclose(linear_interpolate(audio, mask), [[1, 2, 3, 4, 5, 6, 7]])
    assert audio[0, 1] == 9  # input untouched
    edge = np.array([1, 0, 0, 0, 0, 0, 1], dtype=bool)
    np.testing.assert_allclose(linear_interpolate(audio, edge)[0, [0, 6]], [9, 9])


def test_lpc_and_burg_predict_a_sinusoid():
    t = np.arange(4000)
    signal = np.sin(2 * np.pi * 0.01 * t)
    for method in (lpc, burg):
        prediction = extrapolate(signal[:3000], method(signal[:3000], 16), 200)
        assert np.max(np.abs(prediction - signal[3000:3200])) < 0.05


def test_ar_inpaint_10ms_gap_in_sinusoids_reaches_30_db():
    audio = tones()
    gap = (20000, 20480)  # 10 ms
    mask = mask_for(audio.shape[1], gap[0], gap[1] - gap[0])
    damaged = zero_fill(audio, mask)
    restored = ar_inpaint(damaged, mask, RATE)
    assert restored.shape == audio.shape and restored.dtype == np.float32
    assert metrics.snr(restored, audio, [gap]) > 30.0
    assert metrics.snr(linear_interpolate(damaged, mask), audio, [gap]) < 5.0
    np.testing.assert_array_equal(restored[:, ~mask], audio[:, ~mask])  # known samples kept


def test_ar_inpaint_long_gap_extrapolates():
    audio = tones(3.0)
    mask = mask_for(audio.shape[1], 60000, RATE)  # 1 s gap, two channels
    restored = ar_inpaint(zero_fill(audio, mask), mask, RATE)
    assert metrics.snr(restored, audio, [(60000, 60000 + RATE)]) > 10.0
    assert np.all(np.isfinite(restored))


def test_ar_inpaint_several_gaps_and_edges():
    audio = tones(0.5)
    mask = np.zeros(audio.shape[1], dtype=bool)
    mask[:100] = mask[5000:5200] = mask[9000:9300] = mask[-50:] = True
    restored = ar_inpaint(zero_fill(audio, mask), mask, RATE)
    assert np.all(np.isfinite(restored))
    assert metrics.snr(restored, audio, [(5000, 5200), (9000, 9300)]) > 30.0


def harmonics(frames: int, rate: int = 16000) -> np.ndarray:
    """Mono sum of 15 harmonics of 220 Hz plus faint noise ``[1, frames]`` float32."""
    rng = np.random.default_rng(1)
    t = np.arange(frames) / rate
    tone = sum(0.3 / k * np.sin(2 * np.pi * 220 * k * t + rng.uniform(0, 6)) for k in range(1, 16))
    return (tone + 1e-3 * rng.standard_normal(frames))[None].astype(np.float32)


def assert_sane_fill(audio: np.ndarray, mask: np.ndarray, rate: int = 16000) -> np.ndarray:
    restored = ar_inpaint(audio, mask, rate)
    assert restored.shape == audio.shape and restored.dtype == np.float32
    assert np.all(np.isfinite(restored))
    np.testing.assert_array_equal(restored[:, ~mask], audio[:, ~mask])  # known samples kept
    # a fill never grows far past the signal's own level (blow-ups, not just NaNs, are bugs)
    assert np.max(np.abs(restored)) <= 2.0 * np.max(np.abs(audio)) + 1e-6
    return restored


def test_autocorrelation_has_max_lag_values_and_no_wrapped_lags():
    segment = np.random.default_rng(0).standard_normal(200)
    correlation = autocorrelation(segment, 1400)
    assert correlation.shape == (1401,)
    windowed = segment * np.hanning(200)
    np.testing.assert_allclose(correlation[:200], np.correlate(windowed, windowed, "full")[199:],
                               atol=1e-9)
    np.testing.assert_array_equal(correlation[200:], 0.0)  # lags past the segment, not wrapped
    assert autocorrelation(np.zeros(0), 5).shape == (6,)


def test_ar_inpaint_janssen_gap_near_file_start_regression():
    # 800-sample (Janssen) gap 200 samples from the start used to raise a broadcast ValueError
    rng = np.random.default_rng(0)
    mask = mask_for(16000, 200, 800)
    assert_sane_fill(rng.standard_normal((1, 16000)).astype(np.float32), mask)
    audio = harmonics(16000)
    restored = assert_sane_fill(audio, mask)
    assert metrics.snr(restored, audio, [(200, 1000)]) > 30.0


@pytest.mark.parametrize("start, size", [(0, 800), (16000 - 800, 800), (0, 4000),
                                         (16000 - 4000, 4000), (2, 800), (16000 - 803, 800)])
def test_ar_inpaint_gaps_at_or_near_the_edges_extrapolate_well(start, size):
    audio = harmonics(16000)
    mask = mask_for(16000, start, size)
    restored = assert_sane_fill(audio, mask)
    assert metrics.snr(restored, audio, [(start, start + size)]) > 20.0


@pytest.mark.parametrize("spans", [
    [(0, 16000)],                      # nothing known: zeros
    [(1, 15999)],                      # one known sample each side: a straight line
    [(0, 8000), (8001, 16000)],        # a single known sample in the middle
    [(0, 15999)],                      # one known sample at the end
    [(5, 805), (806, 900)],            # Janssen gaps with 5 and 1 known samples between
])
def test_ar_inpaint_almost_no_context_never_crashes(spans):
    audio = harmonics(16000)
    mask = np.zeros(16000, dtype=bool)
    for first, last in spans:
        mask[first:last] = True
    restored = assert_sane_fill(audio, mask)
    if len(spans) == 1 and spans[0] == (0, 16000):
        np.testing.assert_array_equal(restored, 0.0)
    if spans == [(1, 15999)]:
        np.testing.assert_allclose(restored[0, [1, 15998]], audio[0, 0] + np.array(
            [1, 15997]) * (audio[0, -1] - audio[0, 0]) / 15999, rtol=1e-4, atol=1e-6)


def test_ar_inpaint_close_gaps_stay_accurate():
    audio = np.concatenate([harmonics(16000), 0.5 * harmonics(16000)[:, ::-1]])
    spans = [(3000, 3100), (3101, 3300), (3302, 4000), (4003, 4400), (4500, 4560)]
    mask = np.zeros(16000, dtype=bool)
    for first, last in spans:
        mask[first:last] = True
    restored = assert_sane_fill(audio, mask)
    assert metrics.snr(restored, audio, spans) > 20.0


def test_sinc_upsample_keeps_band_and_length():
    rate = 16000
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[None]
    up = sinc_upsample(tone, rate, RATE)
    assert up.shape == (1, RATE)
    reference = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE))[None]
    assert metrics.snr(up[:, 1000:-1000], reference[:, 1000:-1000]) > 60.0


def test_equal_power_bridge_joins_both_sides_without_jumps():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 1000)).astype(np.float32)
    b = rng.normal(size=(2, 800)).astype(np.float32)
    bridge = equal_power_bridge(a, b, 500)
    assert bridge.shape == (2, 500)
    # first sample continues a (mirror of a[-2]), last continues b (mirror of b[1])
    assert bridge[:, 0] == pytest.approx(a[:, -2], abs=0.01)
    assert bridge[:, -1] == pytest.approx(b[:, 1], abs=0.01)
    # equal power: uncorrelated sides keep their level in the middle
    left, right = rng.normal(size=(1, 48000)), rng.normal(size=(1, 48000))
    long_bridge = equal_power_bridge(left, right, 20000)
    assert np.std(long_bridge[:, 9000:11000]) == pytest.approx(1.0, rel=0.1)
    with pytest.raises(ValueError):
        equal_power_bridge(a, b[:1], 10)
