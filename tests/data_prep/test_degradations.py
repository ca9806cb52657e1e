"""Every degradation on synthetic signals: asserted properties, seeding, devices."""

from __future__ import annotations

import math

import pytest
import torch

from data_prep import degradations as deg

RATE = 48_000


def noise_batch(batch: int = 4, seconds: float = 0.5, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(batch, 1, int(seconds * RATE), generator=generator)


def band_energy_db(audio: torch.Tensor, reference: torch.Tensor, above_hz: torch.Tensor):
    """Per item: energy of ``audio`` above ``above_hz`` relative to ``reference``'s total (dB),
    from Hann-windowed spectra."""
    window = torch.hann_window(audio.shape[-1], periodic=False)
    power = torch.fft.rfft(audio[:, 0] * window).abs().pow(2)
    total = torch.fft.rfft(reference[:, 0] * window).abs().pow(2).sum(-1)
    freqs = torch.fft.rfftfreq(audio.shape[-1], 1.0 / RATE)
    above = (power * (freqs.view(1, -1) > above_hz.view(-1, 1))).sum(-1)
    return 10 * torch.log10(above / total + 1e-30)


def test_zero_gaps_exact_and_mask_matches():
    clean = noise_batch()
    record: dict = {}
    degraded, mask = deg.gaps(clean, torch.Generator().manual_seed(1), fills=("zero",),
                              record=record)
    assert mask.shape == (4, 1, clean.shape[-1])
    assert torch.all(degraded[mask.expand_as(degraded) == 0] == 0)
    assert torch.equal(degraded[mask.expand_as(degraded) == 1], clean[mask.expand_as(clean) == 1])
    lengths = record["gap_lengths"]
    used = lengths[lengths > 0]
    assert used.min() >= round(0.001 * RATE) and used.max() <= RATE
    for item in range(4):  # the mask is 0 exactly on the union of the recorded intervals
        expected = torch.ones(clean.shape[-1])
        for start, length in zip(record["gap_starts"][item], lengths[item], strict=True):
            expected[start:start + length] = 0
        assert torch.equal(mask[item, 0], expected)


def test_hold_gap_repeats_last_reliable_sample():
    clean = noise_batch()
    record: dict = {}
    degraded, mask = deg.gaps(clean, torch.Generator().manual_seed(2), fills=("hold",),
                              max_count=1, record=record)
    for item in range(4):
        start = int(record["gap_starts"][item, 0])
        length = int(record["gap_lengths"][item, 0])
        held = clean[item, 0, start - 1] if start > 0 else torch.tensor(0.0)
        assert torch.all(degraded[item, 0, start:start + length] == held)
        assert torch.all(mask[item, 0, start:start + length] == 0)


def test_noise_gap_level():
    clean = noise_batch(seconds=1.0)
    record: dict = {}
    degraded, mask = deg.gaps(clean, torch.Generator().manual_seed(3), fills=("noise",),
                              min_seconds=0.2, max_seconds=0.4, max_count=1, record=record)
    for item in range(4):
        inside = degraded[item, 0][mask[item, 0] == 0]
        rms = inside.pow(2).mean().sqrt()
        assert abs(float(rms / record["noise_rms"][item]) - 1) < 0.1
        assert rms < 10 ** (-44 / 20)


def test_transition_single_middle_with_context():
    clean = noise_batch(seconds=3.0)
    degraded, mask = deg.transition(clean, torch.Generator().manual_seed(4))
    for item in range(4):
        missing = (mask[item, 0] == 0).nonzero().flatten()
        assert 0.3 * RATE <= len(missing) <= 2.0 * RATE + 1
        assert missing[-1] - missing[0] + 1 == len(missing)  # one contiguous run
        assert missing[0] >= 0.1 * RATE and missing[-1] < clean.shape[-1] - 0.1 * RATE
    assert torch.all(degraded[mask.expand_as(degraded) == 0] == 0)


def test_lowpass_filters_remove_everything_above_cutoff():
    clean = noise_batch(batch=16)
    record: dict = {}
    degraded, mask = deg.lowpass_filters(clean, torch.Generator().manual_seed(5), record=record)
    assert torch.all(mask == 1)
    cutoff = record["cutoff_hz"]
    assert cutoff.min() >= 2000 and cutoff.max() <= 20000
    assert len(set(record["prototype"].tolist())) > 4  # varied filter shapes
    assert torch.all(band_energy_db(degraded, clean, cutoff * 1.02) < -60)
    # the band well below the edge passes (within the prototypes' ripple and roll-off)
    assert torch.all(band_energy_db(degraded, clean, torch.zeros(16)) > -20)


def test_resample_down_up_band_limits():
    clean = noise_batch(batch=24)
    record: dict = {}
    degraded, _ = deg.resample_down_up(clean, torch.Generator().manual_seed(6), record=record)
    cutoff = record["cutoff_hz"]
    assert set(cutoff.tolist()) <= {rate / 2 for rate in deg.RESAMPLE_RATES}
    level = band_energy_db(degraded, clean, cutoff * 1.02)
    good = ~record["cheap_resampler"]
    assert torch.all(level[good] < -60)
    assert torch.all(level[~good] < -40)


def test_clipping_level_exact():
    clean = noise_batch()
    record: dict = {}
    degraded, mask = deg.clipping(clean, torch.Generator().manual_seed(7), record=record)
    level = record["clip_level"]
    assert torch.allclose(degraded.abs().amax(dim=(1, 2)), level)
    assert torch.equal(mask[:, 0] == 0, clean[:, 0].abs() >= level.view(-1, 1))
    assert torch.equal(degraded[mask.bool()], clean[mask.bool()])


def test_hiss_snr_matches_record():
    clean = noise_batch()
    record: dict = {}
    degraded, mask = deg.hiss(clean, torch.Generator().manual_seed(8), record=record)
    noise = degraded - clean
    snr = 10 * torch.log10(clean.pow(2).mean((1, 2)) / noise.pow(2).mean((1, 2)))
    assert torch.allclose(snr, record["snr_db"], atol=0.05)
    assert torch.all(mask == 1)


def test_hum_is_at_mains_frequency():
    clean = torch.zeros(2, 1, RATE) + 1e-3 * noise_batch(2, 1.0)
    record: dict = {}
    degraded, _ = deg.hum(clean, torch.Generator().manual_seed(9), record=record)
    spectrum = torch.fft.rfft((degraded - clean)[:, 0]).abs()
    peak_hz = spectrum[:, 1:].argmax(-1) + 1  # 1 Hz bins
    mains = record["mains_hz"]
    harmonic = peak_hz / mains
    assert torch.all((harmonic - harmonic.round()).abs() < 0.05)


def test_clicks_only_inside_masked_samples():
    clean = noise_batch()
    degraded, mask = deg.clicks(clean, torch.Generator().manual_seed(10))
    change = (degraded - clean).abs()
    assert torch.all(change[mask.expand_as(change) == 1] < 1e-6)
    assert (mask == 0).any()
    _, crackle_mask = deg.crackle(clean, torch.Generator().manual_seed(10))
    assert (crackle_mask == 0).sum() > (mask == 0).sum()


def test_wow_flutter_zero_depth_is_identity():
    clean = noise_batch()
    same, _ = deg.wow_flutter(clean, torch.Generator().manual_seed(11), wow_depth=(0.0, 0.0),
                              flutter_depth=(0.0, 0.0))
    assert torch.allclose(same, clean, atol=1e-6)
    tone = torch.sin(2 * math.pi * 1000 * torch.arange(RATE) / RATE).view(1, 1, -1)
    warped, _ = deg.wow_flutter(tone, torch.Generator().manual_seed(11),
                                wow_depth=(0.003, 0.003))
    assert (warped - tone).abs().max() > 0.1


ALL = [deg.gaps, deg.transition, deg.lowpass_filters, deg.resample_down_up, deg.clipping,
       deg.hiss, deg.hum, deg.clicks, deg.crackle, deg.wow_flutter]


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_same_seed_same_output(function):
    clean = noise_batch(batch=3, seconds=1.0)
    first = function(clean, torch.Generator().manual_seed(42))
    second = function(clean, torch.Generator().manual_seed(42))
    other = function(clean, torch.Generator().manual_seed(43))
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(first[0], other[0])
    assert first[0].shape == clean.shape and first[1].shape == (3, 1, clean.shape[-1])
    assert torch.equal(clean, noise_batch(batch=3, seconds=1.0))  # input untouched


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_runs_on_cuda(function):
    clean = noise_batch(batch=3, seconds=1.0).cuda()
    degraded, mask = function(clean, torch.Generator(device="cuda").manual_seed(0))
    assert degraded.device.type == "cuda" and mask.device.type == "cuda"


def test_codec_really_band_limits():
    clean = noise_batch(batch=4, seconds=1.0)
    record: dict = {}
    degraded, mask = deg.codec_band_limit(clean, torch.Generator().manual_seed(12), record=record)
    assert torch.all(mask == 1)
    cutoff = record["cutoff_hz"]
    assert torch.all(cutoff <= record["encoder_rate"] / 2)
    assert torch.all(cutoff < 20_000)  # white noise through a lossy codec loses its top
    assert torch.all(band_energy_db(degraded, clean, cutoff) < -35)
    # the kept band still resembles the input (same signal, not a mute or a shifted copy)
    kept = torch.stack([(degraded[i] * clean[i]).sum() / clean[i].pow(2).sum() for i in range(4)])
    assert torch.all(kept > 0.2)


def test_join_for_transition_between_sources():
    first, second = noise_batch(2, 0.2, seed=1), noise_batch(2, 0.3, seed=2)
    degraded, mask = deg.join_for_transition(first, second, gap_samples=4800)
    assert degraded.shape == (2, 1, first.shape[-1] + 4800 + second.shape[-1])
    assert torch.equal(degraded[..., : first.shape[-1]], first)
    assert torch.equal(degraded[..., -second.shape[-1]:], second)
    assert torch.all(degraded[..., first.shape[-1]:first.shape[-1] + 4800] == 0)
    assert int((mask == 0).sum()) == 2 * 4800
