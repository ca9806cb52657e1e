"""Bandwidth extension: generate the band above the known cutoff, keep the band below it.

Works through :mod:`restore.chunking` so that long files stream with bounded memory: each
window (with real context on both sides) is resampled from the input rate to the model's
48 kHz, its missing band is sampled, the result is resampled to the output rate, and the band
below the cutoff is taken from the input (resampled straight to the output rate) through the
linear-phase crossover :func:`restore.dsp.crossover`, so the output's low band is the input's.

Windows of one batch are blended at every sampler step and each batch is conditioned on the
previous batch's last window (see :mod:`restore.chunking`), so neighbouring windows agree.

What is kept (:func:`band_plan`): below the input's real edge (:mod:`restore.cutoff`), and with a
rate change below 0.9 of the input's Nyquist, the output is the input. After generation
(:mod:`restore.tasks.guard`) the generated band is gated off where the input is quiet (digital
silence or dither at or below -90 dBFS for 50 ms or more), kept out of silent channels, and
limited so that it never takes the output past -0.1 dBFS; where the input itself would pass it
once resampled, a local true-peak-safe gain keeps it below, and the caller records it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from restore import dsp
from restore.chunking import (
    WindowAgreement,
    WindowBatch,
    WindowPlan,
    make_plan,
    overlap_add_stream,
)
from restore.classical import sinc_upsample
from restore.config import MODEL_RATE
from restore.cutoff import BandwidthEstimate, SpectrumStats
from restore.tasks.guard import (
    GATE_INSET_SECONDS,
    InputSurvey,
    Limiter,
    guarded,
)
from restore.tasks.provenance import Region, region
from restore.tasks.sampler import Sampler, SamplingOptions, task_method
from restore.tasks.source import Sink, Source
from restore.tasks.stereo import channel_matrices, to_components

# context + overlap are 14 % of the samples the model processes (docs/results.md, "Upsampling
# windows": the quality and speed of this and other geometries)
WINDOW_SECONDS = 1.0  # core of each window
OVERLAP_SECONDS = 0.05  # cores of neighbouring windows overlap by this much
CONTEXT_SECONDS = 0.05  # real audio added on each side and discarded
FULL_BAND_FRACTION = 0.95  # a known band this close to the output Nyquist needs no generation
KEEP_NYQUIST_SHARE = 0.9  # with a rate change the input is kept up to this share of its
# Nyquist: the resampler is flat there (-0.04 dB), and rolls off (-6 dB at 0.945) above
TRANSITION_NYQUIST_SHARE = 0.02  # crossover width at most this share of the lower Nyquist
# the crossover FIR's window smears its raised-cosine edge by about this share of its width
# on each side: the crossover starts that much above the kept band (1e-4 of the generated
# band at keep_hz, 1e-8 100 Hz below, measured with dsp.lowpass_kernel)
CROSSOVER_SMEAR_SHARE = 0.45
# A codec-like edge (below KEEP_NYQUIST_SHARE of the input's Nyquist) whose content just below
# is fainter than this (dense spectrum 1 kHz below the edge, white-noise dBFS) keeps the
# decode's band: there the shipped model was not measured better than the decode
# (docs/usage.md). One bar for edges below LOW_EDGE_SHARE of Nyquist (48 kbps MP3s), a
# higher one above (where only a loud drum loop gained and quieter music lost).
LOW_EDGE_SHARE = 0.4
GENERATE_MIN_EDGE_DBFS = (-70.0, -55.0)


@dataclass(frozen=True)
class BandPlan:
    """Where the output stops being the input. All in Hz.

    Below ``keep_hz`` the output is the input (resampled); the linear-phase crossover, centred
    on ``cutoff_hz`` and ``transition_hz`` wide, starts just above it (its window's smear
    included), and the model's band lies above ``cutoff_hz``.
    """

    keep_hz: float
    cutoff_hz: float
    transition_hz: float
    generate: bool


def faint_edge(in_rate: int, edge_hz: float, edge_level_dbfs: float | None) -> bool:
    """Whether a band edge at ``edge_hz`` is codec-like with only faint content below it
    (``GENERATE_MIN_EDGE_DBFS``): such an input keeps its band, nothing is generated."""
    bar = GENERATE_MIN_EDGE_DBFS[0 if edge_hz < LOW_EDGE_SHARE * in_rate / 2 else 1]
    return (edge_hz < KEEP_NYQUIST_SHARE * in_rate / 2 and edge_level_dbfs is not None
            and edge_level_dbfs < bar)


def band_plan(in_rate: int, out_rate: int, edge_hz: float | None,
              edge_level_dbfs: float | None = None) -> BandPlan:
    """The band plan for an input whose content ends at ``edge_hz`` (None or the input's
    Nyquist: full band, as :mod:`restore.cutoff` says); ``edge_level_dbfs`` is the estimate's
    level just below that edge (None: generate, e.g. for a ``--cutoff`` given by hand).

    Without a rate change, or downwards from a full-band input, nothing is missing. With a rate
    increase the input is kept to ``KEEP_NYQUIST_SHARE`` of its Nyquist (or to its edge, if
    lower); a band-limited input is kept up to its edge, wholly, and the crossover lies above.
    A codec-like edge with only faint content below it is left as it is (nothing generated).
    """
    nyquist = min(in_rate, out_rate) / 2
    edge = in_rate / 2 if edge_hz is None else min(float(edge_hz), in_rate / 2)
    full = edge >= FULL_BAND_FRACTION * in_rate / 2
    top = FULL_BAND_FRACTION * min(out_rate, MODEL_RATE) / 2
    if (full and in_rate >= out_rate) or faint_edge(in_rate, edge, edge_level_dbfs):
        return BandPlan(nyquist, nyquist, dsp.DEFAULT_TRANSITION_HZ, False)
    keep = min(edge, nyquist) if in_rate == out_rate else min(edge, KEEP_NYQUIST_SHARE * nyquist)
    transition = min(dsp.DEFAULT_TRANSITION_HZ, TRANSITION_NYQUIST_SHARE * nyquist)
    cutoff = keep + transition * (0.5 + CROSSOVER_SMEAR_SHARE)
    return BandPlan(keep, cutoff, transition, cutoff + transition / 2 < top)


@dataclass(frozen=True)
class WindowGeometry:
    """Upsampling windows in seconds of input (see :mod:`restore.chunking`)."""

    window_seconds: float = WINDOW_SECONDS  # core of each window
    overlap_seconds: float = OVERLAP_SECONDS  # shared by the cores of neighbouring windows
    context_seconds: float = CONTEXT_SECONDS  # real audio on each side, discarded

    def plan(self, in_rate: int, out_rate: int) -> WindowPlan:
        return window_plan(in_rate, out_rate, window_seconds=self.window_seconds,
                           overlap_seconds=self.overlap_seconds,
                           context_seconds=self.context_seconds)


def window_plan(in_rate: int, out_rate: int, *, window_seconds: float = WINDOW_SECONDS,
                overlap_seconds: float = OVERLAP_SECONDS,
                context_seconds: float = CONTEXT_SECONDS) -> WindowPlan:
    """Window geometry in input samples, integral at the output and the model rate."""
    return make_plan(round(window_seconds * in_rate), round(overlap_seconds * in_rate),
                     round(context_seconds * in_rate), in_rate, out_rate, MODEL_RATE)


@dataclass
class BandwidthProcess:
    """Processing function for :func:`restore.chunking.overlap_add_stream` (diffusion method).

    Returns the output over the input resampled alone (``[batch, 2 * channels, time]``), for
    :func:`restore.tasks.guard.guarded`. Keeps the previous batch's last window (model rate,
    components) to condition the next batch. ``silent`` channels are kept as they are.
    """

    sampler: Sampler
    in_rate: int
    out_rate: int
    band: BandPlan
    silent: tuple[bool, ...]
    _head: tuple[int, torch.Tensor] | None = field(default=None, repr=False)

    def __call__(self, batch: WindowBatch) -> torch.Tensor:
        plan = batch.plan
        gcd = math.gcd(self.in_rate, MODEL_RATE)
        up, down = MODEL_RATE // gcd, self.in_rate // gcd
        audio = batch.audio.to(self.sampler.device)  # resample where the model runs
        model_audio = dsp.resample(audio, self.in_rate, MODEL_RATE)
        model_audio = model_audio[..., :plan.padded * up // down]
        silent = torch.tensor([self.silent] * audio.shape[0])
        agree = WindowAgreement(batch.starts, plan, up, down, audio.shape[1], self._head,
                                audio.device)
        mask = torch.ones(model_audio.shape[0], 1, model_audio.shape[-1], device=audio.device)
        generated = self.sampler.fill(model_audio, mask, "bandwidth", self.band.cutoff_hz,
                                      [agree], silent)
        last = to_components(generated[-1:], channel_matrices(silent[-1:]))[0]
        core = slice(plan.context * up // down, (plan.context + plan.window) * up // down)
        self._head = (batch.starts[-1] * up // down, last[:, core].clone())
        high = dsp.resample(generated, MODEL_RATE, self.out_rate)
        low = dsp.resample(audio, self.in_rate, self.out_rate)
        length = plan.to_output(plan.padded)
        low, high = low[..., :length], high[..., :length]
        out = dsp.crossover(low, high, self.band.cutoff_hz, self.out_rate,
                            self.band.transition_hz)
        return torch.cat([out, low], dim=1)


def sinc_process(in_rate: int, out_rate: int) -> Callable[[WindowBatch], torch.Tensor]:
    """Processing function of the classical method: sinc resampling (adds no new band)."""
    def process(batch: WindowBatch) -> torch.Tensor:
        length = batch.plan.to_output(batch.plan.padded)
        out = [sinc_upsample(item.numpy(), in_rate, out_rate)[:, :length] for item in batch.audio]
        return torch.from_numpy(np.stack(out))

    return process


def resample_stream(blocks: Iterable[np.ndarray], frames: int, channels: int, in_rate: int,
                    out_rate: int, *, plan: WindowPlan | None = None, batch_size: int = 4,
                    callback: Callable[[dict], None] | None = None) -> Iterator[np.ndarray]:
    """Sinc-resampled ``[channels, n]`` blocks, streamed (the classical method)."""
    plan = plan or window_plan(in_rate, out_rate)
    yield from overlap_add_stream(blocks, frames, channels, plan, sinc_process(in_rate, out_rate),
                                  batch_windows=batch_size, callback=callback)


def survey_input(blocks: Iterable[np.ndarray], rate: int, channels: int, *,
                 measure_cutoff: bool) -> tuple[InputSurvey, BandwidthEstimate | None]:
    """One pass over the input: quiet runs, silent channels, true peak, and (if asked) the
    conservative bandwidth estimate."""
    survey = InputSurvey(rate, channels)
    spectrum = SpectrumStats(rate) if measure_cutoff else None
    for block in blocks:
        survey.add(block)
        if spectrum is not None:
            spectrum.add(block)
    return survey, None if spectrum is None else spectrum.estimate()


def bandwidth_stream(
    blocks: Iterable[np.ndarray],
    frames: int,
    channels: int,
    in_rate: int,
    out_rate: int,
    band: BandPlan,
    survey: InputSurvey,
    *,
    method: str,
    sampler: Sampler | None = None,
    batch_size: int = 4,
    plan: WindowPlan | None = None,
    callback: Callable[[dict], None] | None = None,
    limiter: Limiter | None = None,
) -> Iterator[np.ndarray]:
    """Yield the upsampled audio ``[channels, n]`` blocks at ``out_rate``, in order.

    ``band`` says what is kept and what generated (:func:`band_plan`); ``survey`` (of the same
    input, :func:`survey_input`) gives the quiet runs where the output stays the input.
    ``limiter`` (default: a fresh one) keeps the output below the ceiling and records where it
    acted. When nothing is missing, or with ``method="classical"``, the audio is only
    sinc-resampled.
    """
    plan = plan or window_plan(in_rate, out_rate)
    limiter = limiter or Limiter(out_rate, survey.true_peak)
    if method == "classical" or not band.generate:
        stream = resample_stream(blocks, frames, channels, in_rate, out_rate, plan=plan,
                                 batch_size=batch_size, callback=callback)
        yield from (limiter(block) for block in stream)
        return
    process = BandwidthProcess(sampler, in_rate, out_rate, band, survey.silent_channels())
    stream = overlap_add_stream(blocks, frames, channels, plan, process,
                                batch_windows=batch_size, callback=callback,
                                out_channels=2 * channels)
    yield from guarded(stream, channels, in_rate, out_rate, frames, survey.quiet_runs(), limiter)


def generated_spans(survey: InputSurvey, out_rate: int) -> list[tuple[float, float]]:
    """Output seconds whose samples are generated: everything but the gated quiet runs common
    to all channels (the gate is closed from ``GATE_INSET_SECONDS`` inside each run)."""
    frames = survey.frames
    common = [(0, frames)]
    for channel_runs in survey.quiet_runs():
        common = [(max(a, c), min(b, d)) for a, b in common for c, d in channel_runs
                  if min(b, d) > max(a, c)]
    spans, position = [], 0.0
    inset, rate = GATE_INSET_SECONDS, survey.sample_rate
    for start, end in common:
        low = 0.0 if start == 0 else start / rate + inset
        high = frames / rate if end >= frames else end / rate - inset
        if high > low:
            if low > position:
                spans.append((position, low))
            position = high
    if position < frames / rate:
        spans.append((position, frames / rate))
    return spans


def extend_bandwidth(source: Source, sink: Sink, rate: int, *, cutoff_hz: float | None,
                     method: str, options: SamplingOptions,
                     callback: Callable[[dict], None] | None = None,
                     geometry: WindowGeometry = WindowGeometry(),
                     notes: list[str] | None = None,
                     ) -> tuple[list[Region], dict | None]:
    """Bandwidth-extend ``source`` to ``rate`` into ``sink``, streaming.

    ``cutoff_hz``: the input's effective bandwidth (None: estimated, :mod:`restore.cutoff`).
    ``geometry``: the windows (default: the shipped sizes). ``notes``: a list that gets a line
    for people when the estimate's band is kept for a faint edge (:func:`faint_edge`).
    Returns the generated regions and the sidecar's ``level`` entry (None: nothing limited).
    """
    survey, estimate = survey_input(source.blocks(), source.sample_rate, source.channels,
                                    measure_cutoff=cutoff_hz is None)
    band = band_plan(source.sample_rate, rate,
                     estimate.cutoff_hz if cutoff_hz is None else cutoff_hz,
                     None if cutoff_hz is not None else estimate.edge_level_dbfs)
    if (notes is not None and cutoff_hz is None and rate > source.sample_rate
            and faint_edge(source.sample_rate, estimate.cutoff_hz, estimate.edge_level_dbfs)):
        notes.append(f"nothing generated: the band ends at {estimate.cutoff_hz / 1000:.1f} kHz "
                     f"with only faint content below the edge ({estimate.edge_level_dbfs:.0f} "
                     "dBFS), as in a lossy decode, where the model did not measure better; "
                     "--cutoff HZ generates above a band you know")
    method = task_method(method, "bandwidth")
    if not band.generate:
        method = "classical"  # nothing is missing: the input is only resampled
    sampler = None if method == "classical" else Sampler.create(options)
    limiter = Limiter(rate, survey.true_peak)
    stream = bandwidth_stream(source.blocks(), source.frames, source.channels,
                              source.sample_rate, rate, band, survey, method=method,
                              sampler=sampler, batch_size=options.batch_size_for(method),
                              plan=geometry.plan(source.sample_rate, rate),
                              callback=callback, limiter=limiter)
    with sink.open(rate, source.channels, like=source,
                   frames=-(-source.frames * rate // source.sample_rate)) as out:
        for block in stream:
            out.write(block)
    if method == "classical":
        return [], limiter.record()
    return [region(start, end, "bandwidth", method=method,
                   band_hz=[round(band.keep_hz, 1), min(rate, MODEL_RATE) / 2])
            for start, end in generated_spans(survey, rate)], limiter.record()
