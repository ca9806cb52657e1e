"""method="auto" for inpainting: AR below AUTO_CLASSICAL_BELOW_SECONDS, the model above."""

import numpy as np
import pytest

import restore
from restore.checkpoint import random_model
from restore.tasks.inpaint import AUTO_CLASSICAL_BELOW_SECONDS

RATE = 16_000


@pytest.fixture(scope="module")
def model():
    return random_model(seed=0)


@pytest.fixture
def audio():
    t = np.arange(3 * RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1250 * t)
    return tone.astype(np.float32)[None]


def test_short_gap_is_filled_by_ar(audio, model):
    gap = [(1.0, 1.0 + AUTO_CLASSICAL_BELOW_SECONDS / 3)]
    auto, regions = restore.inpaint(audio, RATE, gap, model=model, steps=1, device="cpu",
                                    return_regions=True)
    classical = restore.inpaint(audio, RATE, gap, method="classical")
    np.testing.assert_array_equal(auto, classical)
    assert [region["method"] for region in regions] == ["classical"]


def test_long_gap_is_filled_by_the_model(audio, model):
    gap = [(1.0, 1.0 + AUTO_CLASSICAL_BELOW_SECONDS * 1.5)]
    auto, regions = restore.inpaint(audio, RATE, gap, model=model, steps=1, device="cpu",
                                    seed=3, return_regions=True)
    diffusion = restore.inpaint(audio, RATE, gap, model=model, steps=1, device="cpu", seed=3,
                                method="diffusion")
    np.testing.assert_array_equal(auto, diffusion)
    assert [region["method"] for region in regions] == ["diffusion"]
    assert not np.array_equal(auto, restore.inpaint(audio, RATE, gap, method="classical"))


def test_close_gaps_never_leak_damaged_samples():
    """Two gaps closer than the crossfade margin: no damaged sample may reach the output."""
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((1, 16_000))).astype(np.float32)
    audio[:, 1600:2400] = 100.0
    audio[:, 2402:3200] = 100.0
    gaps = [(1600 / RATE, 2400 / RATE), (2402 / RATE, 3200 / RATE)]
    out = restore.inpaint(audio, RATE, gaps, method="classical")
    assert np.abs(out).max() < 2.0
    np.testing.assert_array_equal(out[:, :1500], audio[:, :1500])
    np.testing.assert_array_equal(out[:, 3300:], audio[:, 3300:])


def _band_energy(audio: np.ndarray, rate: int, low_hz: float, high_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[-1]))) ** 2
    freqs = np.fft.rfftfreq(audio.shape[-1], 1 / rate)
    return float(spectrum[..., (freqs >= low_hz) & (freqs < high_hz)].sum())


@pytest.mark.parametrize("method", ["diffusion", "classical"])
def test_fill_is_no_brighter_than_its_context(method, model):
    """Context band-limited at 6 kHz: the fill has (almost) nothing above it.

    The untrained test model fills with broadband noise, so for "diffusion" this fails unless
    the fill is low-passed to the context's measured bandwidth (match_context_band).
    """
    import torch

    from restore import dsp

    rate = 48_000
    noise = np.random.default_rng(1).standard_normal((1, 1, 2 * rate)).astype(np.float32)
    audio = (0.2 * dsp.lowpass(torch.from_numpy(noise), 6000.0, rate)[0]).numpy()
    gap = (0.8, 1.2)
    out = restore.inpaint(audio, rate, [gap], model=model, steps=2, device="cpu", method=method)
    fill = out[0, int(gap[0] * rate):int(gap[1] * rate)]
    assert _band_energy(fill, rate, 8000, 24000) < 1e-3 * _band_energy(fill, rate, 0, 5000)
