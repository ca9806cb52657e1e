"""Artifacts of old media and poor transfers: clipping, hiss, mains hum, clicks and crackle,
wow and flutter.

Audio is ``[batch, channels, time]``; each function returns ``(degraded, mask [batch, 1, time])``.
The mask is 0 where samples are destroyed (clipped, covered by a click) and 1 where the signal
is still present under an additive disturbance (hiss, hum) or a smooth time warp (wow).
"""

from __future__ import annotations

import math

import torch
import torchaudio.functional as taf

from data_prep.degradations import _random

CLICK_TAPS = 64  # longest click shape in samples


def clipping(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    level_range: tuple[float, float] = (0.1, 0.8),
    asymmetric_share: float = 0.0,
    asymmetry: tuple[float, float] = (0.6, 1.0),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard-clip each item at ``level`` (uniform in ``level_range``) times its own peak.

    A share ``asymmetric_share`` of the items clips its negative half at a different level:
    ``level`` times a factor uniform in ``asymmetry``, applied to one randomly chosen polarity
    (converters and tape stages often clip one polarity first). The mask is 0 where a sample
    reached its polarity's level.
    """
    batch = audio.shape[0]
    device = audio.device
    ratio = _random.uniform(generator, (batch,), *level_range, device)
    factor = _random.uniform(generator, (batch,), *asymmetry, device)
    lopsided = _random.uniform(generator, (batch,), 0.0, 1.0, device) < asymmetric_share
    factor = torch.where(lopsided, factor, torch.ones_like(factor))
    flip = _random.integers(generator, (batch,), 0, 2, device).bool()
    peak = audio.abs().amax(dim=(1, 2))
    level = ratio * peak
    upper = torch.where(flip, level * factor, level).view(batch, 1, 1)
    lower = -torch.where(flip, level, level * factor).view(batch, 1, 1)
    degraded = torch.maximum(torch.minimum(audio, upper), lower)
    mask = ((audio < upper) & (audio > lower)).all(dim=1, keepdim=True).float()
    if record is not None:
        record.update(clip_level=upper.flatten(), clip_level_negative=lower.flatten())
    return degraded, mask


def _rms(audio: torch.Tensor) -> torch.Tensor:
    return audio.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp(min=1e-6)


def hiss(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    snr_db: tuple[float, float] = (10.0, 50.0),
    tilt_range: tuple[float, float] = (-1.0, 0.0),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add broadband noise at an SNR uniform in ``snr_db``; the spectral tilt (uniform in
    ``tilt_range``, 0 = white, -1 = pink) is applied as ``|H(f)| = f ** (tilt / 2)``."""
    batch, channels, length = audio.shape
    device = audio.device
    snr = _random.uniform(generator, (batch,), *snr_db, device)
    tilt = _random.uniform(generator, (batch,), *tilt_range, device)
    noise = _random.normal(generator, (batch, channels, length), device)
    spectrum = torch.fft.rfft(noise)
    bins = torch.arange(spectrum.shape[-1], device=device).clamp(min=1).float()
    spectrum = spectrum * bins.pow(tilt.view(batch, 1, 1) / 2.0)
    noise = torch.fft.irfft(spectrum, n=length)
    noise = noise / _rms(noise) * _rms(audio) * 10.0 ** (-snr.view(batch, 1, 1) / 20.0)
    if record is not None:
        record.update(snr_db=snr, tilt=tilt)
    return audio + noise.to(audio.dtype), torch.ones_like(audio[:, :1])


def hum(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    level_db: tuple[float, float] = (-45.0, -15.0),
    harmonics: int = 8,
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add 50 or 60 Hz mains hum with ``harmonics`` partials at a level (relative to the item's
    RMS) uniform in ``level_db``; partial amplitudes fall off as ``k ** -decay`` with random
    decay in [0.5, 2] and random phases; the fundamental drifts by up to 0.5 %."""
    batch, _, length = audio.shape
    device = audio.device
    mains = torch.tensor([50.0, 60.0], device=device)[_random.integers(generator, (batch,), 0, 2,
                                                                       device)]
    mains = mains * _random.uniform(generator, (batch,), 0.995, 1.005, device)
    decay = _random.uniform(generator, (batch, 1), 0.5, 2.0, device)
    phase = _random.uniform(generator, (batch, harmonics), 0.0, 2 * math.pi, device)
    level = _random.uniform(generator, (batch,), *level_db, device)
    order = torch.arange(1, harmonics + 1, device=device).float().view(1, -1)
    amplitude = order.pow(-decay) * (order * mains.view(-1, 1) < sample_rate / 2)
    time = torch.arange(length, device=device).float() / sample_rate
    angle = 2 * math.pi * (order * mains.view(-1, 1)).unsqueeze(-1) * time + phase.unsqueeze(-1)
    tone = (amplitude.unsqueeze(-1) * torch.sin(angle)).sum(dim=1, keepdim=True)
    tone = tone / _rms(tone) * _rms(audio) * 10.0 ** (level.view(batch, 1, 1) / 20.0)
    if record is not None:
        record.update(mains_hz=mains, hum_db=level, hum_decay=decay.flatten())
    return audio + tone.to(audio.dtype), torch.ones_like(audio[:, :1])


def clicks(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    per_second: tuple[float, float] = (0.5, 20.0),
    amplitude: tuple[float, float] = (0.05, 1.0),
    decay_samples: tuple[float, float] = (1.0, 8.0),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add impulsive clicks: a rate (per second, log-uniform in ``per_second``) of random-sign
    bursts of noise with exponential decay (time constant uniform in ``decay_samples``),
    each with a peak log-uniform in ``amplitude`` (full scale = 1). Samples a click covers
    (up to 5 time constants) get mask 0. Crackle is :func:`crackle`: many small clicks."""
    batch, _, length = audio.shape
    device = audio.device
    rate = _random.log_uniform(generator, (batch, 1), *per_second, device)
    slots = max(1, math.ceil(per_second[1] * length / sample_rate * 1.5))
    keep = _random.uniform(generator, (batch, slots), 0.0, 1.0, device) < (
        rate * length / sample_rate / slots)
    where = _random.integers(generator, (batch, slots), 0, length, device)
    peak = _random.log_uniform(generator, (batch, slots), *amplitude, device)
    sign = _random.integers(generator, (batch, slots), 0, 2, device) * 2 - 1
    impulses = torch.zeros(batch, 1, length, device=device)
    impulses.view(batch, length).scatter_add_(1, where, peak * sign * keep)
    support = torch.zeros_like(impulses)
    support.view(batch, length).scatter_add_(1, where, keep.float())
    tau = _random.uniform(generator, (batch, 1), *decay_samples, device)
    taps = torch.arange(CLICK_TAPS, device=device).float().view(1, -1)
    shape = torch.exp(-taps / tau) * (1.0 + 0.5 * _random.normal(generator, (batch, CLICK_TAPS),
                                                                   device))
    width = (5.0 * tau).ceil().clamp(max=CLICK_TAPS)
    inside = (taps < width).float()
    shape = (shape * inside / shape[:, :1]).unsqueeze(1)
    burst = taf.fftconvolve(impulses, shape)[..., :length]
    covered = taf.fftconvolve(support, inside.unsqueeze(1))[..., :length]
    mask = (covered < 0.5).float()
    burst = burst * (1.0 - mask)  # exactly zero outside the clicks (FFT rounding)
    if record is not None:
        record.update(clicks_per_second=rate.flatten(), click_count=keep.sum(dim=1))
    return audio + burst.to(audio.dtype), mask


def crackle(
    audio: torch.Tensor, generator: torch.Generator, *, sample_rate: int = 48_000,
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Vinyl-like crackle: 50 to 1000 small clicks per second (peaks 0.003 to 0.05)."""
    return clicks(audio, generator, sample_rate=sample_rate, per_second=(50.0, 1000.0),
                  amplitude=(0.003, 0.05), decay_samples=(0.5, 3.0), record=record)


def wow_flutter(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    wow_hz: tuple[float, float] = (0.3, 2.0),
    wow_depth: tuple[float, float] = (0.0, 0.003),
    flutter_hz: tuple[float, float] = (4.0, 20.0),
    flutter_depth: tuple[float, float] = (0.0, 0.0008),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Warp time by a slow (wow) and a fast (flutter) sinusoidal speed deviation.

    The speed is ``1 + d_w sin(2 pi f_w t + p_w) + d_f sin(2 pi f_f t + p_f)`` (depths are
    relative speed, e.g. 0.003 = 0.3 %); the read position is its integral, read with cubic
    (Catmull-Rom) interpolation.
    """
    batch, channels, length = audio.shape
    device = audio.device
    shape = (batch, 2)
    rate = torch.stack([_random.uniform(generator, (batch,), *wow_hz, device),
                        _random.uniform(generator, (batch,), *flutter_hz, device)], dim=1)
    depth = torch.stack([_random.uniform(generator, (batch,), *wow_depth, device),
                         _random.uniform(generator, (batch,), *flutter_depth, device)], dim=1)
    phase = _random.uniform(generator, shape, 0.0, 2 * math.pi, device)
    n = torch.arange(length, device=device, dtype=torch.float64).view(1, 1, -1)
    omega = (2 * math.pi * rate / sample_rate).double().unsqueeze(-1)
    start = phase.double().unsqueeze(-1)
    swing = torch.cos(start) - torch.cos(omega * n + start)
    offset = depth.double().unsqueeze(-1) / omega * swing
    position = (n + offset.sum(dim=1, keepdim=True)).clamp(0, length - 1)
    degraded = _cubic_read(audio, position.float().expand(batch, channels, length))
    if record is not None:
        record.update(wow_hz=rate[:, 0], wow_depth=depth[:, 0], flutter_hz=rate[:, 1],
                      flutter_depth=depth[:, 1])
    return degraded, torch.ones_like(audio[:, :1])


def _cubic_read(audio: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """Catmull-Rom interpolation of ``audio [..., time]`` at fractional ``position``."""
    last = audio.shape[-1] - 1
    base = position.floor().long()
    frac = position - base
    points = [audio.gather(-1, (base + k).clamp(0, last)) for k in (-1, 0, 1, 2)]
    p0, p1, p2, p3 = points
    return p1 + 0.5 * frac * (p2 - p0 + frac * (2 * p0 - 5 * p1 + 4 * p2 - p3
                                                 + frac * (3 * (p1 - p2) + p3 - p0)))
