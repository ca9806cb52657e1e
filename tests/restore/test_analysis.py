"""restore.analysis on synthetic signals whose peak, loudness, bandwidth and dropouts are known."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from restore import analysis

RATE = 48_000


def noise(rng, seconds: float, rate: int = RATE, channels: int = 1, level: float = 0.1):
    return (level * rng.standard_normal((channels, int(seconds * rate)))).astype(np.float32)


def lowpassed_noise(rng, cutoff_hz: float, rate: int, seconds: float = 4.0) -> np.ndarray:
    taps = signal.firwin(2047, cutoff_hz, fs=rate, window=("kaiser", 12.0))  # ~120 dB stop band
    return (0.3 * signal.lfilter(taps, 1, rng.standard_normal(int(seconds * rate))))[None]


def pink_noise(rng, seconds: float, rate: int = RATE) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(int(seconds * rate)))
    frequency = np.fft.rfftfreq(int(seconds * rate), 1 / rate)
    pink = np.fft.irfft(spectrum / np.sqrt(np.maximum(frequency, 20.0)))
    return (0.5 * pink / np.abs(pink).max())[None]


def test_peak_and_clipping():
    t = np.arange(RATE) / RATE
    audio = (0.5 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32)
    assert analysis.peak_dbfs(audio) == pytest.approx(-6.0206, abs=1e-3)
    assert analysis.peak_dbfs(np.zeros((2, 10))) == float("-inf")
    clipped = np.clip(1.5 * np.sin(2 * np.pi * 440 * t), -1, 1)[None]
    expected = np.mean(np.abs(1.5 * np.sin(2 * np.pi * 440 * t)) >= 0.999)
    assert analysis.clipped_share(clipped) == pytest.approx(expected)
    assert 0.5 < analysis.clipped_share(clipped) < 0.6
    assert analysis.clipped_share(audio) == 0.0


def test_loudness_of_a_minus_20_dbfs_sine_is_about_minus_23_lufs():
    # BS.1770: a 1 kHz sine at 0 dBFS in one channel reads -3.01 LUFS (K-weighting ~0 dB at 1k)
    t = np.arange(5 * RATE) / RATE
    audio = (0.1 * np.sin(2 * np.pi * 997 * t))[None]
    assert analysis.loudness_lufs(audio, RATE) == pytest.approx(-23.01, abs=0.1)


def test_streaming_loudness_equals_pyloudnorm(rng):
    audio = noise(rng, 6.3, channels=2) * np.linspace(0.05, 2.0, int(6.3 * RATE))
    reference = pyloudnorm.Meter(RATE).integrated_loudness(audio.T.astype(np.float64))
    analyzer = analysis.Analyzer(RATE, 2)
    for block in np.array_split(audio, [1000, 50_000, 50_001, 200_000], axis=1):
        analyzer.add(block)
    assert analyzer.loudness() == pytest.approx(reference, abs=0.02)
    assert analysis.loudness_lufs(np.zeros((1, RATE)), RATE) == float("-inf")


@pytest.mark.parametrize("cutoff_hz,rate", [(16_000, 44_100), (8_000, 48_000), (4_000, 16_000),
                                            (11_025, 48_000)])
def test_cutoff_of_band_limited_noise(rng, cutoff_hz, rate):
    estimate = analysis.estimate_cutoff_hz(lowpassed_noise(rng, cutoff_hz, rate), rate)
    assert estimate == pytest.approx(cutoff_hz, abs=250)


def test_full_band_signals_report_nyquist(rng):
    assert analysis.estimate_cutoff_hz(noise(rng, 2.0), RATE) == RATE / 2
    assert analysis.estimate_cutoff_hz(pink_noise(rng, 4.0), RATE) == RATE / 2


def test_dropouts_silence_inside_programme_only(rng):
    audio = noise(rng, 4.0, channels=2)
    audio[:, : RATE // 2] = 0  # leading silence: not a dropout
    audio[:, -RATE // 4:] = 0  # trailing silence: not a dropout
    audio[:, 96_000:96_480] = 0  # 10 ms
    audio[:, 144_000:144_030] = 0  # 0.6 ms: shorter than the 1 ms minimum
    audio[0, 120_000:121_000] = 0  # one channel only: the other still plays
    found = analysis.find_dropouts(audio, RATE)
    assert found == [pytest.approx((2.0, 2.01))]


def test_sudden_drop_is_found_but_a_slow_fade_is_not(rng):
    audio = noise(rng, 3.0)
    audio[:, 72_000:74_400] *= 1e-3  # 50 ms, 60 dB down: a tape-style dropout
    found = analysis.find_dropouts(audio, RATE)
    assert len(found) == 1
    assert found[0][0] == pytest.approx(1.5, abs=0.006) and found[0][1] == pytest.approx(
        1.55, abs=0.006)
    # fades 60 dB down and back up twice a second: deep, but not sudden
    fade_db = -60 * (0.5 - 0.5 * np.cos(2 * np.pi * 2 * np.arange(3 * RATE) / RATE))
    assert analysis.find_dropouts(noise(rng, 3.0) * 10 ** (fade_db / 20), RATE) == []


def test_block_wise_analysis_matches_whole_signal(rng):
    audio = noise(rng, 3.0, channels=2)
    audio[:, 50_000:50_960] = 0
    audio[:, 100_000:102_400] *= 1e-4
    whole = analysis.Analyzer.single(audio, RATE)
    blocks = analysis.Analyzer(RATE, 2)
    for block in np.split(audio, [20_000, 50_500, 101_000, 101_001], axis=1):  # cuts in both
        blocks.add(block)
    assert blocks.dropouts() == whole.dropouts()
    assert len(whole.dropouts()) == 2
    assert blocks.peak_dbfs() == whole.peak_dbfs()
    assert blocks.clipped_share() == whole.clipped_share()


def test_mp3_decode_is_recognised_as_band_limited(tmp_path, rng):
    import soundfile as sf

    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3")
    path = tmp_path / "noise.mp3"
    sf.write(path, 0.2 * rng.standard_normal((3 * 44_100, 1)), 44_100, format="MP3",
             subtype="MPEG_LAYER_III")
    decoded = sf.read(path, dtype="float32", always_2d=True)[0].T
    # LAME low-passes 128 kbit/s 44.1 kHz material at about 17.5 kHz
    assert 15_000 < analysis.estimate_cutoff_hz(decoded, 44_100) < 19_500


def test_small_blocks_still_measure_bandwidth(rng):
    audio = lowpassed_noise(rng, 8_000, RATE, seconds=2.0)
    analyzer = analysis.Analyzer(RATE, 1)
    for block in np.array_split(audio, 400, axis=1):  # 240-frame blocks, below one segment
        analyzer.add(block)
    assert analyzer.cutoff_hz() == pytest.approx(8_000, abs=250)


def test_zero_crossings_of_quiet_audio_are_not_kept(rng):
    # quiet 8-bit material hits exact zero every few samples: none of that is a dropout, and
    # the streaming analyzer must not keep one record per zero sample
    audio = np.round(noise(rng, 10.0, level=0.02) * 128) / 128
    audio[:, 240_000:240_480] = 0  # one real 10 ms dropout
    analyzer = analysis.Analyzer(RATE, 1)
    for block in np.array_split(audio, 50, axis=1):
        analyzer.add(block)
    assert np.mean(audio == 0) > 0.1
    assert len(analyzer.silent_runs) < 5
    assert analyzer.dropouts() == [pytest.approx((5.0, 5.01), abs=0.001)]  # + adjacent zeros
