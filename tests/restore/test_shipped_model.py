"""The shipped default model against the classical baselines on small generated music-like clips.

A quick version of issue 7's quality bars (the full ones run on the test split through
``python -m evaluation run``): a 200 ms gap filled by ``restore.inpaint`` against AR
interpolation, and 8 kHz -> 48 kHz by ``restore.upsample`` against sinc resampling, scored with
``evaluation.metrics`` exactly as the evaluation harness scores them. A bar the model misses is
marked ``xfail(strict=True)`` (the measured numbers are in docs/results.md): the suite stays
green, the miss stays visible, and the mark must go once the model passes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import scipy.signal
import torch

import restore
from evaluation import metrics
from restore import dsp
from restore.checkpoint import LoadedModel, load_model
from restore.classical.ar import ar_inpaint
from restore.classical.resample import sinc_upsample
from restore.config import MODEL_RATE
from restore.tasks.inpaint import margin_frames

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

CLIP_SECONDS = 2.5
GAP_SECONDS = (1.15, 1.35)  # 200 ms, inside a sustained chord, 50 ms after a drum hit
INPUT_RATE = 8_000
NYQUIST_HZ = INPUT_RATE / 2  # LSD-HF / LSD-LF split (NU-Wave 2's rule, as the harness)
INTACT_HZ = dsp.RESAMPLE_ROLLOFF * NYQUIST_HZ  # the band the model is told is intact


def music_like(seed: int, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """``[1, frames]`` at 48 kHz: a three-note chord with vibrato and drum-like hits.

    Notes: harmonic series up to 18 kHz (amplitudes ``1 / k^1.2``), 5.5 Hz vibrato, staggered
    attacks and slow decays. Hits every 0.5 s: decaying noise bursts through three two-pole
    resonators (0.9, 3.1, 7 kHz). Plus a -54 dBFS noise floor; peak 0.5.
    """
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * MODEL_RATE)) / MODEL_RATE
    out = np.zeros_like(time)
    for f0, onset in ((220.0, 0.0), (277.2, 0.4), (329.6, 0.8)):
        vibrato = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * time + rng.uniform(0, 2 * np.pi))
        phase = 2 * np.pi * np.cumsum(f0 * vibrato) / MODEL_RATE
        since = np.clip(time - onset, 0, None)
        envelope = np.clip(since * 20, 0, 1) * np.exp(-0.3 * since)
        for k in range(1, int(18_000 / f0)):
            out += envelope * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k**1.2
    noise = rng.standard_normal(time.size)
    bursts = np.zeros_like(time)
    decay = np.exp(-np.arange(int(0.15 * MODEL_RATE)) / (0.03 * MODEL_RATE))
    for onset in np.arange(0.1, seconds, 0.5):
        start = int(onset * MODEL_RATE)
        stop = min(start + decay.size, time.size)
        bursts[start:stop] += noise[start:stop] * decay[: stop - start]
    for centre_hz in (900.0, 3100.0, 7000.0):
        radius, omega = 0.995, 2 * np.pi * centre_hz / MODEL_RATE
        out += 0.3 * scipy.signal.lfilter(
            [1 - radius], [1, -2 * radius * np.cos(omega), radius**2], bursts)
    out += 0.002 * noise
    return (0.5 * out / np.abs(out).max())[None].astype(np.float32)


@pytest.fixture(scope="module")
def model() -> Iterator[LoadedModel]:
    """The shipped default model, run with (at most) two CPU threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    yield load_model(None, device="cpu")
    torch.set_num_threads(threads)


@pytest.mark.parametrize("seed", [0, 1])
def test_inpaint_200ms_gap_beats_ar_interpolation(model: LoadedModel, seed: int) -> None:
    reference = music_like(seed)
    start, end = (int(seconds * MODEL_RATE) for seconds in GAP_SECONDS)
    holed = reference.copy()
    holed[:, start:end] = 0.0
    gap_mask = np.zeros(reference.shape[1], dtype=bool)
    gap_mask[start:end] = True

    # method="diffusion": the default "auto" hands short gaps to AR (AUTO_CLASSICAL_BELOW_SECONDS);
    # this test is the model's.
    filled = restore.inpaint(holed, MODEL_RATE, [GAP_SECONDS], model=model, seed=0,
                             device="cpu", method="diffusion")
    baseline = ar_inpaint(holed, gap_mask, MODEL_RATE)

    margin = margin_frames(MODEL_RATE)  # the raised-cosine join on each side of the gap
    np.testing.assert_array_equal(filled[:, : start - margin], reference[:, : start - margin])
    np.testing.assert_array_equal(filled[:, end + margin :], reference[:, end + margin :])
    model_lsd = metrics.lsd_in_regions(filled, reference, [(start, end)])
    ar_lsd = metrics.lsd_in_regions(baseline, reference, [(start, end)])
    assert model_lsd < ar_lsd, f"gap LSD: model {model_lsd:.3f}, AR {ar_lsd:.3f}"


@pytest.fixture(scope="module")
def upsampled(model: LoadedModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(reference, model output, sinc output)``, each ``[1, frames]`` at 48 kHz."""
    reference = music_like(0)
    low = dsp.resample(torch.from_numpy(reference), MODEL_RATE, INPUT_RATE).numpy()
    extended = restore.upsample(low, INPUT_RATE, MODEL_RATE, cutoff_hz=INTACT_HZ, model=model,
                                seed=0, device="cpu")
    baseline = sinc_upsample(low, INPUT_RATE, MODEL_RATE)
    frames = reference.shape[1]
    assert extended.shape[1] >= frames and baseline.shape[1] >= frames
    return reference, extended[:, :frames], baseline[:, :frames]


def test_upsample_8k_beats_sinc_above_the_cutoff(upsampled) -> None:
    reference, extended, baseline = upsampled
    model_hf = metrics.lsd_hf(extended, reference, MODEL_RATE, NYQUIST_HZ)
    sinc_hf = metrics.lsd_hf(baseline, reference, MODEL_RATE, NYQUIST_HZ)
    assert model_hf < sinc_hf, f"LSD-HF: model {model_hf:.3f}, sinc {sinc_hf:.3f}"


@pytest.mark.xfail(strict=True, reason=(
    "LSD-LF (bins below 4 kHz) misses the bar of 0.1 (numbers: docs/results.md); the error sits "
    "in the resampler's roll-off band 3.5-4 kHz"))
def test_upsample_8k_keeps_the_band_below_the_cutoff(upsampled) -> None:
    reference, extended, _ = upsampled
    model_lf = metrics.lsd_lf(extended, reference, MODEL_RATE, NYQUIST_HZ)
    assert model_lf <= 0.1, f"LSD-LF: model {model_lf:.3f}"
