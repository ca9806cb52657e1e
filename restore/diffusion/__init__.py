"""Diffusion: EDM preconditioning + loss, noise schedules, samplers, ``generate``."""

from restore.diffusion.denoiser import Denoiser
from restore.diffusion.generate import generate
from restore.diffusion.sampling import (
    SAMPLERS,
    get_sigmas_karras,
    sample_dpmpp_2m,
    sample_euler,
    sample_heun,
)

__all__ = [
    "SAMPLERS",
    "Denoiser",
    "generate",
    "get_sigmas_karras",
    "sample_dpmpp_2m",
    "sample_euler",
    "sample_heun",
]
