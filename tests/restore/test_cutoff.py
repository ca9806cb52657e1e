"""The conservative bandwidth estimate: dark, shelved, quiet and tonal audio is full band; codec
decodes, low-passed and resampled audio are band-limited where their content ends."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy import signal

from restore import dsp
from restore.cutoff import SpectrumStats, estimate_bandwidth

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 48_000


def music(rng, seconds: float = 6.0, rate: int = RATE, rolloff: float = 2.0) -> np.ndarray:
    """``[1, n]`` music-like audio: decaying harmonic notes (partials falling ``rolloff``
    per harmonic number, in powers) over a little low-passed noise."""
    t = np.arange(int(seconds * rate)) / rate
    audio = np.zeros_like(t)
    for index, f0 in enumerate((220.0, 330.0, 440.0, 262.0)):
        envelope = np.exp(-3 * ((t - index * seconds / 4) % (seconds / 4)))
        for harmonic in range(1, int(rate / 2 / f0)):
            phase = rng.uniform(0, 2 * np.pi)
            audio += envelope * np.sin(2 * np.pi * f0 * harmonic * t + phase) * harmonic**-rolloff
    b, a = signal.butter(1, 2000, fs=rate)
    audio += 0.01 * signal.lfilter(b, a, rng.standard_normal(t.size))
    return (0.3 * audio / np.abs(audio).max())[None]


def quantised(audio: np.ndarray, rng) -> np.ndarray:
    """16-bit with TPDF dither."""
    dither = (rng.random(audio.shape) - rng.random(audio.shape)) / 32768
    return np.round((audio + dither) * 32768) / 32768


def high_shelf(audio: np.ndarray, gain_db: float, corner_hz: float = 4000.0) -> np.ndarray:
    b, a = signal.butter(2, corner_hz, "high", fs=RATE)
    high = signal.lfilter(b, a, audio, axis=-1)
    return audio - high + high * 10 ** (gain_db / 20)


def lowpass(audio: np.ndarray, cutoff_hz: float, rate: int = RATE) -> np.ndarray:
    taps = signal.firwin(2047, cutoff_hz, fs=rate, window=("kaiser", 12.0))
    return signal.lfilter(taps, 1, audio, axis=-1)


def full_band(audio: np.ndarray, rate: int = RATE) -> bool:
    estimate = estimate_bandwidth(audio, rate)
    return not estimate.band_limited and estimate.cutoff_hz == rate / 2


@pytest.mark.parametrize("case", ["dark", "dark 16-bit", "quiet -40 dB 16-bit", "shelf -20 dB",
                                  "shelf -26 dB", "low-pass 5 kHz under -66 dBFS hiss"])
def test_dark_shelved_quiet_music_is_full_band(rng, case):
    audio = music(rng)
    made = {
        "dark": lambda: audio,
        "dark 16-bit": lambda: quantised(audio, rng),
        "quiet -40 dB 16-bit": lambda: quantised(0.01 * audio, rng),
        "shelf -20 dB": lambda: high_shelf(audio, -20.0),
        "shelf -26 dB": lambda: high_shelf(audio, -26.0),
        "low-pass 5 kHz under -66 dBFS hiss": lambda: lowpass(audio, 5000)
        + 10 ** (-66 / 20) * rng.standard_normal(audio.shape),
    }[case]()
    assert full_band(made)


@pytest.mark.parametrize("subtype_bits", [None, 16])
def test_pure_tones_are_full_band(rng, subtype_bits):
    t = np.arange(4 * RATE) / RATE
    for tone in (0.5 * np.sin(2 * np.pi * 1000 * t), 0.03 * np.sin(2 * np.pi * 440 * t),
                 0.3 * np.sin(2 * np.pi * 100 * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)):
        audio = tone[None] if subtype_bits is None else np.round(tone * 32767)[None] / 32767
        assert full_band(audio)


def test_music_low_passed_with_a_cliff_is_band_limited_with_evidence(rng):
    audio = quantised(lowpass(music(rng, rolloff=1.0), 11_025), rng)
    estimate = estimate_bandwidth(audio, RATE)
    assert estimate.band_limited
    assert estimate.cutoff_hz == pytest.approx(11_025, abs=300)
    assert estimate.drop_db >= 20 and estimate.floor_dbfs <= -90
    assert estimate.as_dict()["cutoff_hz"] == round(estimate.cutoff_hz, 1)


def test_a_click_does_not_make_a_decode_full_band(rng):
    audio = lowpass(0.2 * rng.standard_normal((1, 4 * RATE)), 8000)
    audio[:, 2 * RATE:2 * RATE + 48] = 0.0  # a 1 ms dropout: a broadband step on each side
    audio[:, 3 * RATE] = 0.9  # a click
    assert estimate_bandwidth(audio, RATE).cutoff_hz == pytest.approx(8000, abs=250)


@pytest.mark.parametrize("fmt,subtype,rate", [("MP3", "MPEG_LAYER_III", 44_100),
                                              ("OGG", "VORBIS", 44_100),
                                              ("OGG", "OPUS", 48_000)])
def test_codec_decodes_are_band_limited(rng, fmt, subtype, rate):
    if subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"this libsndfile cannot write {subtype}")
    source = lowpass(music(rng, 6.0, rate, rolloff=1.0), 0.45 * rate, rate)[0]
    buffer = io.BytesIO()
    sf.write(buffer, source, rate, format=fmt, subtype=subtype, compression_level=0.9)
    buffer.seek(0)
    decoded = sf.read(buffer, dtype="float32", always_2d=True)[0].T
    estimate = estimate_bandwidth(decoded, rate)
    assert estimate.band_limited and 3000 < estimate.cutoff_hz < 0.45 * rate


def test_resampled_audio_is_band_limited_at_the_low_rate(rng):
    low = music(rng, 4.0, 16_000, rolloff=1.0)
    # 16 kHz -> 48 kHz with a stop band far below the floor: nothing above 8 kHz
    up = dsp.resample(torch.from_numpy(low.astype(np.float32)), 16_000, RATE).numpy()
    estimate = estimate_bandwidth(up, RATE)
    assert estimate.band_limited and 7000 < estimate.cutoff_hz <= 8200


def test_block_wise_equals_whole(rng):
    audio = lowpass(0.2 * rng.standard_normal((2, 5 * RATE)), 12_000)
    stats = SpectrumStats(RATE)
    for block in np.array_split(audio, [1000, 50_000, 50_001, 170_000], axis=1):
        stats.add(block)
    assert stats.estimate() == estimate_bandwidth(audio, RATE)


def test_silence_and_short_input_are_full_band():
    assert full_band(np.zeros((1, RATE)))
    assert full_band(np.full((1, 100), 0.1))
