"""Python API: ``restore.inpaint``, ``restore.upsample``, ``restore.transition`` on arrays.

Audio is ``np.ndarray [channels, frames]`` (float, +-1.0 full scale), rates in Hz, times in
seconds. A 2-D array with more than 16 rows and at most 16 columns is taken as
``[frames, channels]`` (soundfile's layout) and the result comes back in that layout; one with
more than 16 of both is refused as ambiguous. 1-D arrays are mono (the result is ``[1, n]``).
Integer arrays are scaled to +-1.0 (int16 by 1/32768, int32 by 2**-31, uint8 around 128); the
result is float32. ``model`` is a ``LoadedModel``, a model file path, or None for the default model;
``method="classical"`` needs no model. ``return_regions=True`` also returns the regions whose
samples were generated (``[{"start", "end", "task", ...}]``, seconds). The command line is a thin
layer over the same task functions, streaming files instead of holding arrays.

Speed: ``batch_size`` windows (gaps for inpainting) are sampled together; None takes the device's
default (4 on a CPU, 32 on CUDA). ``precision`` is the network's arithmetic: ``"fp32"``
(default), ``"bf16"`` (about 1.5x faster where the hardware has bf16, 1-4 % worse LSD on bandwidth
extension: docs/performance.md) or ``"auto"`` (bf16 where native); the sampler stays fp32.
``compile=True`` runs the network through ``torch.compile`` on CUDA (the first call of a model
compiles for a while; ignored on a CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from restore.diffusion.precision import check_precision
from restore.errors import RestoreError
from restore.tasks import inpaint as inpaint_task
from restore.tasks import transition as transition_task
from restore.tasks import upsample as upsample_task
from restore.tasks.gaps import merge_gaps, to_frames
from restore.tasks.provenance import frames_region, region
from restore.tasks.runner import Sampling, check_method, resolve_batch_size, task_method

Callback = Callable[[dict], None] | None
MAX_CHANNELS = 16  # a first axis longer than this holds frames, not channels


def _as_float(audio, name: str) -> np.ndarray:
    """float32 at +-1.0 full scale: integer PCM arrays are scaled, not taken as sample values."""
    array = np.asarray(audio)
    if np.issubdtype(array.dtype, np.integer):
        limits = np.iinfo(array.dtype)
        half = (int(limits.max) + 1) / 2 if limits.min == 0 else -float(limits.min)
        offset = half if limits.min == 0 else 0.0
        return ((array.astype(np.float64) - offset) / half).astype(np.float32)
    if not np.issubdtype(array.dtype, np.floating):
        raise RestoreError(None, f"{name} must hold float or integer samples, got {array.dtype}")
    return array.astype(np.float32)


def _checked(audio: np.ndarray, name: str = "audio") -> tuple[np.ndarray, bool]:
    """``([channels, frames] float32, transposed)``: see the module docstring for the rule."""
    audio = _as_float(audio, name)
    if audio.ndim == 1:
        audio = audio[None]
    transposed = audio.ndim == 2 and audio.shape[0] > MAX_CHANNELS
    if transposed and audio.shape[1] > MAX_CHANNELS:
        raise RestoreError(None, f"{name} has shape {audio.shape}: ambiguous, give [channels, "
                                 f"frames] (or [frames, channels]) with at most {MAX_CHANNELS} "
                                 "channels")
    if transposed:
        audio = np.ascontiguousarray(audio.T)
    if audio.ndim != 2 or audio.shape[0] < 1 or audio.shape[1] < 1:
        raise RestoreError(None, f"{name} must be [channels, frames] with both > 0, "
                                 f"got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise RestoreError(None, f"{name} contains NaN or infinite samples")
    return audio, transposed


def _returned(result: np.ndarray, regions: list, return_regions: bool, transposed: bool):
    """The result in the caller's layout (``[..., frames, channels]`` when it was given so)."""
    if transposed:
        result = np.ascontiguousarray(np.swapaxes(result, -1, -2))
    return (result, regions) if return_regions else result


def _sampling(method: str, model, steps, seed, device, callback, precision: str = "fp32",
              compile: bool = False) -> Sampling | None:
    check_method(method)
    check_precision(precision)
    if method == "classical":
        return None
    return Sampling.create(model, steps=steps, seed=seed, device=device, callback=callback,
                           precision=precision, compile=compile)


def _batch_size(batch_size: int | None, sampling: Sampling | None) -> int:
    return resolve_batch_size(batch_size, None if sampling is None else sampling.device)


