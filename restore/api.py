"""Python API: ``restore.inpaint``, ``restore.upsample``, ``restore.transition`` on arrays.

Audio is ``np.ndarray [channels, frames]`` (float, +-1.0 full scale), rates in Hz, times in
seconds. ``model`` is a ``LoadedModel``, a model file path, or None for the default model;
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


def _checked(audio: np.ndarray, name: str = "audio") -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[0] < 1 or audio.shape[1] < 1:
        raise RestoreError(None, f"{name} must be [channels, frames] with both > 0, "
                                 f"got shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise RestoreError(None, f"{name} contains NaN or infinite samples")
    return audio


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
    audio = _checked(audio)
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
    return (result, regions) if return_regions else result


def upsample(audio: np.ndarray, sample_rate: int, rate: int = 48_000, *,
             cutoff_hz: float | None = None, model=None, steps: int | None = None, seed: int = 0,
             device: str = "auto", method: str = "diffusion", batch_size: int | None = None,
             precision: str = "fp32", compile: bool = False, callback: Callback = None,
             return_regions: bool = False):
    """Bandwidth-extend ``audio [channels, frames]`` to ``[channels, ceil(frames*rate/sr)]``.

    ``cutoff_hz``: the input's effective bandwidth; None estimates it
    (:func:`restore.analysis.estimate_cutoff_hz`). The band below it is kept from the input.
    """
    audio = _checked(audio)
    if cutoff_hz is None:
        from restore.analysis import estimate_cutoff_hz

        cutoff_hz = estimate_cutoff_hz(audio, sample_rate)
    cutoff = upsample_task.known_cutoff_hz(sample_rate, rate, cutoff_hz)
    method = task_method(method, "bandwidth")
    generate = method == "diffusion" and upsample_task.needs_generation(cutoff, rate)
    sampling = _sampling(method if generate else "classical", model, steps, seed, device,
                         callback, precision, compile)
    blocks = upsample_task.upsample_stream([audio], audio.shape[1], audio.shape[0], sample_rate,
                                           rate, cutoff, method=method, sampling=sampling,
                                           batch_size=_batch_size(batch_size, sampling))
    result = np.concatenate(list(blocks), axis=1)
    regions = [region(0.0, result.shape[1] / rate, "bandwidth",
                      band_hz=[round(cutoff, 1), min(rate, 48_000) / 2])] if generate else []
    return (result, regions) if return_regions else result


def transition(a: np.ndarray, b: np.ndarray, sample_rate: int, length_seconds: float, *,
               bridge_only: bool = False, match_loudness: bool = False, model=None,
               steps: int | None = None, seed: int = 0, device: str = "auto",
               method: str = "diffusion", precision: str = "fp32", compile: bool = False,
               callback: Callback = None, return_regions: bool = False):
    """``a + bridge + b`` (or the bridge alone), all ``[channels, n]`` at ``sample_rate``.

    ``b`` is converted to ``a``'s channel count; ``match_loudness`` scales ``b`` to ``a``'s
    integrated loudness first.
    """
    a, b = _checked(a, "a"), _checked(b, "b")
    b = transition_task.convert_channels(b, a.shape[0])
    if match_loudness:
        b = (b * transition_task.loudness_gain(a, b, sample_rate)).astype(np.float32)
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
    return (result, regions) if return_regions else result


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

    audio = _checked(audio)
    if not sensitivity > 0:
        raise RestoreError(None, f"sensitivity must be > 0, got {sensitivity!r}")
    options = {"model": model, "steps": steps, "seed": seed, "device": device,
               "method": method, "batch_size": batch_size, "precision": precision,
               "compile": compile, "callback": callback}
    result, regions = _repair(audio, sample_rate,
                              lambda used: RepairPlan("declick", used, sensitivity=sensitivity),
                              "declick", options)
    return (result, regions) if return_regions else result


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

    audio = _checked(audio)
    levels = (detect_clipping(audio) if level_dbfs is None
              else fixed_levels(audio.shape[0], float(level_dbfs)))
    options = {"model": model, "steps": steps, "seed": seed, "device": device,
               "method": method, "batch_size": batch_size, "precision": precision,
               "compile": compile, "callback": callback}
    result, regions = _repair(audio, sample_rate,
                              lambda used: RepairPlan("declip", used, levels=levels),
                              "declip", options)
    return (result, regions) if return_regions else result
