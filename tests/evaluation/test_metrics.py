import math

import numpy as np
import pytest
import torch

from evaluation import metrics

RATE = 48000


@pytest.fixture
def noise() -> np.ndarray:
    """One second of seeded white noise ``[1, 48000]`` (every STFT bin far above the 1e-8 floor)."""
    return np.random.default_rng(0).normal(0.0, 0.1, (1, RATE)).astype(np.float64)


def test_identical_signals_score_zero_and_infinite(noise):
    assert metrics.lsd(noise, noise) == 0.0
    assert metrics.lsd_hf(noise, noise, RATE, 4000) == 0.0
    assert metrics.log_mel_distance(noise, noise, RATE) == 0.0
    assert metrics.snr(noise, noise) == math.inf
    assert metrics.si_sdr(noise, noise) > 200  # float rounding only
    assert metrics.loudness_difference(noise, noise, RATE) == 0.0


def test_known_gain_gives_known_lsd_snr_and_loudness(noise):
    gain = 0.5
    # every bin's power scales by gain^2, so each log10 difference is 2 log10(gain)
    expected_lsd = abs(2 * math.log10(gain))
    assert metrics.lsd(gain * noise, noise) == pytest.approx(expected_lsd, rel=1e-9)
    assert metrics.lsd_lf(gain * noise, noise, RATE, 8000) == pytest.approx(expected_lsd, rel=1e-9)
    assert metrics.log_mel_distance(gain * noise, noise, RATE) == pytest.approx(expected_lsd)
    # the error is (1 - gain) * ref: SNR = -20 log10(1 - gain)
    assert metrics.snr(gain * noise, noise) == pytest.approx(-20 * math.log10(1 - gain))
    # a pure gain is invisible to SI-SDR
    assert metrics.si_sdr(gain * noise, noise) > 100
    assert metrics.loudness_difference(gain * noise, noise, RATE) == pytest.approx(
        20 * math.log10(gain), abs=1e-6
    )


def test_lsd_of_constant_against_silence_matches_hand_computation():
    # Periodic Hann of 2048 sums to 1024 and has one-sided bin 1 of -512; all other bins of a
    # constant are 0 and clamp to 1e-8, as does every bin of the silent reference.
    level = 0.25
    estimate = np.full((1, 8192), level)
    reference = np.zeros((1, 8192))
    d0 = math.log10((1024 * level) ** 2) + 8
    d1 = math.log10((512 * level) ** 2) + 8
    expected = math.sqrt((d0**2 + d1**2) / 1025)
    assert metrics.lsd(estimate, reference) == pytest.approx(expected, rel=1e-6)
    # low band = bins below 170 (4 kHz at 48 kHz): same squares over 170 bins
    assert metrics.lsd_lf(estimate, reference, RATE, 4000) == pytest.approx(
        math.sqrt((d0**2 + d1**2) / 170), rel=1e-6
    )
    assert metrics.lsd_hf(estimate, reference, RATE, 4000) == pytest.approx(0.0, abs=1e-9)


def test_cutoff_bin_follows_nuwave2_rule():
    # NU-Wave 2: int(1025 * r / 48000) for input rate r
    for input_rate in (8000, 12000, 16000, 22050, 24000):
        assert metrics.cutoff_bin(input_rate / 2, RATE) == int(1025 * input_rate / 48000)
    assert metrics.cutoff_bin(8000, 16000) == 1025


def test_removed_high_band_shows_in_lsd_hf_only(noise):
    from restore import dsp

    low = dsp.lowpass(torch.from_numpy(noise).float()[None], 8000.0, RATE, transition_hz=500)[0]
    low = low.double().numpy()
    # above 8.25 kHz the estimate is ~ -100 dB below the reference: about 10 decades of power
    cutoff = 8300.0
    assert metrics.lsd_hf(low, noise, RATE, cutoff) > 5.0
    assert metrics.lsd_lf(low, noise, RATE, 7700.0) < 0.05


def test_frames_overlapping_a_gap():
    # centres at t * 512, windows of 2048: a one-sample gap at 5000 touches frames 8..11
    selected = metrics.frames_overlapping([(5000, 5001)], RATE)
    assert torch.nonzero(selected).flatten().tolist() == [8, 9, 10, 11]
    assert selected.shape[0] == RATE // 512 + 1


def test_gap_scores_see_only_the_gap(noise):
    damaged = noise.copy()
    damaged[:, 24000:24480] = 0.0
    gap = [(24000, 24480)]
    assert metrics.snr(damaged, noise, gap) == pytest.approx(0.0)
    assert metrics.snr(damaged, noise, [(0, 20000)]) == math.inf
    assert metrics.lsd_in_regions(damaged, noise, gap) > metrics.lsd(damaged, noise)


def test_si_sdr_of_reference_plus_orthogonal_noise(noise):
    other = np.random.default_rng(1).normal(size=noise.shape)
    reference = noise - noise.mean()
    other = other - other.mean()
    other -= (other * reference).sum() / (reference**2).sum() * reference  # orthogonalise
    other *= 0.1 * np.linalg.norm(reference) / np.linalg.norm(other)  # 20 dB below
    assert metrics.si_sdr(reference + other, reference) == pytest.approx(20.0, abs=1e-6)
    assert metrics.si_sdr(3 * (reference + other), reference) == pytest.approx(20.0, abs=1e-6)


def test_flux_discontinuity_flags_a_zeroed_gap_but_not_continuous_material(noise):
    joins = [20000, 30000]
    assert metrics.flux_discontinuity(noise, joins, reference=noise) < 1.5
    damaged = noise.copy()
    damaged[:, 20000:30000] = 0.0
    assert metrics.flux_discontinuity(damaged, joins, reference=noise) > 5.0


def test_multichannel_averages_channels(noise):
    stereo = np.concatenate([noise, noise[:, ::-1].copy()])
    estimate = stereo * np.array([[0.5], [1.0]])
    assert metrics.lsd(estimate, stereo) == pytest.approx(abs(math.log10(0.25)) / 2, rel=1e-9)


def test_shape_mismatch_is_rejected(noise):
    with pytest.raises(ValueError, match="shape mismatch"):
        metrics.lsd(noise[:, :1000], noise)
