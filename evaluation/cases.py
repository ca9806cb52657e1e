"""Fixed, seeded evaluation cases built from the held-out split of a corpus.

A corpus is data_prep's format (``manifest.json`` + shards, see :mod:`data_prep.shards`). From
its ``test`` split ``clips_per_condition`` clips of ``clip_seconds`` are drawn with a seeded
generator, and every condition degrades the same clips:

* inpaint ``gap_<ms>ms``: one gap of that length, zero-filled, its start drawn uniformly so the
  gap lies inside the middle 60 % of the clip;
* bandwidth ``from_<rate>Hz``: the reference sinc-resampled down to ``rate`` (cutoff rate / 2);
  ``mp3_44100Hz``: low-passed at 16 kHz (the usual cutoff of a 128 kbit/s MP3 encoder) and
  resampled to 44.1 kHz (cutoff 16 kHz);
* transition ``bridge_<s>s``: the middle ``s`` seconds cut out, clip A = what comes before,
  clip B = what comes after, so a bridge can be scored against the true middle.

Long fills (issue 13, :func:`build_long_cases`): gaps of 1 and 2 s and a ``bridge_1s_long``
transition on clips of ``LONG_CLIP_SECONDS`` cut from consecutive clips of one track.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from data_prep import shards
from restore import dsp
from restore.config import MODEL_RATE
from restore.errors import RestoreError

GAP_MS = (10, 50, 100, 200, 400, 800)
BANDWIDTH_RATES = (8000, 16000, 22050)
MP3_RATE, MP3_CUTOFF_HZ = 44100, 16000.0
TRANSITION_SECONDS = (0.5, 1.0, 2.0)
MIN_CLIP_RMS = 1e-3  # clips quieter than -60 dBFS RMS are skipped (metrics of silence mislead)


@dataclass(frozen=True)
class Case:
    """One degraded clip with its reference (all audio ``[channels, frames]`` float32).

    ``degraded`` is the methods' input at ``input_rate``: the zero-filled clip (inpaint,
    transition: zeros over the bridge) or the band-limited clip (bandwidth). ``region`` is the
    gap or bridge ``[start, end)`` in reference samples. ``cutoff_hz`` is the nominal band edge
    that LSD-HF / LSD-LF split at (``r / 2``, NU-Wave 2's rule); ``input_band_hz`` the edge
    below which the input is intact, which the model is told (the resampler's roll-off starts
    at ``RESAMPLE_ROLLOFF * r / 2``; the MP3-like low-pass's transition at 15.75 kHz).
    """

    task: str
    condition: str
    clip: int
    reference: np.ndarray
    degraded: np.ndarray
    input_rate: int = MODEL_RATE
    region: tuple[int, int] | None = None
    cutoff_hz: float = MODEL_RATE / 2
    input_band_hz: float = MODEL_RATE / 2
    params: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.task}/{self.condition}/clip{self.clip}"

    @property
    def seconds(self) -> float:
        """Duration of the reference (the restored output) in seconds."""
        return self.reference.shape[-1] / MODEL_RATE


def usable_test_clips(
    corpus_dir: str | Path, clip_seconds: float, seed: int, split: str = "test"
) -> Iterator[tuple[dict, np.ndarray]]:
    """Every usable clip of ``split`` in a seeded order: its manifest entry and its audio
    ``[1, clip_seconds * 48000]`` float32.

    The clips at least ``clip_seconds`` long, sorted by (shard, offset), are taken in the order
    of ``default_rng(seed).permutation``; a longer clip is cropped at its middle; clips with RMS
    below ``MIN_CLIP_RMS`` are skipped. Shards are loaded when first needed.
    """
    manifest = shards.read_manifest(corpus_dir)
    frames = int(round(clip_seconds * MODEL_RATE))
    listed = sorted(
        (clip for clip in manifest["clips"] if clip["split"] == split and clip["frames"] >= frames),
        key=lambda clip: (clip["shard"], clip["offset"]),
    )
    order = np.random.default_rng(seed).permutation(len(listed))
    cache = {}
    for index in order:
        clip = listed[index]
        if clip["shard"] not in cache:
            cache[clip["shard"]] = shards.load_shard(Path(corpus_dir) / clip["shard"])
        start = clip["offset"] + (clip["frames"] - frames) // 2
        audio = cache[clip["shard"]][start : start + frames].astype(np.float32) / 32768.0
        if np.sqrt(np.mean(audio**2)) >= MIN_CLIP_RMS:
            yield clip, audio[None, :]


def load_test_clips(
    corpus_dir: str | Path, count: int, clip_seconds: float, seed: int, split: str = "test"
) -> list[np.ndarray]:
    """``count`` clips ``[1, clip_seconds * 48000]`` float32 from ``split`` of a corpus.

    The first ``count`` of :func:`usable_test_clips`. RestoreError when there are not enough.
    """
    chosen = [audio for _, audio in itertools.islice(
        usable_test_clips(corpus_dir, clip_seconds, seed, split), count)]
    if len(chosen) < count:
        raise RestoreError(corpus_dir, f"only {len(chosen)} usable {split!r} clips of at least "
                                       f"{clip_seconds} s (need {count})")
    return chosen


def inpaint_case(reference: np.ndarray, clip: int, gap_ms: float, rng: np.random.Generator) -> Case:
    """Zero a ``gap_ms`` gap placed uniformly inside the middle 60 % of ``reference``."""
    length = reference.shape[-1]
    gap = int(round(gap_ms * MODEL_RATE / 1000))
    low, high = int(0.2 * length), int(0.8 * length) - gap
    if high <= low:
        raise ValueError(f"clip of {length} samples too short for a {gap_ms} ms gap")
    start = int(rng.integers(low, high + 1))
    degraded = reference.copy()
    degraded[:, start : start + gap] = 0.0
    return Case("inpaint", f"gap_{gap_ms:g}ms", clip, reference, degraded,
                region=(start, start + gap), params={"gap_ms": gap_ms})


def bandwidth_case(reference: np.ndarray, clip: int, input_rate: int, mp3_like: bool) -> Case:
    """Band-limit ``reference`` (48 kHz) to ``input_rate`` (after a 16 kHz low-pass if MP3-like)."""
    audio = torch.from_numpy(reference)
    cutoff = input_rate / 2
    intact = dsp.RESAMPLE_ROLLOFF * input_rate / 2
    if mp3_like:
        audio = dsp.lowpass(audio[None], MP3_CUTOFF_HZ, MODEL_RATE)[0]
        cutoff = MP3_CUTOFF_HZ
        intact = MP3_CUTOFF_HZ - dsp.DEFAULT_TRANSITION_HZ / 2
    degraded = dsp.resample(audio, MODEL_RATE, input_rate).numpy().astype(np.float32)
    condition = f"mp3_{input_rate}Hz" if mp3_like else f"from_{input_rate}Hz"
    return Case("bandwidth", condition, clip, reference, degraded, input_rate=input_rate,
                cutoff_hz=float(cutoff), input_band_hz=float(intact),
                params={"input_rate": input_rate, "cutoff_hz": cutoff})


def transition_case(reference: np.ndarray, clip: int, seconds: float) -> Case:
    """Cut the middle ``seconds`` out of ``reference``: A before it, B after it."""
    length = reference.shape[-1]
    bridge = int(round(seconds * MODEL_RATE))
    if bridge >= length - 2 * MODEL_RATE // 10:
        raise ValueError(f"clip of {length} samples too short for a {seconds} s bridge")
    start = (length - bridge) // 2
    degraded = reference.copy()
    degraded[:, start : start + bridge] = 0.0
    return Case("transition", f"bridge_{seconds:g}s", clip, reference, degraded,
                region=(start, start + bridge), params={"seconds": seconds})


def build_cases(
    clips: list[np.ndarray],
    seed: int,
    *,
    gap_ms: tuple[float, ...] = GAP_MS,
    bandwidth_rates: tuple[int, ...] = BANDWIDTH_RATES,
    mp3: bool = True,
    transition_seconds: tuple[float, ...] = TRANSITION_SECONDS,
) -> list[Case]:
    """Every condition applied to every clip, in a fixed order; gap positions from ``seed``."""
    rng = np.random.default_rng(seed)
    cases = []
    for milliseconds in gap_ms:
        cases += [inpaint_case(clip, index, milliseconds, rng) for index, clip in enumerate(clips)]
    for rate in bandwidth_rates:
        cases += [bandwidth_case(clip, index, rate, False) for index, clip in enumerate(clips)]
    if mp3:
        cases += [bandwidth_case(clip, index, MP3_RATE, True) for index, clip in enumerate(clips)]
    for seconds in transition_seconds:
        cases += [transition_case(clip, index, seconds) for index, clip in enumerate(clips)]
    return cases


# Issue 13: long fills. Gaps of 1 and 2 s (and a 1 s transition) need clips long enough to hold
# the context and other material to copy from, longer than data_prep's 4 s clips: a long clip is
# cut from a stretch of consecutive clips of one track (contiguous in the shards, cut from the
# same loudness-normalised track, so they join seamlessly).
LONG_GAP_MS = (1000, 2000)
LONG_TRANSITION_SECONDS = (1.0,)
LONG_CLIP_SECONDS = 12.0
LONG_CASE_SEED_OFFSET = 13  # long gaps are placed by default_rng([seed, 13]): the other cases stay


def contiguous_stretches(clips: list[dict]) -> list[list[dict]]:
    """Manifest clips grouped into runs of consecutive clips of one track, in shard order.

    Two clips are consecutive when they belong to the same track, the second starts where the
    first ends in the track (``start_seconds``) and, within one shard, at the next frame.
    """
    ordered = sorted(clips, key=lambda clip: (clip["shard"], clip["offset"]))
    stretches: list[list[dict]] = []
    for clip in ordered:
        previous = stretches[-1][-1] if stretches else None
        if previous is not None and _follows(previous, clip):
            stretches[-1].append(clip)
        else:
            stretches.append([clip])
    return stretches


def _follows(previous: dict, clip: dict) -> bool:
    if previous["track"] != clip["track"] or "start_seconds" not in clip:
        return False
    expected = previous.get("start_seconds", math.nan) + previous["frames"] / MODEL_RATE
    if abs(clip["start_seconds"] - expected) > 1e-3:
        return False
    same_shard = previous["shard"] == clip["shard"]
    return not same_shard or clip["offset"] == previous["offset"] + previous["frames"]


def load_long_test_clips(
    corpus_dir: str | Path, count: int, clip_seconds: float, seed: int, split: str = "test"
) -> list[np.ndarray]:
    """``count`` clips ``[1, clip_seconds * 48000]`` float32, each from a different stretch of
    consecutive clips (:func:`contiguous_stretches`) of ``split`` at least ``clip_seconds`` long.

    Stretches are taken in the order of ``default_rng(seed).permutation``, skipping quiet ones
    (RMS below ``MIN_CLIP_RMS``); each is cropped to ``clip_seconds`` about its middle.
    """
    manifest = shards.read_manifest(corpus_dir)
    frames = int(round(clip_seconds * MODEL_RATE))
    stretches = [stretch for stretch in contiguous_stretches(
        [clip for clip in manifest["clips"] if clip["split"] == split])
        if sum(clip["frames"] for clip in stretch) >= frames]
    order = np.random.default_rng(seed).permutation(len(stretches))
    chosen, cache = [], {}
    for index in order:
        audio = _stretch_audio(corpus_dir, stretches[index], cache)
        start = (audio.shape[0] - frames) // 2
        audio = audio[start : start + frames]
        if np.sqrt(np.mean(audio**2)) >= MIN_CLIP_RMS:
            chosen.append(audio[None, :])
        if len(chosen) == count:
            return chosen
    raise RestoreError(corpus_dir, f"only {len(chosen)} usable {split!r} stretches of at least "
                                   f"{clip_seconds} s of one track (need {count})")


def _stretch_audio(corpus_dir: str | Path, stretch: list[dict], cache: dict) -> np.ndarray:
    parts = []
    for clip in stretch:
        if clip["shard"] not in cache:
            cache[clip["shard"]] = shards.load_shard(Path(corpus_dir) / clip["shard"])
        parts.append(cache[clip["shard"]][clip["offset"] : clip["offset"] + clip["frames"]])
    return np.concatenate(parts).astype(np.float32) / 32768.0


def build_long_cases(
    clips: list[np.ndarray],
    seed: int,
    *,
    gap_ms: tuple[float, ...] = LONG_GAP_MS,
    transition_seconds: tuple[float, ...] = LONG_TRANSITION_SECONDS,
) -> list[Case]:
    """Long gaps (``gap_<ms>ms``, placed as :func:`inpaint_case` does, by a generator of its
    own) and transitions (``bridge_<s>s_long``) on long clips."""
    rng = np.random.default_rng([seed, LONG_CASE_SEED_OFFSET])
    cases = []
    for milliseconds in gap_ms:
        cases += [inpaint_case(clip, index, milliseconds, rng) for index, clip in enumerate(clips)]
    for seconds in transition_seconds:
        for index, clip in enumerate(clips):
            case = transition_case(clip, index, seconds)
            cases.append(dataclasses.replace(case, condition=f"{case.condition}_long"))
    return cases
