"""Band limitation on the GPU: varied IIR low-pass shapes and resampling down and back up.

Audio is ``[batch, channels, time]`` at ``sample_rate``; every function returns
``(degraded, mask)`` with an all-ones mask (every sample's low band stays reliable) and writes
the known band's upper edge per item into ``record["cutoff_hz"]`` when ``record`` is given.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.signal
import torch
import torchaudio.functional as taf

from data_prep.degradations import _random
from restore import dsp

RESAMPLE_RATES = (8_000, 11_025, 16_000, 22_050, 24_000, 32_000)
_GRID = np.logspace(-3.0, 3.0, 4097)  # analog prototype frequencies (rad/s, edge at 1)
CHEAP_RESAMPLER = {"lowpass_filter_width": 16, "rolloff": 0.97}  # Hann sinc: ~ -47 dB leakage
EDGE_TAPER = 0.03  # the last 3 % below the cutoff fall to exactly zero (raised cosine)


def _prototypes() -> list[tuple[str, tuple]]:
    """Analog low-pass prototypes (scipy designs): Butterworth, Chebyshev I/II, elliptic, Bessel."""
    designs: list[tuple[str, tuple]] = []
    designs += [("butter", (order,)) for order in (2, 4, 6, 8, 12)]
    designs += [("cheby1", (order, ripple)) for order in (4, 6, 8) for ripple in (0.5, 1.0, 3.0)]
    designs += [("cheby2", (order, stop)) for order in (4, 6, 8) for stop in (40.0, 60.0, 80.0)]
    designs += [("ellip", (order, ripple, stop)) for order in (4, 6, 8)
                for ripple, stop in ((0.5, 60.0), (1.0, 80.0))]
    designs += [("bessel", (order,)) for order in (4, 8)]
    return designs


PROTOTYPES = tuple(name + "-" + "-".join(str(p) for p in params) for name, params in _prototypes())


@functools.lru_cache(maxsize=8)
def _prototype_table(device: str) -> torch.Tensor:
    """Log magnitude ``[prototypes, grid]`` of every prototype on the log-spaced grid."""
    makers = {
        "butter": scipy.signal.buttap,
        "cheby1": scipy.signal.cheb1ap,
        "cheby2": scipy.signal.cheb2ap,
        "ellip": scipy.signal.ellipap,
        "bessel": lambda order: scipy.signal.besselap(order, norm="mag"),
    }
    rows = []
    for name, params in _prototypes():
        zeros, poles, gain = makers[name](*params)
        _, response = scipy.signal.freqs_zpk(zeros, poles, gain, worN=_GRID)
        rows.append(np.log(np.maximum(np.abs(response), 1e-12)))
    return torch.tensor(np.stack(rows), dtype=torch.float32, device=device)


def iir_response(
    frequencies: torch.Tensor, cutoff_hz: torch.Tensor, edge_hz: torch.Tensor,
    prototype: torch.Tensor, sample_rate: int,
) -> torch.Tensor:
    """Magnitude ``[batch, 1, bins]`` of digital IIR low-passes at ``frequencies [bins]`` Hz.

    A bilinear-transform design has the analog prototype's response at the pre-warped
    frequency ``tan(pi f / rate) / tan(pi edge / rate)``; ``edge_hz``, ``cutoff_hz`` and
    ``prototype`` (index into :data:`PROTOTYPES`) are ``[batch]``. Above ``cutoff_hz`` the
    response is exactly 0 (raised-cosine taper over the last :data:`EDGE_TAPER` below it).
    """
    table = _prototype_table(str(frequencies.device))
    nyquist_guard = torch.clamp(frequencies, max=0.4999 * sample_rate)
    warped = torch.tan(math.pi * nyquist_guard / sample_rate).view(1, -1)
    edge = torch.tan(math.pi * edge_hz / sample_rate).view(-1, 1)
    position = (torch.log10(warped / edge + 1e-30) + 3.0) / 6.0 * (len(_GRID) - 1)
    position = position.clamp(0, len(_GRID) - 1.001)
    lower = position.floor().long()
    weight = position - lower
    rows = table[prototype]
    log_magnitude = rows.gather(1, lower) * (1 - weight) + rows.gather(1, lower + 1) * weight
    ramp = ((cutoff_hz.view(-1, 1) - frequencies.view(1, -1))
            / (EDGE_TAPER * cutoff_hz.view(-1, 1))).clamp(0.0, 1.0)
    taper = 0.5 - 0.5 * torch.cos(math.pi * ramp)
    return (torch.exp(log_magnitude) * taper).unsqueeze(1)


def filter_by_response(
    audio: torch.Tensor, response_fn, sample_rate: int, pad: int = 8192
) -> torch.Tensor:
    """Zero-phase filtering of ``audio [batch, channels, time]`` in the frequency domain.

    ``response_fn(frequencies [bins]) -> [batch, 1, bins]`` real gains. The signal is reflect
    padded by ``pad`` samples on both sides so that the circular FFT does not wrap its edges.
    """
    length = audio.shape[-1]
    padded = _reflect_pad(audio.float(), min(pad, length - 1))
    size = padded.shape[-1]
    spectrum = torch.fft.rfft(padded, n=size)
    frequencies = torch.fft.rfftfreq(size, d=1.0 / sample_rate).to(audio.device)
    filtered = torch.fft.irfft(spectrum * response_fn(frequencies), n=size)
    start = (size - length) // 2
    return filtered[..., start:start + length].to(audio.dtype)


def _reflect_pad(audio: torch.Tensor, pad: int) -> torch.Tensor:
    if pad <= 0:
        return audio
    return torch.nn.functional.pad(audio, (pad, pad), mode="reflect")


def lowpass_filters(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    min_cutoff_hz: float = 2_000.0,
    max_cutoff_hz: float = 20_000.0,
    edge_ratio: tuple[float, float] = (0.7, 1.0),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Low-pass each item with a random prototype (:data:`PROTOTYPES`) and cutoff.

    Cutoffs are log-uniform in ``[min_cutoff_hz, max_cutoff_hz]``; the prototype's pass-band
    edge sits at ``edge_ratio`` (uniform) times the cutoff, so shapes range from a soft
    Butterworth roll-off to an elliptic cliff; nothing is left above the cutoff.
    """
    batch = audio.shape[0]
    device = audio.device
    cutoff = _random.log_uniform(generator, (batch,), min_cutoff_hz, max_cutoff_hz, device)
    edge = cutoff * _random.uniform(generator, (batch,), *edge_ratio, device)
    prototype = _random.integers(generator, (batch,), 0, len(PROTOTYPES), device)
    degraded = filter_by_response(
        audio,
        lambda freqs: iir_response(freqs, cutoff, edge, prototype, sample_rate),
        sample_rate,
    )
    if record is not None:
        record.update(cutoff_hz=cutoff, edge_hz=edge, prototype=prototype)
    return degraded, torch.ones_like(audio[:, :1])


