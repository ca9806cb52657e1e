"""Bandwidth extension: generate the band above the known cutoff, keep the band below it.

Works through :mod:`restore.chunking` so that long files stream with bounded memory: each
window (with real context on both sides) is resampled from the input rate to the model's
48 kHz, its missing band is sampled, the result is resampled to the output rate, and the band
below the cutoff is taken from the input (resampled straight to the output rate) through the
linear-phase crossover :func:`restore.dsp.crossover`, so the output's low band is the input's.

Windows of one batch are blended at every sampler step and each batch is conditioned on the
previous batch's last window (see :mod:`restore.chunking`), so neighbouring windows agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from restore import dsp
from restore.chunking import WindowBatch, WindowPlan, blend_windows, make_plan, overlap_add_stream
from restore.config import MODEL_RATE

WINDOW_SECONDS = 1.0  # core of each window
OVERLAP_SECONDS = 0.25  # cores of neighbouring windows overlap by this much
CONTEXT_SECONDS = 0.25  # real audio added on each side and discarded
FULL_BAND_FRACTION = 0.95  # a known band this close to the output Nyquist needs no generation
OUTPUT_RATES = (44_100, 48_000)  # rates the method is meant for (others: resampled from 48 kHz)


def known_cutoff_hz(in_rate: int, out_rate: int, detected_hz: float | None) -> float:
    """Upper edge of the band kept from the input, in Hz.

    The lower of: the detected (or given) effective cutoff, and the part of the input's Nyquist
    band that the resampler passes (``dsp.RESAMPLE_ROLLOFF``); minus half the crossover's
    transition band, so the crossover never reaches into the empty band.
    """
    edge = dsp.RESAMPLE_ROLLOFF * min(in_rate, out_rate) / 2
    if detected_hz is not None:
        edge = min(edge, float(detected_hz))
    return max(edge - dsp.DEFAULT_TRANSITION_HZ / 2, dsp.DEFAULT_TRANSITION_HZ)


def needs_generation(cutoff_hz: float, out_rate: int) -> bool:
    """Whether a band between ``cutoff_hz`` and the output's Nyquist is missing."""
    full_band = FULL_BAND_FRACTION * min(out_rate, MODEL_RATE) / 2
    return cutoff_hz < full_band - dsp.DEFAULT_TRANSITION_HZ


def upsample_plan(in_rate: int, out_rate: int, *, window_seconds: float = WINDOW_SECONDS,
                  overlap_seconds: float = OVERLAP_SECONDS,
                  context_seconds: float = CONTEXT_SECONDS) -> WindowPlan:
    """Window geometry in input samples, integral at the output and the model rate."""
    return make_plan(round(window_seconds * in_rate), round(overlap_seconds * in_rate),
                     round(context_seconds * in_rate), in_rate, out_rate, MODEL_RATE)


@dataclass
class BandwidthProcess:
    """Processing function for :func:`restore.chunking.overlap_add_stream` (diffusion method).

    Keeps the previous batch's last window (model rate, components) to condition the next batch.
    """

    sampling: object  # restore.tasks.runner.Sampling
    in_rate: int
    out_rate: int
    cutoff_hz: float
    _head: tuple[int, torch.Tensor] | None = field(default=None, repr=False)

    def __call__(self, batch: WindowBatch) -> torch.Tensor:
        from restore.tasks.runner import sample_components
        from restore.tasks.stereo import to_components

        plan = batch.plan
        gcd = math.gcd(self.in_rate, MODEL_RATE)
        up, down = MODEL_RATE // gcd, self.in_rate // gcd
        audio = batch.audio.to(self.sampling.device)  # resample where the model runs
        model_audio = dsp.resample(audio, self.in_rate, MODEL_RATE)
        model_audio = model_audio[..., :plan.padded * up // down]
        head = self._head

        def blend(components: torch.Tensor) -> torch.Tensor:
            moved = None if head is None else (head[0], head[1].to(components))
            return blend_windows(components, batch.starts, plan, up, down, moved)[0]

        mask = torch.ones(model_audio.shape[0], 1, model_audio.shape[-1], device=audio.device)
        generated = sample_components(self.sampling, model_audio, mask, "bandwidth",
                                      self.cutoff_hz, blend)
        last = to_components(generated[-1:])[0]
        core = slice(plan.context * up // down, (plan.context + plan.window) * up // down)
        self._head = (batch.starts[-1] * up // down, last[:, core].clone())
        high = dsp.resample(generated, MODEL_RATE, self.out_rate)
        low = dsp.resample(audio, self.in_rate, self.out_rate)
        length = plan.to_output(plan.padded)
        return dsp.crossover(low[..., :length], high[..., :length], self.cutoff_hz, self.out_rate)


def sinc_process(in_rate: int, out_rate: int) -> Callable[[WindowBatch], torch.Tensor]:
    """Processing function of the classical method: sinc resampling (adds no new band)."""
    from restore.classical import sinc_upsample

    def process(batch: WindowBatch) -> torch.Tensor:
        length = batch.plan.to_output(batch.plan.padded)
        out = [sinc_upsample(item.numpy(), in_rate, out_rate)[:, :length] for item in batch.audio]
        return torch.from_numpy(np.stack(out))

    return process


def upsample_stream(
    blocks: Iterable[np.ndarray],
    frames: int,
    channels: int,
    in_rate: int,
    out_rate: int,
    cutoff_hz: float,
    *,
    method: str,
    sampling=None,
    batch_size: int = 4,
    plan: WindowPlan | None = None,
    callback: Callable[[dict], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield the upsampled audio ``[channels, n]`` blocks at ``out_rate``, in order.

    ``cutoff_hz`` is the known band's edge (see :func:`known_cutoff_hz`); when nothing is
    missing, or ``method="classical"``, the audio is only sinc-resampled.
    """
    plan = plan or upsample_plan(in_rate, out_rate)
    if method == "classical" or not needs_generation(cutoff_hz, out_rate):
        process = sinc_process(in_rate, out_rate)
    else:
        process = BandwidthProcess(sampling, in_rate, out_rate, cutoff_hz)
    yield from overlap_add_stream(blocks, frames, channels, plan, process,
                                  batch_windows=batch_size, callback=callback)
