"""File-level pipelines of the three tasks: stream from the input file(s) to an output file.

Memory is bounded by a block (and one batch of windows), never by the file: untouched audio is
copied block by block at the file's own rate, and only the processed windows are resampled.
All reading and writing goes through :mod:`restore.io` (atomic outputs, format preserved).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from restore import io
from restore.tasks import inpaint as inpaint_task
from restore.tasks import transition as transition_task
from restore.tasks import upsample as upsample_task
from restore.tasks.gaps import merge_gaps, to_frames
from restore.tasks.provenance import Region, frames_region, region

BLOCK_SECONDS = 10.0  # block size of streamed copies
EXACT_SUBTYPES = ("PCM_32", "DOUBLE")  # read as float64 so they copy bit-exactly


def _block_frames(sample_rate: int) -> int:
    return max(4096, int(BLOCK_SECONDS * sample_rate))


def _dtype(info: io.AudioInfo) -> str:
    return "float64" if info.subtype in EXACT_SUBTYPES else "float32"


def read_window(path: Path, info: io.AudioInfo, start: int, length: int) -> np.ndarray:
    """Frames ``[start, start + length)`` of a file as ``[channels, length]``, zeros outside."""
    out = np.zeros((info.channels, length), dtype=np.float32)
    low, high = max(start, 0), min(start + length, info.frames)
    if high > low:
        audio, _ = io.load(path, low, high - low)
        out[:, low - start:high - start] = audio
    return out


def _clip_for(writer: io.AudioWriter, block: np.ndarray) -> np.ndarray:
    """Generated audio may overshoot full scale; integer formats would wrap, so clip."""
    if "FLOAT" in writer.subtype or "DOUBLE" in writer.subtype:
        return block
    return np.clip(block, -1.0, 1.0)


def patched_blocks(path: Path, info: io.AudioInfo,
                   patches: Sequence[tuple[int, np.ndarray]]) -> Iterator[np.ndarray]:
    """The file's blocks with ``patches`` (``(first_frame, [channels, n])``) written over them."""
    position = 0
    for block in io.iter_blocks(path, _block_frames(info.sample_rate), dtype=_dtype(info)):
        end = position + block.shape[1]
        for first, samples in patches:
            low, high = max(first, position), min(first + samples.shape[1], end)
            if high > low:
                block[:, low - position:high - position] = np.clip(
                    samples[:, low - first:high - first], -1.0, 1.0)
        position = end
        yield block


def inpaint_file(path: Path, outputs: Sequence[Path], gaps: Sequence[tuple[float, float]], *,
                 method: str, sampling_for: Callable[[int], object] | None, batch_size: int,
                 writer_options: dict, callback: Callable[[dict], None] | None = None
                 ) -> list[Region]:
    """Fill ``gaps`` (seconds) of ``path``; one output per variant (``sampling_for(variant)``).

    Returns the generated regions (the same for every variant). Samples outside each gap and its
    crossfade margin are copied from the input unchanged.
    """
    info = io.read_info(path)
    ranges = to_frames(merge_gaps(gaps, info.duration, path=path), info.sample_rate, info.frames)
    windows = inpaint_task.plan_windows(ranges, info.sample_rate, info.frames, path)
    regions: list[Region] = []
    for variant, output in enumerate(outputs):
        sampling = sampling_for(variant) if sampling_for is not None else None
        fills = inpaint_task.fill_windows(
            lambda window: read_window(path, info, window.start, window.length), windows,
            ranges, info.sample_rate, info.frames, method=method, sampling=sampling,
            batch_size=batch_size, callback=callback)
        done = list(fills)
        patches = [(start, samples) for _window, start, samples in done]
        if variant == 0:
            regions = [frames_region(start, start + samples.shape[1], info.sample_rate, "inpaint",
                                     method=inpaint_task.window_method(window, info.sample_rate,
                                                                       method))
                       for window, start, samples in done]
        with io.AudioWriter(output, info.sample_rate, info.channels, like=info,
                            frames=info.frames, **writer_options) as writer:
            for block in patched_blocks(path, info, patches):
                writer.write(block)
    return regions