def resample_down_up(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    rates: tuple[int, ...] = RESAMPLE_RATES,
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample each item down to a rate drawn from ``rates`` and back to ``sample_rate``.

    Half the items use the high-quality Kaiser sinc of :func:`restore.dsp.resample`, half a
    shorter Hann sinc (:data:`CHEAP_RESAMPLER`: softer edge, images at about -47 dB), as
    real converters differ. The known band's upper edge is the lower rate's Nyquist frequency.
    """
    batch, _, length = audio.shape
    device = audio.device
    rate_index = _random.integers(generator, (batch,), 0, len(rates), device)
    cheap = _random.integers(generator, (batch,), 0, 2, device).bool()
    degraded = audio.clone()
    for index, rate in enumerate(rates):
        for quality in (False, True):
            chosen = ((rate_index == index) & (cheap == quality)).nonzero().flatten()
            if chosen.numel():
                degraded[chosen] = _down_up(audio[chosen], sample_rate, rate, quality)
    cutoff = torch.tensor(rates, dtype=torch.float32, device=device)[rate_index] / 2.0
    if record is not None:
        record.update(cutoff_hz=cutoff, low_rate=cutoff * 2.0, cheap_resampler=cheap)
    return degraded, torch.ones_like(audio[:, :1])


def _down_up(audio: torch.Tensor, rate: int, low_rate: int, cheap: bool) -> torch.Tensor:
    length = audio.shape[-1]
    if cheap:
        gcd = math.gcd(rate, low_rate)
        down = taf.resample(audio, rate // gcd, low_rate // gcd, **CHEAP_RESAMPLER)
        up = taf.resample(down, low_rate // gcd, rate // gcd, **CHEAP_RESAMPLER)
    else:
        up = dsp.resample(dsp.resample(audio, rate, low_rate), low_rate, rate)
    if up.shape[-1] < length:
        up = torch.nn.functional.pad(up, (0, length - up.shape[-1]))
    return up[..., :length]


CODEC_FFT = 1024  # STFT size of the codec-like degradation (AAC's long-block resolution)


def codec_like(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    min_cutoff_hz: float = 4_000.0,
    max_cutoff_hz: float = 20_000.0,
    floor_db: tuple[float, float] = (-70.0, -30.0),
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What perceptual coders at low bit rates leave: a brick-wall band limit and holes.

    In an STFT (:data:`CODEC_FFT`, Hann, 75 % overlap) every bin above the cutoff (log-uniform
    in ``[min_cutoff_hz, max_cutoff_hz]``) is zeroed, and below it every bin quieter than
    ``floor_db`` (uniform) under its frame's loudest bin, as a coder does with bands it spends
    no bits on; in a random share (0-30 %) of the frames the top sixth of the band also drops
    out ("birdies"). Inputs to ``restore upsample`` made from MP3/AAC/Opus decodes look like
    this. The known band's edge is the cutoff.
    """
    batch, channels, length = audio.shape
    device = audio.device
    cutoff = _random.log_uniform(generator, (batch,), min_cutoff_hz, max_cutoff_hz, device)
    floor = _random.uniform(generator, (batch,), *floor_db, device)
    window = torch.hann_window(CODEC_FFT, device=device)
    flat = audio.float().reshape(batch * channels, length)
    spectrum = torch.stft(flat, CODEC_FFT, CODEC_FFT // 4, window=window, return_complex=True)
    spectrum = spectrum.view(batch, channels, *spectrum.shape[-2:])  # [b, c, bins, frames]
    frames = spectrum.shape[-1]
    frequencies = torch.fft.rfftfreq(CODEC_FFT, 1.0 / sample_rate).to(device).view(1, 1, -1, 1)
    drop_share = _random.uniform(generator, (batch, 1, 1, 1), 0.0, 0.3, device)
    dropped = _random.uniform(generator, (batch, 1, 1, frames), 0.0, 1.0, device) < drop_share
    edge = cutoff.view(-1, 1, 1, 1) * torch.where(dropped, 5.0 / 6.0, 1.0)
    magnitude = spectrum.abs()
    loudest = magnitude.amax(dim=2, keepdim=True)
    audible = magnitude >= loudest * 10.0 ** (floor.view(-1, 1, 1, 1) / 20.0)
    kept = (frequencies < edge) & audible
    coded = torch.istft((spectrum * kept).view(batch * channels, *spectrum.shape[-2:]),
                        CODEC_FFT, CODEC_FFT // 4, window=window, length=length)
    if record is not None:
        record.update(cutoff_hz=cutoff, codec_floor_db=floor, codec_drop_share=drop_share.flatten())
    return coded.view(batch, channels, length).to(audio.dtype), torch.ones_like(audio[:, :1])
