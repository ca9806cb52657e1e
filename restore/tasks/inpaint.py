"""Inpainting: fill gaps (dropouts) from the audio around them.

Only windows around the gaps are processed, so the cost grows with the number of gaps, not with
the file's length. A window is the gap plus real audio on each side (:func:`context_seconds`), taken
at the file's own rate and resampled to the model's 48 kHz (and back) on its own; the untouched
audio is never resampled. Every other gap inside a window is masked as unknown too, so no window
is conditioned on broken samples. The result replaces the gap plus ``MARGIN_SECONDS`` on each
side, where a raised-cosine crossfade joins original and generated audio; every sample outside
that is the input's, bit for bit.

With ``method="auto"`` gaps shorter than ``AUTO_CLASSICAL_BELOW_SECONDS`` are filled by AR
interpolation (it measured better there), longer ones by the model; a model fill is low-passed to
the bandwidth of the known audio around it (:func:`match_context_band`) and joined to the audio
beside it through the AR continuation (:func:`blend_edges_with_ar`).

Gaps longer than ``MAX_GAP_SECONDS`` are refused with a clear error (they are not chained):
the model was trained on gaps up to 1 s, and inventing several seconds of music is no repair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from restore import dsp
from restore.analysis import estimate_cutoff_hz
from restore.classical import ar_inpaint
from restore.classical.declick import runs_of
from restore.config import MODEL_RATE
from restore.errors import RestoreError
from restore.tasks.gaps import Gap, merge_gaps, to_frames
from restore.tasks.guard import limit_added
from restore.tasks.provenance import Region, frames_region
from restore.tasks.sampler import Sampler, SamplingOptions, check_method
from restore.tasks.source import Sink, Source
from restore.tasks.stereo import channel_matrices, from_components, silent_channels, to_components

# real audio on each side of a gap that conditions the fill: CONTEXT_SECONDS for gaps shorter
# than LONG_GAP_SECONDS, LONG_GAP_CONTEXT_SECONDS for longer ones (measured on the valid split:
# docs/results.md, "Inpainting context")
CONTEXT_SECONDS = 0.25
LONG_GAP_SECONDS = 0.4
LONG_GAP_CONTEXT_SECONDS = 1.0
MARGIN_SECONDS = 0.002  # crossfade between original and fill on each side of a gap
MAX_GAP_SECONDS = 2.0  # longer gaps are refused (not chained)
MASK_PAD = 8  # model-rate samples added to each side of a gap's mask (resampling smear)
# method="auto": gaps shorter than this are filled by AR interpolation, longer ones by the model:
# between the gap lengths where each measured better in gap LSD (docs/results.md, "Inpainting:
# where AR interpolation and the model take over").
AUTO_CLASSICAL_BELOW_SECONDS = 0.075
EDGE_BLEND_SECONDS = 0.05  # AR continuation crossfaded into a model fill at each gap edge
BAND_MATCH_MIN_CONTEXT_SECONDS = 0.05  # shortest known run whose bandwidth is measured
BAND_MATCH_FULL_BAND = 0.95  # a context band above this share of Nyquist counts as full band


@dataclass(frozen=True)
class GapWindow:
    """One gap to fill and the window of audio around it (all in frames of the file's rate).

    ``start`` is the window's first frame (may be negative: zeros before the file), ``length``
    its frames; ``gap`` the ``[start, end)`` frames to fill.
    """

    start: int
    length: int
    gap: tuple[int, int]


def margin_frames(sample_rate: int) -> int:
    return max(1, math.ceil(MARGIN_SECONDS * sample_rate))


def context_seconds(gap_seconds: float) -> float:
    """Real audio on each side of a gap of ``gap_seconds`` in its window."""
    return LONG_GAP_CONTEXT_SECONDS if gap_seconds >= LONG_GAP_SECONDS else CONTEXT_SECONDS


def plan_windows(gaps: Sequence[tuple[int, int]], sample_rate: int, frames: int,
                 path: Path | None = None) -> list[GapWindow]:
    """One window per gap (frame ranges, sorted, not overlapping), centred on the gap."""
    windows = []
    for first, last in gaps:
        context = math.ceil(context_seconds((last - first) / sample_rate) * sample_rate)
        # one frame more is outward rounding of a gap that starts and ends between frames
        if last - first > round(MAX_GAP_SECONDS * sample_rate) + 1:
            raise RestoreError(path, f"gap {first / sample_rate:.3f}-{last / sample_rate:.3f} s "
                                     f"is longer than {MAX_GAP_SECONDS:g} s; long gaps are not "
                                     "filled (split it or mark a shorter region)")
        windows.append(GapWindow(first - context, last - first + 2 * context, (first, last)))
    return windows


def gap_mask(window: GapWindow, gaps: Sequence[tuple[int, int]]) -> np.ndarray:
    """``[window.length]`` bool, True where the window's audio is unknown (any of ``gaps``)."""
    mask = np.zeros(window.length, dtype=bool)
    for first, last in gaps:
        if first < window.start + window.length and last > window.start:
            mask[max(first - window.start, 0):last - window.start] = True
    return mask


def fill_diffusion(audio: np.ndarray, mask: np.ndarray, sample_rate: int, sampler: Sampler,
                   task: str = "inpaint") -> np.ndarray:
    """Fill ``audio [batch, channels, frames]`` where ``mask [batch, frames]`` (True = unknown).

    Resamples to the model rate, samples all windows as one batch, resamples back. Returns
    float32 ``[batch, channels, frames]``; known samples come back (nearly) unchanged.
    """
    frames = audio.shape[-1]
    known = torch.from_numpy(np.where(mask[:, None, :], 0.0, audio).astype(np.float32))
    model_audio = dsp.resample(known.to(sampler.device), sample_rate, MODEL_RATE)
    model_mask = model_rate_mask(mask, sample_rate, model_audio.shape[-1], MASK_PAD)
    filled = sampler.fill(model_audio, model_mask, task, MODEL_RATE / 2)
    filled = match_context_band(filled.cpu(), model_audio.cpu(), model_mask)
    back = dsp.resample(filled, MODEL_RATE, sample_rate)[..., :frames]
    return blend_edges_with_ar(back.numpy().astype(np.float32), audio, mask, sample_rate)


def model_rate_mask(mask: np.ndarray, sample_rate: int, length: int, pad: int) -> torch.Tensor:
    """``[rows, 1, length]`` float mask at the model rate (0 = unknown) from ``mask [rows, n]``
    (True = unknown), each unknown run widened by ``pad`` samples (resampling smear)."""
    scale = MODEL_RATE / sample_rate
    out = torch.ones(mask.shape[0], 1, length)
    for row, flags in enumerate(mask):
        for first, last in runs_of(flags):
            out[row, :, max(0, math.floor(first * scale) - pad):math.ceil(last * scale) + pad] = 0
    return out


def blend_edges_with_ar(filled: np.ndarray, audio: np.ndarray, mask: np.ndarray,
                        sample_rate: int) -> np.ndarray:
    """Start and end each generated run with the AR continuation of the audio beside it.

    ``filled``/``audio`` are ``[batch, channels, frames]``, ``mask [batch, frames]`` (True =
    unknown). Over ``EDGE_BLEND_SECONDS`` (at most a quarter of the run) at each edge of a run,
    a raised-cosine crossfade goes from the AR interpolation, which continues the known signal
    smoothly, into the model's fill. The model alone leaves a step at gap edges (a join flux well
    above the material's own); this brings it to the material's level (docs/results.md,
    "Inpainting: where AR interpolation and the model take over").
    Outside the runs the result is ``audio`` itself.
    """
    continuation = fill_classical(audio, mask, sample_rate)
    weight = np.ones(mask.shape, dtype=np.float32)  # 1 = model, 0 = AR
    for item, row in enumerate(mask):
        for first, last in runs_of(row):
            ramp_length = min(int(EDGE_BLEND_SECONDS * sample_rate), (last - first) // 4)
            if ramp_length < 1:
                continue
            _fade_out, fade_in = (fade.numpy() for fade in dsp.raised_cosine_fades(ramp_length))
            weight[item, first:first + ramp_length] = fade_in
            weight[item, last - ramp_length:last] = fade_in[::-1]
    weight = weight[:, None, :]
    blended = filled * weight + continuation * (1.0 - weight)
    # outside the gaps the input itself: the model's version of the few known samples it was
    # asked to regenerate (MASK_PAD, resampling smear) would leave a step at the gap edge
    return np.where(mask[:, None, :], blended, audio).astype(np.float32)


def match_context_band(filled: torch.Tensor, known: torch.Tensor,
                       model_mask: torch.Tensor) -> torch.Tensor:
    """Low-pass the generated samples of ``filled [batch, channels, time]`` (model rate) to the
    bandwidth of the known audio around them; known samples are returned unchanged.

    A fill should not be brighter than the material it sits in: a tape or a lossy decode with
    nothing above 12 kHz gets no invented band above 12 kHz inside its gaps. The bandwidth is
    estimated (``restore.analysis.estimate_cutoff_hz``) on each known run of at least
    ``BAND_MATCH_MIN_CONTEXT_SECONDS`` separately, and the widest is kept, so a join between
    runs cannot fake a full band. Items whose context is full band are left as they are.
    """
    cutoffs = torch.tensor([_context_cutoff_hz(item, row[0] > 0)
                            for item, row in zip(known, model_mask, strict=True)])
    narrow = cutoffs < BAND_MATCH_FULL_BAND * MODEL_RATE / 2
    if not bool(narrow.any()):
        return filled
    low = dsp.lowpass(filled, torch.where(narrow, cutoffs, MODEL_RATE / 2.0), MODEL_RATE)
    replace = (model_mask <= 0) & narrow.reshape(-1, 1, 1)
    return torch.where(replace, low, filled)


def _context_cutoff_hz(known: torch.Tensor, is_known: torch.Tensor) -> float:
    """Widest bandwidth (Hz) over the long known runs of ``known [channels, time]``."""
    shortest = int(BAND_MATCH_MIN_CONTEXT_SECONDS * MODEL_RATE)
    runs = [(first, last) for first, last in runs_of(is_known.numpy()) if last - first >= shortest]
    if not runs:
        return MODEL_RATE / 2.0
    audio = known.numpy()
    return max(float(estimate_cutoff_hz(audio[:, first:last], MODEL_RATE))
               for first, last in runs)


def fill_classical(audio: np.ndarray, mask: np.ndarray, sample_rate: int) -> np.ndarray:
    """AR (linear-prediction) fill of each window's mid/side components, at the file's rate;
    channels that are silent around the gap stay silent in it."""
    audio = torch.from_numpy(np.ascontiguousarray(audio, np.float32))
    known = torch.from_numpy(~np.asarray(mask, bool))[:, None, :]
    silent = silent_channels(audio, known)
    matrices = channel_matrices(silent)
    components = to_components(audio, matrices)
    filled = np.stack([ar_inpaint(item.numpy(), row, sample_rate)
                       for item, row in zip(components, mask, strict=True)])
    # a silent channel keeps its known samples and stays silent inside the gap
    filled = from_components(torch.from_numpy(filled), matrices)
    filled = torch.where(silent[:, :, None] & torch.from_numpy(np.asarray(mask, bool))[:, None],
                         torch.zeros_like(filled), filled)
    return filled.numpy().astype(np.float32)


def splice(original: np.ndarray, filled: np.ndarray, window: GapWindow, sample_rate: int,
           frames: int, unknown: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """The output frames this window rewrites: ``(first_frame, samples [channels, n])``.

    Inside the gap the fill; over ``MARGIN_SECONDS`` on each side a raised-cosine crossfade from
    the original (``original``/``filled`` are the window's ``[channels, length]`` audio).
    ``unknown [length]`` (True = inside any gap) keeps the crossfade from mixing damaged
    samples of a neighbouring gap back in: wherever it is set the output is the fill.
    """
    margin = margin_frames(sample_rate)
    first = max(window.gap[0] - margin, window.start, 0)
    last = min(window.gap[1] + margin, window.start + window.length, frames)
    local = slice(first - window.start, last - window.start)
    weight = np.zeros(last - first, dtype=np.float32)  # 1 = fill, 0 = original
    gap_first, gap_last = window.gap[0] - first, window.gap[1] - first
    weight[gap_first:gap_last] = 1.0
    fade_out, fade_in = (fade.numpy() for fade in dsp.raised_cosine_fades(margin))
    left = fade_in[margin - gap_first:]
    weight[:gap_first] = left
    weight[gap_last:] = fade_out[:weight.shape[0] - gap_last]
    if unknown is not None:
        weight[unknown[local]] = 1.0
    mixed = original[:, local] * (1.0 - weight) + filled[:, local] * weight
    return first, mixed.astype(np.float32)


def window_method(window: GapWindow, sample_rate: int, method: str) -> str:
    """The method that fills ``window``: ``method`` itself, or for ``"auto"`` by gap length."""
    if method != "auto":
        return method
    seconds = (window.gap[1] - window.gap[0]) / sample_rate
    return "classical" if seconds < AUTO_CLASSICAL_BELOW_SECONDS else "diffusion"


def fill_windows(read: Callable[[GapWindow], np.ndarray], windows: Sequence[GapWindow],
                 gaps: Sequence[tuple[int, int]], sample_rate: int, frames: int, *, method: str,
                 sampler: Sampler | None = None, batch_size: int = 4,
                 callback: Callable[[dict], None] | None = None
                 ) -> Iterator[tuple[GapWindow, int, np.ndarray]]:
    """Yield ``(window, first_frame, samples)`` for each window, in order.

    ``read(window) -> [channels, window.length]`` returns the window's input audio (zeros
    outside the file of ``frames`` frames). Windows of one batch share a length (the longest,
    centred on each gap).
    """
    for first in range(0, len(windows), batch_size):
        group = list(windows[first:first + batch_size])
        longest = max(window.length for window in group)
        padded = [_widen(window, longest) for window in group]
        audio = np.stack([read(window) for window in padded])
        mask = np.stack([gap_mask(window, gaps) for window in padded])
        methods = [window_method(window, sample_rate, method) for window in group]
        filled = np.empty_like(audio)
        for name, fill in (("classical", fill_classical), ("diffusion", fill_diffusion)):
            chosen = [index for index, used in enumerate(methods) if used == name]
            if chosen:
                extra = () if name == "classical" else (sampler,)
                filled[chosen] = fill(audio[chosen], mask[chosen], sample_rate, *extra)
        filled = limit_fills(filled, mask, sample_rate)
        for window, original, result, unknown in zip(padded, audio, filled, mask, strict=True):
            start, samples = splice(original, result, window, sample_rate, frames, unknown)
            yield window, start, samples
        if callback is not None:
            callback({"windows_done": first + len(group), "windows": len(windows)})


def limit_fills(filled: np.ndarray, mask: np.ndarray, sample_rate: int) -> np.ndarray:
    """The fills inside the gaps (``mask [batch, frames]``) of ``filled [batch, channels,
    frames]`` kept below the ceiling (-0.1 dBFS); the known samples are left as they are."""
    limited = np.stack([limit_added(np.zeros_like(item), item, sample_rate) for item in filled])
    return np.where(mask[:, None, :], limited, filled).astype(np.float32)


def _widen(window: GapWindow, length: int) -> GapWindow:
    """The same gap in a window of ``length`` frames (extra real context on both sides)."""
    extra = length - window.length
    return GapWindow(window.start - extra // 2, length, window.gap)


def patched_blocks(blocks: Iterable[np.ndarray],
                   patches: Sequence[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
    """``blocks`` with ``patches`` (``(first_frame, [channels, n])``) written over copies."""
    position = 0
    for block in blocks:
        end = position + block.shape[1]
        touching = [(first, samples) for first, samples in patches
                    if first < end and first + samples.shape[1] > position]
        if touching:
            block = block.copy()  # an array source's block is the caller's audio
        for first, samples in touching:
            low, high = max(first, position), min(first + samples.shape[1], end)
            block[:, low - position:high - position] = samples[:, low - first:high - first]
        position = end
        yield block


def inpaint(source: Source, sinks: Sequence[Sink], gaps: Sequence[Gap], *, method: str,
            options: SamplingOptions, callback: Callable[[dict], None] | None = None
            ) -> list[Region]:
    """Fill ``gaps`` (seconds) of ``source`` into each of ``sinks`` (one per variant: variant
    ``v`` samples with seed ``options.seed + v``).

    Returns the generated regions (the same for every variant). Samples outside each gap and its
    crossfade margin are the source's unchanged.
    """
    check_method(method)
    rate, frames = source.sample_rate, source.frames
    ranges = to_frames(merge_gaps(gaps, source.duration, path=source.path), rate, frames)
    windows = plan_windows(ranges, rate, frames, source.path)
    if method != "classical":
        options = options.loaded()
    regions: list[Region] = []
    for variant, sink in enumerate(sinks):
        sampler = None if method == "classical" else Sampler.create(options, variant)
        done = list(fill_windows(lambda window: source.read(window.start, window.length),
                                 windows, ranges, rate, frames, method=method, sampler=sampler,
                                 batch_size=options.batch_size_for(method), callback=callback))
        if variant == 0:
            regions = [frames_region(start, start + samples.shape[1], rate, "inpaint",
                                     method=window_method(window, rate, method))
                       for window, start, samples in done]
        with sink.open(rate, source.channels, like=source, frames=frames) as out:
            for block in patched_blocks(source.blocks(exact=True),
                                        [(start, samples) for _window, start, samples in done]):
                out.write(block)
    return regions
