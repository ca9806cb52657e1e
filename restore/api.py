"""Python API: ``restore.inpaint``, ``upsample``, ``transition``, ``declick``, ``declip`` on arrays.

Audio is ``np.ndarray [channels, frames]`` (float, +-1.0 full scale), rates in Hz, times in
seconds. A 2-D array with more than 16 rows and at most 16 columns is taken as
``[frames, channels]`` (soundfile's layout) and the result comes back in that layout; one with
more than 16 of both is refused as ambiguous. 1-D arrays are mono (the result is ``[1, n]``).
Integer arrays are scaled to +-1.0 (int16 by 1/32768, int32 by 2**-31, uint8 around 128); the
result is float32. ``model`` is a ``LoadedModel``, a model file path, or None for the default model;
``method="classical"`` needs no model. ``return_regions=True`` also returns the regions whose
samples were generated (``[{"start", "end", "task", ...}]``, seconds). ``callback`` receives
progress, ``{"windows_done", "windows"}`` after each batch. The command line runs the same task
pipelines (:mod:`restore.tasks`) over files instead of arrays.

The sampling keywords (``model, steps, seed, device, precision, compile, batch_size``) are one
:class:`restore.tasks.sampler.SamplingOptions`; what they cost and gain: docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from restore.checkpoint import LoadedModel
from restore.classical.clip_detect import fixed_levels
from restore.errors import RestoreError
from restore.tasks import inpaint as inpaint_task
from restore.tasks import repair as repair_task
from restore.tasks import transition as transition_task
from restore.tasks.bandwidth import extend_bandwidth
from restore.tasks.provenance import Region
from restore.tasks.sampler import SamplingOptions
from restore.tasks.source import ArraySink, ArraySource

Callback = Callable[[dict], None] | None
Result = np.ndarray | tuple[np.ndarray, list[Region]]  # the audio, and the regions if asked
Model = LoadedModel | str | Path | None
MAX_CHANNELS = 16  # a first axis longer than this holds frames, not channels


def _as_float(audio: np.ndarray, name: str) -> np.ndarray:
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


def _returned(result: np.ndarray, regions: list[Region], return_regions: bool,
              transposed: bool) -> Result:
    """The result in the caller's layout (``[..., frames, channels]`` when it was given so)."""
    if transposed:
        result = np.ascontiguousarray(np.swapaxes(result, -1, -2))
    return (result, regions) if return_regions else result


def inpaint(audio: np.ndarray, sample_rate: int, gaps: Sequence[tuple[float, float]], *,
            model: Model = None, steps: int | None = None, seed: int = 0, device: str = "auto",
            method: str = "auto", variants: int = 1, batch_size: int | None = None,
            precision: str = "fp32", compile: bool = False, callback: Callback = None,
            return_regions: bool = False) -> Result:
    """Fill ``gaps`` (seconds) of ``audio [channels, frames]``; every other sample is kept.

    Returns the same shape (``[variants, channels, frames]`` when ``variants > 1``; variant
    ``v`` uses seed ``seed + v``).
    """
    audio, transposed = _checked(audio)
    options = SamplingOptions(model, steps, seed, device, precision, compile, batch_size)
    sinks = [ArraySink() for _ in range(max(1, int(variants)))]
    regions = inpaint_task.inpaint(ArraySource(audio, sample_rate), sinks, gaps, method=method,
                                   options=options, callback=callback)
    outputs = [sink.result() for sink in sinks]
    result = outputs[0] if len(outputs) == 1 else np.stack(outputs)
    return _returned(result, regions, return_regions, transposed)


def upsample(audio: np.ndarray, sample_rate: int, rate: int = 48_000, *,
             cutoff_hz: float | None = None, model: Model = None, steps: int | None = None,
             seed: int = 0, device: str = "auto", method: str = "diffusion",
             batch_size: int | None = None, precision: str = "fp32", compile: bool = False,
             callback: Callback = None, return_regions: bool = False) -> Result:
    """Bandwidth-extend ``audio [channels, frames]`` to ``[channels, ceil(frames*rate/sr)]``.

    ``cutoff_hz``: the input's effective bandwidth; None estimates it
    (:func:`restore.analysis.estimate_cutoff_hz`). The band below it is kept from the input,
    quiet stretches and silent channels stay as they are, and an input that would pass
    -0.1 dBFS once resampled is scaled to stay below it (as the command line does).
    """
    audio, transposed = _checked(audio)
    options = SamplingOptions(model, steps, seed, device, precision, compile, batch_size)
    sink = ArraySink()
    regions, _level = extend_bandwidth(ArraySource(audio, sample_rate), sink, rate,
                                       cutoff_hz=cutoff_hz, method=method, options=options,
                                       callback=callback)
    return _returned(sink.result(), regions, return_regions, transposed)


