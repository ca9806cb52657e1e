"""Validation on fixed pairs: EDM loss at fixed noise levels and LSD of sampled restorations."""

from __future__ import annotations

import torch

from restore.checkpoint import LoadedModel
from restore.config import MODEL_RATE, TASKS, DiffusionConfig
from restore.diffusion import Denoiser, generate
from restore.diffusion.conditioning import known_data_projection, level_scale

VALIDATION_SIGMAS = (0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0)  # fixed noise levels of the val loss


def log_spectral_distance(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """LSD per item ``[batch]`` (NU-Wave 2 definition: 2048-point STFT, hop 512, log10 power).

    ``estimate, reference [batch, 1, time]``: mean over frames of the RMS over frequency bins
    of ``log10 |X|^2 - log10 |Y|^2``.
    """
    window = torch.hann_window(2048, device=estimate.device)

    def log_power(audio: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(audio[:, 0].float(), 2048, 512, window=window, return_complex=True)
        return torch.log10(spectrum.abs().square().clamp_min(1e-8))

    difference = log_power(estimate) - log_power(reference)
    return difference.square().mean(dim=1).sqrt().mean(dim=1)


def unknown_fraction(mask: torch.Tensor, task_id: torch.Tensor, cutoff_hz: torch.Tensor):
    """Share of each item the model must invent ``[batch]``: the masked share of samples, or
    for bandwidth items the share of the spectrum above the cutoff."""
    masked = (1 - mask).mean(dim=(1, 2))
    band = 1 - cutoff_hz / (MODEL_RATE / 2)
    return torch.where(task_id == TASKS.index("bandwidth"), band, masked)


TARGET_RMS_LIMIT = 10.0  # x level_rms: targets 20 dB above their known audio are left out


def predictable(clean: torch.Tensor, config: DiffusionConfig) -> torch.Tensor:
    """1.0 per item ``[batch]`` whose level-scaled target ``clean [batch, 1, time]`` stays
    within ``TARGET_RMS_LIMIT`` x ``level_rms``, else 0.0. A target far louder than the audio the
    model is shown (a bridge between two silent sides, a gap holding the only sound of a
    speech pause) cannot be predicted; one such item's loss is thousands of times a typical
    item's and dominated whole batches (the spikes in docs/model.md's training record)."""
    rms = clean.float().square().mean(dim=(1, 2)).sqrt()
    return (rms <= TARGET_RMS_LIMIT * config.level_rms).to(clean.dtype)


class Validator:
    """Holds fixed pairs ``clean, degraded, mask [n, 1, time]`` and scores a denoiser on them."""

    def __init__(self, clean, pairs, config: DiffusionConfig, seed: int) -> None:
        self.clean, self.pairs, self.config, self.seed = clean, pairs, config, seed

    @torch.no_grad()
    def loss(self, denoiser: Denoiser) -> float:
        pairs = self.pairs
        scale = level_scale(pairs.degraded, pairs.mask, self.config)
        clean, degraded = self.clean / scale, pairs.degraded / scale
        project = known_data_projection(degraded, pairs.mask, pairs.task_id, pairs.cutoff_hz)
        fraction = unknown_fraction(pairs.mask, pairs.task_id, pairs.cutoff_hz)
        generator = torch.Generator(clean.device).manual_seed(self.seed)
        total = 0.0
        for sigma_value in VALIDATION_SIGMAS:
            noise = torch.randn(clean.shape, generator=generator, device=clean.device)
            sigma = torch.full((clean.shape[0],), sigma_value, device=clean.device)
            losses = denoiser.loss(clean, noise, sigma, project=project, unknown_fraction=fraction,
                                   degraded=degraded, mask=pairs.mask, task_id=pairs.task_id,
                                   cutoff_hz=pairs.cutoff_hz)
            total += losses.mean().item()
        return total / len(VALIDATION_SIGMAS)

    @torch.no_grad()
    def samples(self, denoiser: Denoiser, sampler: str, steps: int | None = None,
                sigmas: torch.Tensor | None = None) -> torch.Tensor:
        """``denoiser``'s restorations of the pairs ``[n, 1, time]``, always from the same
        initial noise (``steps`` of its schedule, or the noise levels ``sigmas``)."""
        pairs = self.pairs
        generator = torch.Generator(self.clean.device).manual_seed(self.seed)
        return generate(denoiser, pairs.degraded, pairs.mask, pairs.task_id, pairs.cutoff_hz,
                        steps=steps, sigmas=sigmas, sampler=sampler, generator=generator)

    @torch.no_grad()
    def lsd(self, model: LoadedModel, steps: int,
            teacher_samples: torch.Tensor | None = None) -> dict[str, float]:
        """LSD of the model's samples (overall, per task) and the fill levels; with a
        distillation teacher's ``samples``, also ``teacher_error``: the students' squared
        distance to them relative to their energy."""
        pairs = self.pairs
        restored = self.samples(model.denoiser, model.default_sampler, steps=steps)
        scores = log_spectral_distance(restored, self.clean)
        levels = fill_level_db(restored, self.clean, pairs.mask)
        result = {"lsd": scores.mean().item()}
        if teacher_samples is not None:
            result["teacher_error"] = relative_squared_error(restored, teacher_samples)
        for index, task in enumerate(TASKS):
            chosen = pairs.task_id == index
            if chosen.any():
                result[f"lsd_{task}"] = scores[chosen].mean().item()
            if task in ("inpaint", "transition") and chosen.any():
                result[f"level_{task}"] = levels[chosen].mean().item()
        return result


def relative_squared_error(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """``||estimate - reference||^2 / ||reference||^2`` over the whole batch."""
    return ((estimate - reference).square().sum() / reference.square().sum()).item()


def fill_level_db(restored: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Level of what was generated where ``mask`` is 0, relative to the true audio there, in dB
    per item ``[batch]`` (negative: fills too quiet; 0 for items with nothing masked)."""
    hidden = 1 - mask
    made = (restored * hidden).square().sum(dim=(1, 2)).clamp_min(1e-12)
    true = (clean * hidden).square().sum(dim=(1, 2)).clamp_min(1e-12)
    return 10 * torch.log10(made / true)