def take(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """``audio[:, start:start + length]`` with zeros outside the array."""
    out = np.zeros((audio.shape[0], length), dtype=np.float32)
    low, high = max(start, 0), min(start + length, audio.shape[1])
    if high > low:
        out[:, low - start:high - start] = audio[:, low:high]
    return out


def inpaint(audio: np.ndarray, sample_rate: int, gaps: Sequence[tuple[float, float]], *,
            model=None, steps: int | None = None, seed: int = 0, device: str = "auto",
            method: str = "auto", variants: int = 1, batch_size: int | None = None,
            precision: str = "fp32", compile: bool = False, callback: Callback = None,
            return_regions: bool = False):
    """Fill ``gaps`` (seconds) of ``audio [channels, frames]``; every other sample is kept.

    Returns the same shape (``[variants, channels, frames]`` when ``variants > 1``; variant
    ``v`` uses seed ``seed + v``).
    """
    audio, transposed = _checked(audio)
    frames = audio.shape[1]
    ranges = to_frames(merge_gaps(gaps, frames / sample_rate), sample_rate, frames)
    windows = inpaint_task.plan_windows(ranges, sample_rate, frames)
    sampling = _sampling(method, model, steps, seed, device, callback, precision, compile)
    batch_size = _batch_size(batch_size, sampling)
    outputs, regions = [], []
    for variant in range(max(1, int(variants))):
        if sampling is not None:
            sampling = sampling.reseeded(seed + variant)
        out = audio.copy()
        filled = inpaint_task.fill_windows(
            lambda window: take(audio, window.start, window.length), windows, ranges,
            sample_rate, frames, method=method, sampling=sampling, batch_size=batch_size)
        for window, start, samples in filled:
            out[:, start:start + samples.shape[1]] = samples
            if variant == 0:
                used = inpaint_task.window_method(window, sample_rate, method)
                regions.append(frames_region(start, start + samples.shape[1], sample_rate,
                                             "inpaint", method=used))
        outputs.append(out)
    result = outputs[0] if len(outputs) == 1 else np.stack(outputs)
    return _returned(result, regions, return_regions, transposed)


def upsample(audio: np.ndarray, sample_rate: int, rate: int = 48_000, *,
             cutoff_hz: float | None = None, model=None, steps: int | None = None, seed: int = 0,
             device: str = "auto", method: str = "diffusion", batch_size: int | None = None,
             precision: str = "fp32", compile: bool = False, callback: Callback = None,
             return_regions: bool = False):
    """Bandwidth-extend ``audio [channels, frames]`` to ``[channels, ceil(frames*rate/sr)]``.

    ``cutoff_hz``: the input's effective bandwidth; None estimates it
    (:func:`restore.analysis.estimate_cutoff_hz`). The band below it is kept from the input,
    quiet stretches and silent channels stay as they are, and an input that would pass
    -0.1 dBFS once resampled is scaled to stay below it (as the command line does).
    """
    audio, transposed = _checked(audio)
    survey, estimate = upsample_task.survey_input([audio], sample_rate, audio.shape[0],
                                                  measure_cutoff=cutoff_hz is None)
    band = upsample_task.band_plan(
        sample_rate, rate, estimate.cutoff_hz if cutoff_hz is None else cutoff_hz,
        None if cutoff_hz is not None else estimate.edge_level_dbfs)
    method = task_method(method, "bandwidth")
    generate = method == "diffusion" and band.generate
    sampling = _sampling(method if generate else "classical", model, steps, seed, device,
                         callback, precision, compile)
    blocks = upsample_task.upsample_stream([audio], audio.shape[1], audio.shape[0], sample_rate,
                                           rate, band, survey,
                                           method=method if generate else "classical",
                                           sampling=sampling,
                                           batch_size=_batch_size(batch_size, sampling))
    result = np.concatenate(list(blocks), axis=1)
    regions = [region(start, end, "bandwidth", band_hz=[round(band.keep_hz, 1),
                                                        min(rate, 48_000) / 2])
               for start, end in upsample_task.generated_spans(survey, rate)] if generate else []
    return _returned(result, regions, return_regions, transposed)


def transition(a: np.ndarray, b: np.ndarray, sample_rate: int, length_seconds: float, *,
               bridge_only: bool = False, match_loudness: bool = False, model=None,
               steps: int | None = None, seed: int = 0, device: str = "auto",
               method: str = "diffusion", precision: str = "fp32", compile: bool = False,
               callback: Callback = None, return_regions: bool = False):
    """``a + bridge + b`` (or the bridge alone), all ``[channels, n]`` at ``sample_rate``.

    ``b`` is converted to ``a``'s channel count; ``match_loudness`` scales ``b`` to ``a``'s
    integrated loudness first, measured after that conversion, and no further than keeps its
    true peak below -0.1 dBFS.
    """
    (a, transposed), (b, _) = _checked(a, "a"), _checked(b, "b")
    b = transition_task.convert_channels(b, a.shape[0])
    if match_loudness:
        gain, _level = transition_task.b_gain_for(a, b, sample_rate, match_loudness)
        b = (b * gain).astype(np.float32)
    bridge_frames = transition_task.bridge_frames_for(length_seconds, sample_rate)
    context = transition_task.context_frames(sample_rate)
    method = task_method(method, "transition")
    sampling = _sampling(method, model, steps, seed, device, callback, precision, compile)
    bridge = transition_task.make_bridge(a[:, -context:], b[:, :context], sample_rate,
                                         bridge_frames, method=method, sampling=sampling)
    start = 0 if bridge_only else a.shape[1]
    regions = [frames_region(start, start + bridge_frames, sample_rate, "transition",
                             method=method)]
    result = bridge if bridge_only else np.concatenate([a, bridge, b], axis=1)
    return _returned(result, regions, return_regions, transposed)


def _repair(audio: np.ndarray, sample_rate: int, plan_for, task: str, options: dict):
    """Run a repair task (declick / declip) on an array: ``(result, regions)``."""
    from restore.tasks.repair import RegionCollector, check_model_knows, repair_method
    from restore.tasks.repair import repair_stream as stream

    method = repair_method(options["method"], task)
    sampling = _sampling(method, options["model"], options["steps"], options["seed"],
                         options["device"], options["callback"], options["precision"],
                         options["compile"])
    if sampling is not None:
        named = options["model"] if isinstance(options["model"], (str, Path)) else None
        check_model_knows(sampling.model, task, named)
    plan = plan_for(method)
    collector = RegionCollector(sample_rate, task, method)
    blocks = []
    for block, repaired in stream(lambda first, count: audio[:, first:first + count],
                                  audio.shape[1], sample_rate, plan, sampling=sampling,
                                  batch_size=_batch_size(options["batch_size"], sampling)):
        blocks.append(block)
        collector.add(repaired)
    return np.concatenate(blocks, axis=1).astype(np.float32), collector.regions()


def declick(audio: np.ndarray, sample_rate: int, *, sensitivity: float = 1.0, model=None,
            steps: int | None = None, seed: int = 0, device: str = "auto", method: str = "auto",
            batch_size: int | None = None, precision: str = "fp32", compile: bool = False,
            callback: Callback = None, return_regions: bool = False):
    """Find clicks and crackle in ``audio [channels, frames]`` and re-estimate those samples.

    ``sensitivity`` divides the detector's threshold. ``method="auto"`` is AR interpolation
    until a model that knows the task measures better. Every sample outside a detected click
    is returned unchanged.
    """
    from restore.tasks.repair import RepairPlan

    audio, transposed = _checked(audio)
    if not sensitivity > 0:
        raise RestoreError(None, f"sensitivity must be > 0, got {sensitivity!r}")
    options = {"model": model, "steps": steps, "seed": seed, "device": device,
               "method": method, "batch_size": batch_size, "precision": precision,
               "compile": compile, "callback": callback}
    result, regions = _repair(audio, sample_rate,
                              lambda used: RepairPlan("declick", used, sensitivity=sensitivity),
                              "declick", options)
    return _returned(result, regions, return_regions, transposed)


def declip(audio: np.ndarray, sample_rate: int, *, level_dbfs: float | None = None, model=None,
           steps: int | None = None, seed: int = 0, device: str = "auto", method: str = "auto",
           batch_size: int | None = None, precision: str = "fp32", compile: bool = False,
           callback: Callback = None, return_regions: bool = False):
    """Re-estimate the hard-clipped samples of ``audio [channels, frames]``.

    ``level_dbfs``: the clip level of both polarities of every channel; None measures each
    channel's and polarity's own (:mod:`restore.classical.clip_detect`). Restored samples keep
    their sign and are at least the clip level in magnitude (they may exceed 1.0); unclipped
    samples are returned unchanged.
    """
    from restore.classical.clip_detect import detect_clipping, fixed_levels
    from restore.tasks.repair import RepairPlan

    audio, transposed = _checked(audio)
    levels = (detect_clipping(audio) if level_dbfs is None
              else fixed_levels(audio.shape[0], float(level_dbfs)))
    options = {"model": model, "steps": steps, "seed": seed, "device": device,
               "method": method, "batch_size": batch_size, "precision": precision,
               "compile": compile, "callback": callback}
    result, regions = _repair(audio, sample_rate,
                              lambda used: RepairPlan("declip", used, levels=levels),
                              "declip", options)
    return _returned(result, regions, return_regions, transposed)
