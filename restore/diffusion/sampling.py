"""Noise schedules and ODE/SDE samplers with one shared, k-diffusion-style signature.

``sample_xxx(denoiser, x, sigmas, *, extra_args=None, callback=None, churn=0.0,
generator=None, project=None) -> Tensor``

- ``denoiser(x, sigma, **extra_args)`` returns D(x; sigma), the clean estimate.
- ``x [batch, 1, time]`` holds noise of std ``sigmas[0]`` (around an initial guess, if any);
  ``sigmas`` ends with 0.
- ``project(denoised) -> denoised`` projects every clean estimate onto the known data
  (set known samples, keep the known band); it is applied after each denoiser call and to the
  final result, so known data is reproduced exactly.
- ``callback({"i", "sigma", "x", "denoised"})`` after each step, for progress bars.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Projection = Callable[[torch.Tensor], torch.Tensor]  # estimate [batch, 1, time] -> same
Denoise = Callable[..., torch.Tensor]  # denoiser(x, sigma, **extra_args) -> D(x; sigma)
Callback = Callable[[dict], None] | None


def _edm_curve(ramp: torch.Tensor, sigma_min: float, sigma_max: float, rho: float,
               device: str | torch.device) -> torch.Tensor:
    """EDM eq. 5 at ``ramp`` (0 -> sigma_max, 1 -> sigma_min), then a final 0."""
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho  # EDM eq. 5
    return torch.cat([sigmas, sigmas.new_zeros(1)]).float().to(device)


def get_sigmas_karras(
    steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """``steps + 1`` noise levels, Karras schedule (EDM eq. 5), the last one 0."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    return _edm_curve(ramp, sigma_min, sigma_max, rho, device)


def get_sigmas_nested(
    steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """``steps + 1`` noise levels: EDM eq. 5's curve at ``t = i / steps`` for ``i < steps``, then
    0. The grid of ``n`` steps is every other level of the grid of ``2 n``, so a distilled
    student's one step spans exactly two of its teacher's (progressive distillation)."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    ramp = torch.arange(steps, dtype=torch.float64) / steps
    return _edm_curve(ramp, sigma_min, sigma_max, rho, device)


SCHEDULES = {"karras": get_sigmas_karras, "nested": get_sigmas_nested}


def _denoise(denoiser: Denoise, x: torch.Tensor, sigma: float, extra_args: dict,
             project: Projection | None) -> torch.Tensor:
    denoised = denoiser(x, sigma, **extra_args)
    return project(denoised) if project is not None else denoised


def _churn(x: torch.Tensor, sigma: float, next_sigma: float, churn: float, steps: int,
           generator: torch.Generator | None) -> tuple[torch.Tensor, float]:
    """EDM Algorithm 2 lines 4-6: raise the noise from sigma to sigma_hat = sigma (1 + gamma)."""
    gamma = min(churn / steps, math.sqrt(2) - 1) if churn > 0 and next_sigma > 0 else 0.0
    if gamma == 0.0:
        return x, sigma
    sigma_hat = sigma * (1 + gamma)
    noise_device = generator.device if generator is not None else x.device
    noise = torch.randn(x.shape, generator=generator, device=noise_device).to(x)
    return x + noise * (sigma_hat**2 - sigma**2) ** 0.5, sigma_hat  # Algorithm 2 line 6


@torch.no_grad()
def sample_euler(denoiser: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *,
                 extra_args: dict | None = None, callback: Callback = None, churn: float = 0.0,
                 generator: torch.Generator | None = None,
                 project: Projection | None = None) -> torch.Tensor:
    """First-order Euler steps on the probability-flow ODE (EDM eq. 1); one call per step."""
    extra_args = extra_args or {}
    steps = len(sigmas) - 1
    denoised = x
    for i in range(steps):
        sigma, next_sigma = float(sigmas[i]), float(sigmas[i + 1])
        x, sigma = _churn(x, sigma, next_sigma, churn, steps, generator)
        denoised = _denoise(denoiser, x, sigma, extra_args, project)
        slope = (x - denoised) / sigma  # EDM eq. 3 with s(t) = 1, sigma(t) = t
        x = denoised if next_sigma == 0 else x + slope * (next_sigma - sigma)
        if callback is not None:
            callback({"i": i, "sigma": sigma, "x": x, "denoised": denoised})
    return project(x) if project is not None else x


@torch.no_grad()
def sample_heun(denoiser: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *,
                extra_args: dict | None = None, callback: Callback = None, churn: float = 0.0,
                generator: torch.Generator | None = None,
                project: Projection | None = None) -> torch.Tensor:
    """EDM Algorithm 2: Heun's 2nd-order method, optional churn; 2 steps - 1 calls."""
    extra_args = extra_args or {}
    steps = len(sigmas) - 1
    for i in range(steps):
        sigma, next_sigma = float(sigmas[i]), float(sigmas[i + 1])
        x, sigma = _churn(x, sigma, next_sigma, churn, steps, generator)
        denoised = _denoise(denoiser, x, sigma, extra_args, project)
        slope = (x - denoised) / sigma  # Algorithm 2 line 7
        x_next = x + slope * (next_sigma - sigma)  # line 8 (Euler step)
        if next_sigma > 0:  # lines 9-11: second-order correction
            denoised_next = _denoise(denoiser, x_next, next_sigma, extra_args, project)
            slope_next = (x_next - denoised_next) / next_sigma
            x_next = x + (next_sigma - sigma) * 0.5 * (slope + slope_next)
        x = x_next
        if callback is not None:
            callback({"i": i, "sigma": sigma, "x": x, "denoised": denoised})
    return project(x) if project is not None else x


@torch.no_grad()
def sample_dpmpp_2m(denoiser: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *,
                    extra_args: dict | None = None, callback: Callback = None, churn: float = 0.0,
                    generator: torch.Generator | None = None,
                    project: Projection | None = None) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2) in sigma form; one call per step.

    Deterministic multistep solver: ``churn`` must be 0 (a churned sigma would break the
    multistep history); use ``sample_heun`` for stochastic sampling.
    """
    if churn:
        raise ValueError("sample_dpmpp_2m is deterministic: use sampler 'heun' for churn > 0")
    extra_args = extra_args or {}
    previous = None
    for i in range(len(sigmas) - 1):
        sigma, next_sigma = float(sigmas[i]), float(sigmas[i + 1])
        denoised = _denoise(denoiser, x, sigma, extra_args, project)
        if next_sigma == 0:
            x = denoised
        else:
            t, t_next = -math.log(sigma), -math.log(next_sigma)  # t = lambda = -ln(sigma)
            h = t_next - t
            if previous is None:
                estimate = denoised  # first step: DPM-Solver++(1S) = DDIM
            else:
                r = (t - (-math.log(float(sigmas[i - 1])))) / h
                estimate = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * previous
            x = (next_sigma / sigma) * x - math.expm1(-h) * estimate  # Lu et al. eq. (18)
        previous = denoised
        if callback is not None:
            callback({"i": i, "sigma": sigma, "x": x, "denoised": denoised})
    return project(x) if project is not None else x


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
}
