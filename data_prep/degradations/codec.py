"""Lossy-codec band limits (MP3 and Ogg Vorbis through libsndfile): CPU only.

Real low-quality files are mostly lossy decodes: their band edge and the smeared, noise-filled
top octave come from the encoder. This runs where pairs are materialized (and may run in
DataLoader workers); it cannot run on a GPU.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile
import torch

from data_prep.degradations import _random
from restore import dsp

CODECS = (("MP3", "MPEG_LAYER_III"), ("OGG", "VORBIS"))
ENCODER_RATES = (8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
COMPRESSION = (0.3, 0.95)  # libsndfile compression level: higher = lower bitrate
EDGE_LEVEL = 1e-4  # the reported band edge: energy above it is below -40 dB of the total


def encode_decode(samples: np.ndarray, rate: int, codec: int, level: float) -> np.ndarray:
    """Round trip of mono float32 ``[frames]`` through codec ``codec`` (index in
    :data:`CODECS`) at ``rate`` Hz and compression ``level``; same length out."""
    container, subtype = CODECS[codec]
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=container, subtype=subtype,
                    compression_level=float(level))
    buffer.seek(0)
    decoded, _ = soundfile.read(buffer, dtype="float32")
    decoded = decoded.reshape(len(decoded), -1).mean(axis=1)
    out = np.zeros_like(samples)
    out[: min(len(decoded), len(samples))] = decoded[: len(samples)]
    return out


def band_edge_hz(audio: np.ndarray, rate: int) -> float:
    """Lowest frequency above which ``audio [frames]`` holds less than EDGE_LEVEL of its
    energy (Hann-windowed spectrum)."""
    power = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) ** 2
    above = np.cumsum(power[::-1])[::-1] / max(power.sum(), 1e-30)
    edge = np.nonzero(above < EDGE_LEVEL)[0]
    return float(edge[0] * rate / len(audio)) if len(edge) else rate / 2.0


def codec_band_limit(
    audio: torch.Tensor,
    generator: torch.Generator,
    *,
    sample_rate: int = 48_000,
    record: dict | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode and decode each item of ``audio [batch, channels, time]`` (CPU) with MP3 or
    Vorbis at a rate from :data:`ENCODER_RATES` and a compression level uniform in
    :data:`COMPRESSION` (roughly 15 to 130 kbit/s). ``record["cutoff_hz"]`` gets the measured
    band edge of each decode (at most the encoder's Nyquist frequency)."""
    batch, channels, length = audio.shape
    codec = _random.integers(generator, (batch,), 0, len(CODECS), torch.device("cpu"))
    rate_index = _random.integers(generator, (batch,), 0, len(ENCODER_RATES), torch.device("cpu"))
    level = _random.uniform(generator, (batch,), *COMPRESSION, torch.device("cpu"))
    degraded = torch.empty_like(audio)
    cutoff = torch.empty(batch)
    for item in range(batch):
        rate = ENCODER_RATES[int(rate_index[item])]
        for channel in range(channels):
            low = dsp.resample(audio[item, channel].float().cpu(), sample_rate, rate).numpy()
            decoded = encode_decode(low, rate, int(codec[item]), float(level[item]))
            back = dsp.resample(torch.from_numpy(decoded), rate, sample_rate)[:length]
            degraded[item, channel, : len(back)] = back.to(audio.dtype)
            degraded[item, channel, len(back):] = 0
        cutoff[item] = min(band_edge_hz(degraded[item, 0].numpy(), sample_rate), rate / 2)
    if record is not None:
        record.update(cutoff_hz=cutoff, codec=codec, encoder_rate=torch.tensor(
            [ENCODER_RATES[int(i)] for i in rate_index]), compression=level)
    return degraded, torch.ones_like(audio[:, :1])