def transition(a: np.ndarray, b: np.ndarray, sample_rate: int, length_seconds: float, *,
               bridge_only: bool = False, match_loudness: bool = False, model: Model = None,
               steps: int | None = None, seed: int = 0, device: str = "auto",
               method: str = "diffusion", precision: str = "fp32", compile: bool = False,
               callback: Callback = None, return_regions: bool = False) -> Result:
    """``a + bridge + b`` (or the bridge alone), all ``[channels, n]`` at ``sample_rate``.

    ``b`` is converted to ``a``'s channel count; ``match_loudness`` scales ``b`` to ``a``'s
    integrated loudness first, measured after that conversion, and no further than keeps its
    true peak below -0.1 dBFS.
    """
    (a, transposed), (b, _) = _checked(a, "a"), _checked(b, "b")
    options = SamplingOptions(model, steps, seed, device, precision, compile)
    sink = ArraySink()
    regions, _level = transition_task.transition(
        ArraySource(a, sample_rate), ArraySource(b, sample_rate), sink, length_seconds,
        bridge_only=bridge_only, match_loudness=match_loudness, method=method, options=options,
        callback=callback)
    return _returned(sink.result(), regions, return_regions, transposed)


def _repair(audio: np.ndarray, plan: repair_task.RepairPlan, sample_rate: int,
            options: SamplingOptions, callback: Callback) -> tuple[np.ndarray, list[Region]]:
    sink = ArraySink()
    regions = repair_task.repair(ArraySource(audio, sample_rate), sink, plan, options=options,
                                 callback=callback)
    return sink.result(), regions


def declick(audio: np.ndarray, sample_rate: int, *, sensitivity: float = 1.0,
            model: Model = None, steps: int | None = None, seed: int = 0, device: str = "auto",
            method: str = "auto", batch_size: int | None = None, precision: str = "fp32",
            compile: bool = False, callback: Callback = None,
            return_regions: bool = False) -> Result:
    """Find clicks and crackle in ``audio [channels, frames]`` and re-estimate those samples.

    ``sensitivity`` divides the detector's threshold. ``method="auto"`` is AR interpolation
    until a model that knows the task measures better. Every sample outside a detected click
    is returned unchanged.
    """
    audio, transposed = _checked(audio)
    if not sensitivity > 0:
        raise RestoreError(None, f"sensitivity must be > 0, got {sensitivity!r}")
    options = SamplingOptions(model, steps, seed, device, precision, compile, batch_size)
    plan = repair_task.RepairPlan("declick", repair_task.repair_method(method, "declick"),
                                  sensitivity=sensitivity)
    result, regions = _repair(audio, plan, sample_rate, options, callback)
    return _returned(result, regions, return_regions, transposed)


def declip(audio: np.ndarray, sample_rate: int, *, level_dbfs: float | None = None,
           model: Model = None, steps: int | None = None, seed: int = 0, device: str = "auto",
           method: str = "auto", batch_size: int | None = None, precision: str = "fp32",
           compile: bool = False, callback: Callback = None,
           return_regions: bool = False) -> Result:
    """Re-estimate the hard-clipped samples of ``audio [channels, frames]``.

    ``level_dbfs``: the clip level of both polarities of every channel; None measures each
    channel's and polarity's own (:mod:`restore.classical.clip_detect`). Restored samples keep
    their sign and are at least the clip level in magnitude (they may exceed 1.0); unclipped
    samples are returned unchanged.
    """
    audio, transposed = _checked(audio)
    options = SamplingOptions(model, steps, seed, device, precision, compile, batch_size)
    source = ArraySource(audio, sample_rate)
    levels = (repair_task.scan_clipping(source) if level_dbfs is None
              else fixed_levels(audio.shape[0], float(level_dbfs)))
    plan = repair_task.RepairPlan("declip", repair_task.repair_method(method, "declip"),
                                  levels=levels)
    result, regions = _repair(audio, plan, sample_rate, options, callback)
    return _returned(result, regions, return_regions, transposed)
