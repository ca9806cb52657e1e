"""Pure tensor DSP: resampling, linear-phase low-pass and crossover, fades.

All functions take and return ``torch.Tensor`` with time as the last axis (``[..., time]``);
rates are in Hz, lengths in samples unless a name says ``_seconds``. Nothing here touches files.
"""

from __future__ import annotations

import math

import scipy.fft
import torch
import torchaudio.functional as taf

# Resampling quality: a long Kaiser-windowed sinc (torchaudio's kaiser_window method).
RESAMPLE_LOWPASS_WIDTH = 64  # zero crossings of the sinc kernel on each side
RESAMPLE_ROLLOFF = 0.945  # cutoff as a fraction of the lower Nyquist frequency
RESAMPLE_BETA = 14.769656459379492  # Kaiser beta giving about 120 dB stop-band attenuation

DEFAULT_TRANSITION_HZ = 500.0  # width of the crossover's raised-cosine transition band
KERNEL_WIDTH_TRANSITIONS = 8.0  # FIR length in units of rate / transition_hz


def resample(audio: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited (sinc) resampling of ``audio [..., time]`` from ``orig_rate`` to ``new_rate``.

    Output length is ``ceil(time * new_rate / orig_rate)``.
    """
    if orig_rate == new_rate:
        return audio
    gcd = math.gcd(int(orig_rate), int(new_rate))
    return taf.resample(
        audio,
        int(orig_rate) // gcd,
        int(new_rate) // gcd,
        lowpass_filter_width=RESAMPLE_LOWPASS_WIDTH,
        rolloff=RESAMPLE_ROLLOFF,
        resampling_method="sinc_interp_kaiser",
        beta=RESAMPLE_BETA,
    )


def lowpass_kernel(
    cutoff_hz: torch.Tensor | float,
    rate: int,
    transition_hz: float = DEFAULT_TRANSITION_HZ,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Linear-phase FIR low-pass kernels ``[batch, 1, taps]`` (odd ``taps``, centred).

    The ideal response is 1 below ``cutoff_hz - transition_hz / 2``, 0 above
    ``cutoff_hz + transition_hz / 2`` and a raised cosine between; its impulse response
    (a sinc times the raised-cosine taper) is truncated by a Kaiser window (beta 10, about
    100 dB stop band). ``cutoff_hz`` may be a float or a ``[batch]`` tensor.
    """
    cutoff = torch.as_tensor(cutoff_hz, dtype=torch.float64, device=device).reshape(-1, 1, 1)
    half = int(KERNEL_WIDTH_TRANSITIONS * rate / transition_hz) // 2
    t = torch.arange(-half, half + 1, dtype=torch.float64, device=cutoff.device) / rate
    ideal = 2.0 * cutoff / rate * torch.sinc(2.0 * cutoff * t)
    # raised-cosine transition: multiply the sinc by the transform of a cosine taper
    x = transition_hz * t
    taper = torch.where(
        (2.0 * x).abs().sub(1.0).abs() < 1e-9,
        torch.full_like(x, math.pi / 4.0),
        torch.cos(math.pi * x) / (1.0 - (2.0 * x) ** 2),
    )
    window = torch.kaiser_window(2 * half + 1, periodic=False, beta=10.0, dtype=torch.float64,
                                 device=cutoff.device)  # made there: no copy, no CUDA sync
    kernel = ideal * taper * window
    kernel = kernel / kernel.sum(dim=-1, keepdim=True)  # unit gain at DC
    return kernel.float()


def fast_fft_length(length: int) -> int:
    """The smallest ``n >= length`` whose prime factors are 2, 3 and 5 (a fast FFT size)."""
    return scipy.fft.next_fast_len(length, real=True)


class Lowpass:
    """:func:`lowpass` planned for signals of one ``length``: the kernel and its spectrum are
    made once, so each call costs one forward and one inverse FFT (the sampler calls it at
    every step, on the device the signals live on).
    """

    def __init__(self, cutoff_hz: torch.Tensor | float, rate: int, length: int,
                 transition_hz: float = DEFAULT_TRANSITION_HZ,
                 device: torch.device | None = None) -> None:
        kernel = lowpass_kernel(cutoff_hz, rate, transition_hz, device=device)
        self.half, self.length = kernel.shape[-1] // 2, length
        padded = length + 2 * self.half
        self.fft_length = fast_fft_length(padded + kernel.shape[-1] - 1)
        self.spectrum = torch.fft.rfft(kernel, n=self.fft_length)  # [batch or 1, 1, bins]

    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        """``audio [batch, channels, length]`` low-passed, same shape and dtype."""
        if audio.dim() != 3 or audio.shape[-1] != self.length:
            raise ValueError(f"Lowpass planned for [batch, channels, {self.length}], got "
                             f"{tuple(audio.shape)}")
        padded = _reflect_pad(audio.float(), self.half)
        spectrum = torch.fft.rfft(padded, n=self.fft_length) * self.spectrum
        filtered = torch.fft.irfft(spectrum, n=self.fft_length)  # full linear convolution
        start = 2 * self.half  # "valid" part, as fftconvolve(mode="valid")
        return filtered[..., start:start + self.length].to(audio.dtype)


def lowpass(
    audio: torch.Tensor,
    cutoff_hz: torch.Tensor | float,
    rate: int,
    transition_hz: float = DEFAULT_TRANSITION_HZ,
) -> torch.Tensor:
    """Zero-delay linear-phase FIR low-pass of ``audio [batch, channels, time]``.

    The signal is reflect-padded by half the kernel so the output has the input's length and
    no zero-padding step at the edges. ``cutoff_hz``: float or ``[batch]`` tensor.
    """
    if audio.dim() != 3:
        raise ValueError(f"lowpass expects [batch, channels, time], got {tuple(audio.shape)}")
    return Lowpass(cutoff_hz, rate, audio.shape[-1], transition_hz, audio.device)(audio)


def _reflect_pad(audio: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflect-pad the last axis by ``pad`` on both sides, repeating reflections if short."""
    while pad > 0:
        step = min(pad, audio.shape[-1] - 1)
        if step <= 0:
            return torch.nn.functional.pad(audio, (pad, pad))
        audio = torch.nn.functional.pad(audio, (step, step), mode="reflect")
        pad -= step
    return audio


def crossover(
    low_source: torch.Tensor,
    high_source: torch.Tensor,
    cutoff_hz: torch.Tensor | float,
    rate: int,
    transition_hz: float = DEFAULT_TRANSITION_HZ,
) -> torch.Tensor:
    """Band below ``cutoff_hz`` from ``low_source``, band above from ``high_source``.

    Both are ``[batch, channels, time]``. The split is complementary: if both sources are the
    same signal the output equals it (up to float rounding).
    """
    return high_source + lowpass(low_source - high_source, cutoff_hz, rate, transition_hz)


def planned_crossover(low_source: torch.Tensor, high_source: torch.Tensor,
                      split: Lowpass) -> torch.Tensor:
    """:func:`crossover` with a planned low-pass ``split`` (the cutoff and width it was made
    with)."""
    return high_source + split(low_source - high_source)


def equal_power_fades(length: int, device: torch.device | None = None) -> tuple[torch.Tensor, ...]:
    """``(fade_out, fade_in)`` of ``length`` samples with ``fade_out**2 + fade_in**2 == 1``."""
    position = (torch.arange(length, device=device, dtype=torch.float32) + 0.5) / max(length, 1)
    return torch.cos(0.5 * math.pi * position), torch.sin(0.5 * math.pi * position)


def raised_cosine_fades(
    length: int, device: torch.device | None = None
) -> tuple[torch.Tensor, ...]:
    """``(fade_out, fade_in)`` of ``length`` samples with ``fade_out + fade_in == 1``."""
    position = (torch.arange(length, device=device, dtype=torch.float32) + 0.5) / max(length, 1)
    fade_in = 0.5 - 0.5 * torch.cos(math.pi * position)
    return 1.0 - fade_in, fade_in
