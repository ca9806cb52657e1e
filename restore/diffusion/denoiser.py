"""EDM preconditioning and training loss around a plain network (Karras et al. 2022, "EDM").

``Denoiser(network, config)(x, sigma, **conditioning)`` is D(x; sigma): the estimate of the
clean signal. Samplers only ever call this; the network never sees sigma directly.
"""

from __future__ import annotations

import torch
from torch import nn

from restore.config import DiffusionConfig

# multi-resolution log-magnitude distance (:func:`log_magnitude_distance`): FFT sizes, and the
# magnitude floor at the network's level (known audio at RMS 0.5): about -80 dB below a white
# signal's bins, so that near-silent bins do not dominate
SPECTRAL_FFT_SIZES = (256, 1024, 4096)
SPECTRAL_FLOOR = 1e-3


def log_magnitude_distance(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of log STFT magnitudes ``[batch]`` of ``[batch, 1, time]``
    signals, averaged over :data:`SPECTRAL_FFT_SIZES` (Hann windows, hop a quarter): the
    log-spectral error a waveform MSE hardly sees in quiet bands (a missing treble costs the
    MSE its tiny energy, this its full log ratio). Computed in float32."""
    distances = []
    with torch.autocast(estimate.device.type, enabled=False):
        estimate, target = estimate.float().flatten(1), target.float().flatten(1)
        for size in SPECTRAL_FFT_SIZES:
            window = torch.hann_window(size, device=estimate.device)
            magnitudes = [torch.stft(signal, size, size // 4, window=window, return_complex=True)
                          .abs() for signal in (estimate, target)]
            logs = [(magnitude + SPECTRAL_FLOOR).log() for magnitude in magnitudes]
            distances.append((logs[0] - logs[1]).abs().mean(dim=(1, 2)))
    return torch.stack(distances).mean(dim=0)


class Denoiser(nn.Module):
    """D(x; sigma) = c_skip x + c_out F(c_in x, c_noise; conditioning)  (EDM eq. 7).

    ``conditioning`` is passed to the network untouched: ``degraded, mask [batch, 1, time]``,
    ``task_id [batch]`` long, ``cutoff_hz [batch]`` float.
    """

    def __init__(self, network: nn.Module, config: DiffusionConfig) -> None:
        super().__init__()
        self.network = network
        self.config = config

    def scalings(self, sigma: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(c_skip, c_out, c_in, c_noise)`` for ``sigma [batch]`` (EDM Table 1, "Ours")."""
        sigma_data = self.config.sigma_data
        total = sigma**2 + sigma_data**2
        c_skip = sigma_data**2 / total  # EDM eq. 7 / Table 1: c_skip
        c_out = sigma * sigma_data / total.sqrt()  # Table 1: c_out
        c_in = 1.0 / total.sqrt()  # Table 1: c_in
        c_noise = sigma.log() / 4.0  # Table 1: c_noise = ln(sigma) / 4
        return c_skip, c_out, c_in, c_noise

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, **conditioning: torch.Tensor):
        """``x [batch, 1, time]``, ``sigma`` scalar or ``[batch]`` -> D(x; sigma), like ``x``."""
        if isinstance(sigma, torch.Tensor):
            sigma = sigma.to(x.device, torch.float32).reshape(-1).expand(x.shape[0])
        else:  # a number: filled on the device (no host-to-device copy, so no CUDA sync)
            sigma = x.new_full((x.shape[0],), float(sigma), dtype=torch.float32)
        c_skip, c_out, c_in, c_noise = (c[:, None, None] for c in self.scalings(sigma))
        raw = self.network(x * c_in, c_noise.reshape(-1), **conditioning).float()
        return c_skip * x + c_out * raw  # EDM eq. 7

    def loss(
        self,
        clean: torch.Tensor,
        noise: torch.Tensor,
        sigma: torch.Tensor,
        *,
        project=None,
        unknown_fraction: torch.Tensor | None = None,
        target: torch.Tensor | None = None,
        spectral_weight: float = 0.0,
        **conditioning: torch.Tensor,
    ) -> torch.Tensor:
        """Per-item weighted denoising loss ``[batch]`` (EDM eq. 2 and Table 1's lambda).

        ``clean, noise [batch, 1, time]``, ``sigma [batch]``. ``project`` (the known-data
        projection) is applied to D and to the target, so only what the model must invent counts;
        dividing by ``unknown_fraction [batch]`` keeps short gaps from vanishing in the mean.
        ``target`` replaces ``clean`` as what D should return (a distillation teacher's).
        ``spectral_weight > 0`` adds that times :func:`log_magnitude_distance` of the projected
        D and target (unweighted by sigma: the term is level-free).
        """
        noisy = clean + noise * sigma[:, None, None]  # y + n, n ~ N(0, sigma^2 I)
        denoised = self(noisy, sigma, **conditioning)
        target = clean if target is None else target
        if project is not None:
            # both sides projected: what the degraded input already fixes (e.g. its low band,
            # phase-shifted by the degradation's filter) is no error the network could correct
            denoised, target = project(denoised), project(target)
        error = (denoised - target).square().mean(dim=(1, 2))
        if unknown_fraction is not None:
            error = error / unknown_fraction.clamp_min(1e-2)
        loss = self.loss_weight(sigma) * error  # lambda(sigma) ||D(y + n; sigma) - y||^2
        if spectral_weight > 0:
            loss = loss + spectral_weight * log_magnitude_distance(denoised, target)
        return loss

    def sample_sigma(self, batch: int, generator: torch.Generator, device) -> torch.Tensor:
        """Training noise levels: ln(sigma) ~ N(P_mean, P_std^2)  (EDM Table 1, training)."""
        normal = torch.randn(batch, generator=generator, device=device)
        return (normal * self.config.p_std + self.config.p_mean).exp()

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        """lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2  (EDM Table 1)."""
        sigma_data = self.config.sigma_data
        return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2