def upsample_file(path: Path, output: Path, rate: int, *, cutoff_hz: float | None, method: str,
                  sampling, batch_size: int, writer_options: dict,
                  callback: Callable[[dict], None] | None = None
                  ) -> tuple[list[Region], dict | None]:
    """Bandwidth-extend ``path`` to ``rate`` into ``output``, streaming.

    Returns the generated regions and the sidecar's ``level`` entry (None: nothing limited).
    """
    from restore.tasks.guard import Limiter

    info = io.read_info(path)
    survey, estimate = upsample_task.survey_input(
        io.iter_blocks(path, _block_frames(info.sample_rate)), info.sample_rate, info.channels,
        measure_cutoff=cutoff_hz is None)
    band = upsample_task.band_plan(
        info.sample_rate, rate, estimate.cutoff_hz if cutoff_hz is None else cutoff_hz,
        None if cutoff_hz is not None else estimate.edge_level_dbfs)
    generate = method == "diffusion" and band.generate
    limiter = Limiter(rate, survey.true_peak)
    blocks = io.iter_blocks(path, _block_frames(info.sample_rate))
    stream = upsample_task.upsample_stream(blocks, info.frames, info.channels, info.sample_rate,
                                           rate, band, survey,
                                           method=method if generate else "classical",
                                           sampling=sampling, batch_size=batch_size,
                                           callback=callback, limiter=limiter)
    frames = -(-info.frames * rate // info.sample_rate)
    with io.AudioWriter(output, rate, info.channels, like=info, frames=frames,
                        **writer_options) as writer:
        for block in stream:
            writer.write(_clip_for(writer, block))
    level = limiter.record()
    if not generate:
        return [], level
    return [region(start, end, "bandwidth", method=method,
                   band_hz=[round(band.keep_hz, 1), min(rate, 48_000) / 2])
            for start, end in upsample_task.generated_spans(survey, rate)], level


def _converted_blocks(path: Path, info: io.AudioInfo, rate: int, channels: int,
                      gain: float) -> Iterator[np.ndarray]:
    """B's blocks at A's rate and channel count, times ``gain``."""
    blocks = io.iter_blocks(path, _block_frames(info.sample_rate), dtype=_dtype(info))
    if info.sample_rate != rate:
        blocks = upsample_task.resample_stream(blocks, info.frames, info.channels,
                                               info.sample_rate, rate)
    for block in blocks:
        block = transition_task.convert_channels(block, channels, path)
        yield block if gain == 1.0 else (block * gain).astype(np.float32)


def _loudness(path: Path) -> float:
    from restore.analysis import analyze_blocks

    return analyze_blocks(path, block_seconds=BLOCK_SECONDS)[1].loudness()


def _b_gain(a_path: Path, b_path: Path, b_info: io.AudioInfo, rate: int, channels: int,
            match_loudness: bool) -> tuple[float, dict | None]:
    """B's gain and sidecar entry: loudness and true peak measured on B as it will be played,
    after the channel conversion (see :func:`restore.tasks.transition.b_gain`)."""
    from restore.analysis import Analyzer
    from restore.tasks.guard import InputSurvey

    if not match_loudness and b_info.sample_rate == rate:
        return 1.0, None  # B is copied as it is
    analyzer = Analyzer(b_info.sample_rate, channels)
    survey = InputSurvey(b_info.sample_rate, channels)
    for block in io.iter_blocks(b_path, _block_frames(b_info.sample_rate)):
        block = transition_task.convert_channels(block, channels, b_path)
        analyzer.add(block)
        survey.add(block)
    a_lufs = _loudness(a_path) if match_loudness else float("nan")
    return transition_task.b_gain(a_lufs, analyzer.loudness(), survey.true_peak, match_loudness)


def _b_head(path: Path, info: io.AudioInfo, rate: int, channels: int, frames: int,
            gain: float) -> np.ndarray:
    """B's first ``frames`` frames at A's rate and channels (excerpt converted in memory)."""
    native = int(np.ceil(frames * info.sample_rate / rate)) + 256  # + resampler margin
    head = read_window(path, info, 0, min(native, info.frames))
    head = transition_task.convert_rate(head, info.sample_rate, rate)[:, :frames]
    return transition_task.convert_channels(head, channels, path) * gain


def transition_file(a_path: Path, b_path: Path, output: Path, length_seconds: float, *,
                    bridge_only: bool, match_loudness: bool, method: str, sampling,
                    writer_options: dict) -> tuple[list[Region], dict | None]:
    """Write A + bridge + B (or the bridge alone) at A's rate and channels; returns the regions
    and the sidecar's ``level`` entry for B's gain (None: B unscaled)."""
    a_info, b_info = io.read_info(a_path), io.read_info(b_path)
    rate, channels = a_info.sample_rate, a_info.channels
    gain, level = _b_gain(a_path, b_path, b_info, rate, channels, match_loudness)
    bridge_frames = transition_task.bridge_frames_for(length_seconds, rate, output)
    context = transition_task.context_frames(rate)
    a_tail = read_window(a_path, a_info, max(0, a_info.frames - context),
                         min(context, a_info.frames))
    b_head = _b_head(b_path, b_info, rate, channels, context, gain)
    bridge = transition_task.make_bridge(a_tail, b_head.astype(np.float32), rate, bridge_frames,
                                         method=method, sampling=sampling)
    start = 0 if bridge_only else a_info.frames
    with io.AudioWriter(output, rate, channels, like=a_info, inputs=[b_path],
                        **writer_options) as writer:
        if not bridge_only:
            for block in io.iter_blocks(a_path, _block_frames(rate), dtype=_dtype(a_info)):
                writer.write(block)
        writer.write(_clip_for(writer, bridge))
        if not bridge_only:
            for block in _converted_blocks(b_path, b_info, rate, channels, gain):
                writer.write(_clip_for(writer, block))
    return [frames_region(start, start + bridge_frames, rate, "transition", method=method)], level
