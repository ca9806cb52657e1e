"""Samplers against the analytic Gaussian case and the sigma -> 0 limit."""

from __future__ import annotations

import math

import pytest
import torch

from restore.diffusion.sampling import (
    SAMPLERS,
    get_sigmas_karras,
    sample_dpmpp_2m,
    sample_heun,
)

MEAN, STD = 0.3, 0.5  # data distribution: independent N(MEAN, STD^2) samples


def gaussian_denoiser(x: torch.Tensor, sigma, **_: torch.Tensor) -> torch.Tensor:
    """The optimal denoiser E[x0 | x0 + sigma n = x] for Gaussian data, in closed form."""
    return MEAN + STD**2 / (STD**2 + sigma**2) * (x - MEAN)


def exact_flow(x_start: torch.Tensor, sigma_max: float) -> torch.Tensor:
    """The probability-flow ODE's exact endpoint for Gaussian data: a linear map."""
    return MEAN + (x_start - MEAN) * STD / math.sqrt(STD**2 + sigma_max**2)


def test_karras_schedule_endpoints() -> None:
    sigmas = get_sigmas_karras(10, 0.002, 20.0, 7.0)
    assert sigmas.shape == (11,)
    assert sigmas[0] == pytest.approx(20.0) and sigmas[-2] == pytest.approx(0.002)
    assert sigmas[-1] == 0 and bool((sigmas[:-1] > sigmas[1:]).all())


@pytest.mark.parametrize("name,order", [("heun", 2), ("dpmpp_2m", 2), ("euler", 1)])
def test_ode_samplers_converge_to_the_exact_flow(name: str, order: int) -> None:
    """Deterministic samplers solve the probability-flow ODE with their theoretical order."""
    sigma_max = 20.0
    generator = torch.Generator().manual_seed(0)
    x_start = torch.randn(4, 1, 2000, generator=generator, dtype=torch.float64) * sigma_max
    exact = exact_flow(x_start, sigma_max)
    errors = []
    for steps in (16, 32, 64):
        sigmas = get_sigmas_karras(steps, 0.002, sigma_max).double()
        errors.append((SAMPLERS[name](gaussian_denoiser, x_start.clone(), sigmas) - exact)
                      .abs().max().item())
    assert errors[2] < (0.01 if order == 2 else 0.1)
    assert errors[1] / errors[2] > 0.85 * 2**order  # halving the step divides the error 2^order


@pytest.mark.parametrize("name,churn,steps", [("heun", 0.0, 24), ("dpmpp_2m", 0.0, 24),
                                              ("heun", 5.0, 48)])
def test_endpoint_distribution_matches_the_data(name: str, churn: float, steps: int) -> None:
    sigma_max = 20.0
    generator = torch.Generator().manual_seed(1)
    # start as the true marginal at sigma_max: N(MEAN, STD^2 + sigma_max^2)
    x_start = MEAN + torch.randn(1, 1, 40_000, generator=generator) * math.hypot(STD, sigma_max)
    sigmas = get_sigmas_karras(steps, 0.002, sigma_max)
    result = SAMPLERS[name](gaussian_denoiser, x_start, sigmas, churn=churn, generator=generator)
    assert result.mean().item() == pytest.approx(MEAN, abs=0.01)
    assert result.std().item() == pytest.approx(STD, rel=0.03)


def test_seeded_churn_is_reproducible() -> None:
    sigmas = get_sigmas_karras(6, 0.002, 20.0)
    x = torch.randn(1, 1, 100, generator=torch.Generator().manual_seed(0)) * 20.0
    runs = [
        sample_heun(gaussian_denoiser, x, sigmas, churn=5.0,
                    generator=torch.Generator().manual_seed(7))
        for _ in range(2)
    ]
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)


def test_last_step_to_zero_returns_the_denoiser_output() -> None:
    x = torch.randn(1, 1, 50, generator=torch.Generator().manual_seed(3))
    sigmas = torch.tensor([0.5, 0.0])
    for name, sampler in SAMPLERS.items():
        result = sampler(gaussian_denoiser, x, sigmas)
        torch.testing.assert_close(result, gaussian_denoiser(x, 0.5), msg=name)


def test_projection_is_applied_after_each_call_and_at_the_end() -> None:
    calls = []

    def hook(estimate: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return estimate.clamp(-0.1, 0.1)

    x = torch.randn(1, 1, 64, generator=torch.Generator().manual_seed(4)) * 20.0
    result = sample_dpmpp_2m(gaussian_denoiser, x, get_sigmas_karras(5, 0.002, 20.0),
                             project=hook)
    assert len(calls) == 6  # 5 denoiser calls + the final projection
    assert result.abs().max() <= 0.1


def test_dpmpp_refuses_churn() -> None:
    with pytest.raises(ValueError, match="deterministic"):
        sample_dpmpp_2m(gaussian_denoiser, torch.zeros(1, 1, 4), torch.tensor([1.0, 0.0]),
                        churn=1.0)
