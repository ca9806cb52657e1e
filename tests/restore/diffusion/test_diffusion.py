"""EDM preconditioning, loss, known-data projection and ``generate``."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from restore.checkpoint import random_model
from restore.config import TASK_ID, DiffusionConfig
from restore.diffusion import Denoiser, generate, get_sigmas_karras, sample_heun
from restore.diffusion.conditioning import known_data_projection, level_scale
from restore.diffusion.denoiser import log_magnitude_distance
from restore.dsp import crossover, lowpass


class ZeroNetwork(nn.Module):
    """F = 0: with EDM preconditioning this is the optimal denoiser for N(0, sigma_data^2)."""

    def forward(self, x, c_noise, **_):
        return torch.zeros_like(x)


def test_scalings_match_edm_table_1() -> None:
    denoiser = Denoiser(ZeroNetwork(), DiffusionConfig(sigma_data=0.5))
    sigma = torch.tensor([0.01, 0.5, 10.0])
    c_skip, c_out, c_in, c_noise = denoiser.scalings(sigma)
    torch.testing.assert_close(c_skip, 0.25 / (sigma**2 + 0.25))
    torch.testing.assert_close(c_out, sigma * 0.5 / (sigma**2 + 0.25).sqrt())
    torch.testing.assert_close(c_in, 1 / (sigma**2 + 0.25).sqrt())
    torch.testing.assert_close(c_noise, sigma.log() / 4)
    # effective training target has unit variance at every sigma (EDM eq. 8 and appendix B.6)
    torch.testing.assert_close(denoiser.loss_weight(sigma) * c_out**2, torch.ones(3))


def test_zero_network_is_the_gaussian_optimum_and_samples_the_data_variance() -> None:
    sigma_data = 0.5
    denoiser = Denoiser(ZeroNetwork(), DiffusionConfig(sigma_data=sigma_data))
    x = torch.randn(1, 1, 30_000, generator=torch.Generator().manual_seed(0)) * 20.0
    expected = sigma_data**2 / (sigma_data**2 + 3.0**2) * x
    torch.testing.assert_close(denoiser(x, torch.tensor(3.0)), expected)
    start = torch.randn(1, 1, 30_000, generator=torch.Generator().manual_seed(1))
    start = start * math.hypot(20.0, sigma_data)
    result = sample_heun(denoiser, start, get_sigmas_karras(32, 0.002, 20.0))
    assert result.std().item() == pytest.approx(sigma_data, rel=0.03)
    assert abs(result.mean().item()) < 0.01


def test_loss_of_gaussian_optimum_is_its_unit_target_variance() -> None:
    sigma_data = 0.5
    denoiser = Denoiser(ZeroNetwork(), DiffusionConfig(sigma_data=sigma_data))
    generator = torch.Generator().manual_seed(2)
    clean = torch.randn(4, 1, 50_000, generator=generator) * sigma_data
    noise = torch.randn(4, 1, 50_000, generator=generator)
    sigma = torch.tensor([0.05, 0.5, 2.0, 20.0])
    loss = denoiser.loss(clean, noise, sigma)
    # optimal denoiser's error variance is sigma^2 sd^2 / (sigma^2 + sd^2); times lambda = 1
    torch.testing.assert_close(loss, torch.ones(4), rtol=0.03, atol=0.0)


def test_the_spectral_term_sees_a_missing_quiet_treble_that_the_mse_hardly_sees() -> None:
    generator = torch.Generator().manual_seed(4)
    time = torch.arange(16_384) / 48_000
    bass = (0.5 * torch.sin(2 * math.pi * 220 * time)
            + 0.3 * torch.sin(2 * math.pi * 470 * time)).expand(2, 1, -1)  # loud low band
    treble = torch.randn(2, 1, 16_384, generator=generator) * 1e-3  # quiet, broadband
    target = bass + treble
    assert log_magnitude_distance(target, target).abs().max().item() == 0.0
    # the treble's loss is a 1e-6 squared error but a large log-magnitude error
    dull = log_magnitude_distance(bass, target)
    assert (dull > 0.5).all()
    assert (dull > 50 * log_magnitude_distance(target * 0.98, target)).all()
    denoiser = Denoiser(ZeroNetwork(), DiffusionConfig())
    noise = torch.randn(2, 1, 16_384, generator=generator)
    sigma = torch.tensor([0.1, 1.0])
    plain = denoiser.loss(target, noise, sigma, target=bass)
    both = denoiser.loss(target, noise, sigma, target=bass, spectral_weight=0.1)
    denoised = denoiser(target + noise * sigma[:, None, None], sigma)
    torch.testing.assert_close(both, plain + 0.1 * log_magnitude_distance(denoised, bass))


def test_level_scale_uses_known_samples_and_floors_silence() -> None:
    config = DiffusionConfig()
    audio = torch.zeros(2, 1, 1000)
    audio[0, 0, :500] = 0.1
    mask = torch.zeros(2, 1, 1000)
    mask[:, :, :500] = 1
    scale = level_scale(audio, mask, config)
    assert scale[0].item() == pytest.approx(0.1 / config.level_rms)
    assert scale[1].item() == pytest.approx(config.level_floor / config.level_rms)


def test_projection_keeps_known_samples_and_band_exactly() -> None:
    generator = torch.Generator().manual_seed(3)
    degraded = torch.randn(2, 1, 4800, generator=generator)
    mask = torch.ones(2, 1, 4800)
    mask[0, :, 1000:2000] = 0
    task_id = torch.tensor([TASK_ID["inpaint"], TASK_ID["bandwidth"]])
    cutoff = torch.tensor([24_000.0, 4000.0])
    project = known_data_projection(degraded, mask, task_id, cutoff)
    estimate = torch.randn(2, 1, 4800, generator=generator)
    projected = project(estimate)
    known = mask[0, 0] > 0
    assert torch.equal(projected[0, 0, known], degraded[0, 0, known])
    assert torch.equal(projected[0, 0, ~known], estimate[0, 0, ~known])
    # bandwidth item: low band from degraded, high band from the estimate
    low = lowpass(projected[1:], 3500.0, 48_000)
    torch.testing.assert_close(low, lowpass(degraded[1:], 3500.0, 48_000), atol=2e-3, rtol=0)
    high = projected[1:] - lowpass(projected[1:], 4500.0, 48_000)
    want = estimate[1:] - lowpass(estimate[1:], 4500.0, 48_000)
    torch.testing.assert_close(high, want, atol=2e-3, rtol=0)


@pytest.mark.parametrize("sampler", ["heun", "dpmpp_2m", "euler"])
@pytest.mark.parametrize("length", [1, 777])
def test_generate_keeps_known_samples_exactly(sampler: str, length: int) -> None:
    model = random_model()
    generator = torch.Generator().manual_seed(0)
    degraded = torch.randn(2, 1, length, generator=generator) * 0.05
    mask = torch.ones(2, 1, length)
    mask[:, :, length // 3: 2 * length // 3] = 0
    degraded = degraded * mask
    task_id = torch.tensor([TASK_ID["inpaint"], TASK_ID["transition"]])
    out = generate(model.denoiser, degraded, mask, task_id, torch.full((2,), 24_000.0), steps=3,
                   sampler=sampler, generator=generator)
    assert out.shape == degraded.shape and torch.isfinite(out).all()
    assert torch.equal(out[mask > 0], degraded[mask > 0])


def test_generate_is_reproducible_with_a_seed_and_differs_without() -> None:
    model = random_model()
    degraded = torch.zeros(1, 1, 600)
    mask = torch.zeros(1, 1, 600)
    args = (model.denoiser, degraded, mask, torch.tensor([0]), torch.tensor([24_000.0]))
    first = generate(*args, steps=4, generator=torch.Generator().manual_seed(5), churn=1.0)
    again = generate(*args, steps=4, generator=torch.Generator().manual_seed(5), churn=1.0)
    other = generate(*args, steps=4, generator=torch.Generator().manual_seed(6), churn=1.0)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_generate_applies_custom_projections_at_the_callers_level() -> None:
    model = random_model()
    degraded = torch.full((1, 1, 256), 0.01)
    mask = torch.ones(1, 1, 256)
    seen = []

    def hook(estimate: torch.Tensor) -> torch.Tensor:
        seen.append(estimate.shape)
        return torch.full_like(estimate, 0.02)

    out = generate(model.denoiser, degraded, mask, torch.tensor([0]), torch.tensor([24_000.0]),
                   steps=2, sampler="dpmpp_2m", projections=[hook])
    assert seen and all(shape == (1, 1, 256) for shape in seen)
    torch.testing.assert_close(out, torch.full_like(out, 0.02))


def test_generate_from_an_initial_guess_at_a_low_sigma_stays_near_it() -> None:
    """SDEdit: ``x`` plus noise of std ``sigmas[0]``; a short schedule from a low sigma hardly
    moves the guess, pure noise lands elsewhere; known samples stay exact either way."""
    denoiser = random_model().denoiser
    generator = torch.Generator().manual_seed(7)
    degraded = torch.randn(1, 1, 600, generator=generator) * 0.1
    mask = torch.ones_like(degraded)
    mask[..., 200:400] = 0
    guess = torch.randn(1, 1, 600, generator=generator) * 0.1
    args = (denoiser, degraded * mask, mask, torch.tensor([0]), torch.tensor([24_000.0]))
    refined = generate(*args, sigmas=torch.tensor([0.003, 0.002, 0.0]), x=guess,
                       sampler="dpmpp_2m", generator=generator)
    fresh = generate(*args, steps=2, sampler="dpmpp_2m", generator=generator)
    gap = mask == 0
    assert (refined[gap] - guess[gap]).abs().max() < 0.01
    assert (fresh[gap] - guess[gap]).abs().max() > 0.05
    assert torch.equal(refined[~gap], degraded[~gap]) and torch.equal(fresh[~gap], degraded[~gap])


def test_generate_rejects_bad_shapes_and_sampler() -> None:
    model = random_model()
    with pytest.raises(ValueError):
        generate(model.denoiser, torch.zeros(1, 100), torch.zeros(1, 100), torch.tensor([0]),
                 torch.tensor([1.0]), steps=2)
    with pytest.raises(ValueError, match="sampler"):
        generate(model.denoiser, torch.zeros(1, 1, 100), torch.zeros(1, 1, 100), torch.tensor([0]),
                 torch.tensor([1.0]), steps=2, sampler="nope")


def test_declip_projection_keeps_sign_and_level_and_known_samples() -> None:
    observed = torch.tensor([[[0.2, 0.5, 0.5, -0.1, -0.4, -0.4, 0.3]]])
    mask = torch.tensor([[[1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]]])
    project = known_data_projection(observed, mask, torch.tensor([TASK_ID["declip"]]),
                                    torch.tensor([24_000.0]))
    estimate = torch.tensor([[[9.0, 0.1, 0.8, 9.0, -0.9, 0.3, 9.0]]])
    projected = project(estimate)
    assert torch.equal(projected, torch.tensor([[[0.2, 0.5, 0.8, -0.1, -0.9, -0.4, 0.3]]]))
    assert torch.equal(project(projected), projected)  # a projection: idempotent
    inpaint = known_data_projection(observed, mask, torch.tensor([TASK_ID["inpaint"]]),
                                    torch.tensor([24_000.0]))
    assert inpaint(estimate)[0, 0, 1].item() == pytest.approx(0.1)  # no constraint there


def test_known_band_of_every_item_matches_the_plain_crossover() -> None:
    """The upsampler's batches (all bandwidth items) skip the gather, the scatter and the
    known-samples projection; the result is the plain crossover's."""
    torch.manual_seed(3)
    degraded, estimate = torch.randn(3, 1, 4000), torch.randn(3, 1, 4000)
    cutoff = torch.tensor([4000.0, 6000.0, 8000.0])
    every = known_data_projection(degraded, torch.ones_like(degraded),
                                  torch.full((3,), TASK_ID["bandwidth"]), cutoff)
    expected = crossover(degraded, estimate, cutoff, 48_000)
    torch.testing.assert_close(every(estimate), expected, atol=1e-5, rtol=0)
    mixed = known_data_projection(degraded, torch.ones_like(degraded),
                                  torch.tensor([TASK_ID["bandwidth"], TASK_ID["inpaint"],
                                                TASK_ID["bandwidth"]]), cutoff)
    result = mixed(estimate)
    torch.testing.assert_close(result[[0, 2]], expected[[0, 2]], atol=1e-5, rtol=0)
    torch.testing.assert_close(result[1], degraded[1])  # inpaint item, all samples known
