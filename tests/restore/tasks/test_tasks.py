"""Restoration tasks on arrays: what is kept stays exact, stereo image, window agreement.

An untrained tiny model (``random_model``) is enough: it produces noise, but every property
tested here (bit-exact known samples, kept low band, lengths, agreement of windows) holds for
any model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import restore
from restore import dsp
from restore.checkpoint import random_model
from restore.config import ModelConfig
from restore.tasks import bandwidth as bandwidth_task
from restore.tasks import inpaint as inpaint_task
from restore.tasks.sampler import Sampler, SamplingOptions
from restore.tasks.stereo import from_components, to_components


def fast_config() -> ModelConfig:
    """Tiny and without attention, so long windows stay fast on a CPU."""
    return ModelConfig(channels=(8, 8, 16, 16), strides=(4, 4, 4), blocks=(1, 1, 1, 1),
                       kernel_size=3, dilations=(1,), bottleneck_attention=0, attention_heads=2,
                       embed_dim=16, noise_fourier=8, cutoff_fourier=4, groups=4)


@pytest.fixture(scope="module")
def model():
    return random_model(fast_config())


def music(seconds: float, rate: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Two decaying partials per channel plus a little noise: music-like test audio."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    rows = []
    for channel in range(channels):
        base = 220.0 * (1 + 0.5 * channel)
        tone = 0.3 * np.sin(2 * np.pi * base * t) + 0.15 * np.sin(2 * np.pi * 3.01 * base * t)
        rows.append(tone * (0.6 + 0.4 * np.cos(2 * np.pi * 1.5 * t)) +
                    0.02 * rng.standard_normal(t.shape))
    return np.stack(rows).astype(np.float32)


def test_components_round_trip_and_mid_is_the_mono_sum():
    audio = torch.randn(3, 2, 100)
    components = to_components(audio)
    torch.testing.assert_close(from_components(components), audio, atol=1e-6, rtol=0)
    torch.testing.assert_close(components[:, 0], audio.sum(1) / np.sqrt(2), atol=1e-6, rtol=0)
    five = torch.randn(1, 5, 50)
    torch.testing.assert_close(from_components(to_components(five)), five, atol=1e-5, rtol=0)


@pytest.mark.parametrize("method", ["diffusion", "classical"])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_inpaint_keeps_every_sample_outside_gap_and_margin(model, method, channels):
    rate = 8000
    audio = music(2.0, rate, channels)
    gaps = [(0.5, 0.56), (1.2, 1.45)]
    for start, end in gaps:
        audio[:, int(start * rate):int(end * rate)] = 0.0
    out, regions = restore.inpaint(audio, rate, gaps, model=model, steps=2, device="cpu",
                                   method=method, return_regions=True)
    assert out.shape == audio.shape and out.dtype == np.float32
    touched = np.zeros(audio.shape[1], dtype=bool)
    for item in regions:
        touched[int(round(item["start"] * rate)):int(round(item["end"] * rate))] = True
    margin = inpaint_task.margin_frames(rate)
    assert len(regions) == 2 and regions[0]["task"] == "inpaint"
    assert regions[0]["start"] == pytest.approx(0.5 - margin / rate)
    np.testing.assert_array_equal(out[:, ~touched], audio[:, ~touched])
    assert np.abs(out[:, int(1.25 * rate):int(1.4 * rate)]).max() > 1e-3  # something was filled


def test_inpaint_refuses_gaps_longer_than_the_limit(model):
    audio = music(4.0, 8000, 1)
    with pytest.raises(restore.errors.RestoreError, match="longer than"):
        restore.inpaint(audio, 8000, [(0.5, 3.0)], model=model, steps=1, device="cpu")


def test_inpaint_variants_differ_and_same_seed_repeats(model):
    audio = music(1.5, 8000, 1)
    gap = [(0.6, 0.7)]
    first = restore.inpaint(audio, 8000, gap, model=model, steps=2, device="cpu", variants=2,
                             method="diffusion")
    again = restore.inpaint(audio, 8000, gap, model=model, steps=2, device="cpu", variants=2,
                             method="diffusion")
    assert first.shape == (2, 1, audio.shape[1])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[0], first[1])


def test_generated_band_does_not_cancel_in_mono(model):
    """Upsampling stereo: the new band of L + R carries (at least) the energy of L and R."""
    rate = 8000
    audio = music(1.5, rate, 2)
    out = restore.upsample(audio, rate, 48_000, cutoff_hz=None, model=model, steps=2,
                           device="cpu")
    high = dsp.crossover(torch.zeros(1, 2, out.shape[1]), torch.from_numpy(out)[None],
                         4500.0, 48_000)[0].numpy()
    mono, sides = high.sum(0), high[0] ** 2 + high[1] ** 2
    assert np.mean(sides) > 1e-8
    assert np.mean(mono**2) > 0.5 * np.mean(sides)  # anti-phase generation would give ~0


def test_dual_mono_stays_dual_mono(model):
    audio = np.repeat(music(1.0, 8000, 1), 2, axis=0)
    out = restore.inpaint(audio, 8000, [(0.4, 0.5)], model=model, steps=2, device="cpu")
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)


def test_upsample_keeps_the_low_band_and_lengths(model):
    from evaluation.metrics import lsd_lf

    rate = 16_000
    audio = (0.1 * np.random.default_rng(3).standard_normal((1, 2 * rate))).astype(np.float32)
    for target in (48_000, 44_100):
        out = restore.upsample(audio, rate, target, model=model, steps=2, device="cpu")
        assert out.shape == (1, -(-audio.shape[1] * target // rate))
        reference = dsp.resample(torch.from_numpy(audio), rate, target).numpy()
        keep = bandwidth_task.band_plan(rate, target, None).keep_hz
        assert lsd_lf(out, reference, target, keep) < 0.05


def test_upsample_windows_agree_where_they_overlap(model):
    """Seam test at the window level: each window's output equals its neighbours' output."""
    rate = 8000
    audio = music(3.0, rate, 1)
    plan = bandwidth_task.window_plan(rate, 48_000, window_seconds=0.5, overlap_seconds=0.125,
                                      context_seconds=0.125)
    band = bandwidth_task.band_plan(rate, 48_000, None)
    sampler = Sampler.create(SamplingOptions(model, steps=2, seed=0, device="cpu"))
    process = bandwidth_task.BandwidthProcess(sampler, rate, 48_000, band, (False,))
    outputs = []

    def spy(batch):
        result = process(batch)
        outputs.extend(zip(batch.starts, result, strict=True))
        return result

    from restore.chunking import overlap_add_stream

    blocks = list(overlap_add_stream([audio], audio.shape[1], 1, plan, spy, batch_windows=2,
                                     out_channels=2))
    assert sum(block.shape[1] for block in blocks) == 6 * audio.shape[1]
    scale, context = 6, plan.context * 6
    checked = 0
    for (start, window), (next_start, next_window) in zip(outputs, outputs[1:], strict=False):
        overlap = (start + plan.window - next_start) * scale
        core_end = context + plan.window * scale
        mine = window[:, core_end - overlap:core_end]
        theirs = next_window[:, context:context + overlap]
        # the crossover at the output rate reflects at window edges: compare inside the cores
        inner = slice(overlap // 4, overlap - overlap // 4)
        np.testing.assert_allclose(mine[:, inner], theirs[:, inner], atol=2e-3)
        checked += 1
    assert checked >= 4


def test_transition_shapes_and_kept_clips(model):
    rate = 8000
    a, b = music(1.5, rate, 2, seed=1), music(1.0, rate, 1, seed=2)
    out, regions = restore.transition(a, b, rate, 0.5, model=model, steps=2, device="cpu",
                                      return_regions=True)
    assert out.shape == (2, a.shape[1] + 4000 + b.shape[1])
    np.testing.assert_array_equal(out[:, :a.shape[1]], a)
    np.testing.assert_array_equal(out[:, -b.shape[1]:], np.repeat(b, 2, axis=0))
    assert regions == [{"start": 1.5, "end": 2.0, "task": "transition", "method": "diffusion"}]
    bridge = restore.transition(a, b, rate, 0.25, bridge_only=True, method="classical")
    assert bridge.shape == (2, 2000)


def test_transition_match_loudness_scales_b(model):
    rate = 8000
    a, b = music(2.0, rate, 1), 0.25 * music(2.0, rate, 1, seed=5)
    out = restore.transition(a, b, rate, 0.1, match_loudness=True, method="classical")
    scaled_b = out[:, -b.shape[1]:]
    assert np.std(scaled_b) == pytest.approx(np.std(a), rel=0.1)


@pytest.mark.parametrize("method", ["diffusion", "classical"])
def test_inpaint_gaps_at_the_file_edges(model, method):
    rate = 8000
    audio = music(1.5, rate, 2)
    gaps = [(0.0, 0.05), (1.45, 1.5)]
    out = restore.inpaint(audio, rate, gaps, model=model, steps=2, device="cpu", method=method)
    margin = inpaint_task.margin_frames(rate)
    inner = slice(int(0.05 * rate) + margin, int(1.45 * rate) - margin)
    np.testing.assert_array_equal(out[:, inner], audio[:, inner])
    assert np.isfinite(out).all()
