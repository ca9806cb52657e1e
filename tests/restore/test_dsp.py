import torch

from restore import dsp


def _band_energy(audio: torch.Tensor, rate: int, low_hz: float, high_hz: float) -> torch.Tensor:
    spectrum = torch.fft.rfft(audio * torch.hann_window(audio.shape[-1]))
    freqs = torch.fft.rfftfreq(audio.shape[-1], 1 / rate)
    band = (freqs >= low_hz) & (freqs < high_hz)
    return spectrum[..., band].abs().pow(2).sum(-1)


def test_crossover_takes_each_band_from_its_source():
    torch.manual_seed(0)
    rate = 16000
    low, high = torch.randn(1, 1, 16000), torch.randn(1, 1, 16000)
    both = dsp.crossover(low, high, 4000.0, rate)[..., 2000:-2000]
    low, high = low[..., 2000:-2000], high[..., 2000:-2000]
    # below the transition band the result is `low`, above it `high`
    assert _band_energy(both - low, rate, 0, 3500) < 1e-6 * _band_energy(low, rate, 0, 3500)
    assert _band_energy(both - high, rate, 4500, 8000) < 1e-6 * _band_energy(high, rate, 4500, 8000)
    same = dsp.crossover(low, low, torch.tensor([3000.0]), rate)
    assert torch.allclose(same, low, atol=1e-5)


def test_lowpass_removes_high_band_by_90_db():
    rate = 48000
    t = torch.arange(rate, dtype=torch.float64) / rate  # float64 time: a clean test tone
    tone = torch.sin(2 * torch.pi * 15000 * t).reshape(1, 1, -1).float()
    out = dsp.lowpass(tone, torch.tensor([4000.0]), rate)
    assert out.shape == tone.shape
    assert out[..., 1000:-1000].abs().max() < 10 ** (-90 / 20)
    passband = torch.sin(2 * torch.pi * 1000 * t).reshape(1, 1, -1).float()
    kept = dsp.lowpass(passband, 4000.0, rate)
    assert (kept - passband)[..., 1000:-1000].abs().max() < 1e-3


def test_lowpass_per_item_cutoff_and_short_input():
    audio = torch.randn(3, 2, 37)
    out = dsp.lowpass(audio, torch.tensor([1000.0, 2000.0, 3000.0]), 8000)
    assert out.shape == audio.shape and torch.isfinite(out).all()


def test_resample_length_and_tone():
    t = torch.arange(16000) / 16000
    tone = torch.sin(2 * torch.pi * 1000 * t).reshape(1, -1)
    up = dsp.resample(tone, 16000, 48000)
    assert up.shape[-1] == 48000
    ref = torch.sin(2 * torch.pi * 1000 * torch.arange(48000) / 48000)
    assert (up[0, 1000:-1000] - ref[1000:-1000]).abs().max() < 1e-3


def test_fades():
    out_eq, in_eq = dsp.equal_power_fades(100)
    assert torch.allclose(out_eq**2 + in_eq**2, torch.ones(100))
    out_rc, in_rc = dsp.raised_cosine_fades(100)
    assert torch.allclose(out_rc + in_rc, torch.ones(100))


def _plain_lowpass(audio: torch.Tensor, cutoff_hz, rate: int) -> torch.Tensor:
    """lowpass as it was before the planned filter: torchaudio's fftconvolve, kernel per call."""
    import torchaudio.functional as taf

    kernel = dsp.lowpass_kernel(cutoff_hz, rate)
    half = kernel.shape[-1] // 2
    padded = dsp._reflect_pad(audio, half)
    return taf.fftconvolve(padded, kernel, mode="valid")[..., :audio.shape[-1]]


def test_planned_lowpass_matches_the_plain_convolution():
    torch.manual_seed(1)
    audio = torch.randn(3, 1, 12_345)
    cutoff = torch.tensor([4000.0, 8000.0, 12000.0])
    split = dsp.Lowpass(cutoff, 48_000, audio.shape[-1])
    torch.testing.assert_close(split(audio), _plain_lowpass(audio, cutoff, 48_000),
                               atol=1e-5, rtol=0)
    high = torch.randn_like(audio)
    torch.testing.assert_close(dsp.planned_crossover(audio, high, split),
                               dsp.crossover(audio, high, cutoff, 48_000), atol=1e-5, rtol=0)


def test_fast_fft_length_is_5_smooth_and_smallest():
    def smooth(n: int) -> bool:
        for prime in (2, 3, 5):
            while n % prime == 0:
                n //= prime
        return n == 1

    for length in (1, 2, 7, 97, 1000, 1025, 123_457):
        found = dsp.fast_fft_length(length)
        assert found >= length and smooth(found)
        assert not any(smooth(n) for n in range(length, found))
