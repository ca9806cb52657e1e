"""Declip and declick cases from the test split (issue 12), and their metrics.

* declip ``<kind>_sdr<N>dB``: a clip hard-clipped symmetrically at the level that gives an
  input SDR of N dB (3 and 7; the level is found by bisection), music and speech clips apart;
* declick ``sparse``: clicks at about 4 per second (Poisson), each 0.05-1.5 ms long with a peak
  of 0.1-0.6; ``crackle``: about 60 per second, 0.02-0.25 ms, peak 0.01-0.08. A click is a
  random-sign burst with an exponential envelope (time constant a third of its length), its
  first sample the largest, scaled to its peak; clicks are added to the music.

Metrics (docs/evaluation.md): ``sdr`` / ``snr`` = ``10 log10(|ref|^2 / |ref - out|^2)`` over
the whole clip; ``sdr_gain`` = that minus the degraded input's; ``lsd`` (NU-Wave 2);
``unclipped_change`` = largest ``|out - input|`` over unclipped samples (0 = exact);
``far_change_db`` = ``10 log10(|out - input|^2 / |input|^2)`` over samples farther than 20 ms
from every click (-120 when untouched), ``far_damaged`` = 1 when that exceeds -60 dB (its mean:
the share of clips whose far audio was damaged); ``clicks_found`` = share of clicks with a peak
above -30 dBFS whose largest sample was changed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from data_prep import shards
from evaluation import metrics
from evaluation.cases import MIN_CLIP_RMS, Case
from restore.config import MODEL_RATE
from restore.errors import RestoreError

DECLIP_INPUT_SDR_DB = (3.0, 7.0)
SPEECH_SOURCES = ("espeak", "festvox")  # corpus sources (prefixes) that are speech
CLICK_KINDS = {  # per second, length (ms), peak
    "sparse": (4.0, (0.05, 1.5), (0.1, 0.6)),
    "crackle": (60.0, (0.02, 0.25), (0.01, 0.08)),
}
FAR_SECONDS = 0.02  # "far from any click"
FOUND_ABOVE_DBFS = -30.0  # clicks at least this loud count for clicks_found
FAR_LIMIT_DB = -60.0  # far_damaged: the far audio changed by more than this
FAR_FLOOR_DB = -120.0  # far_change_db of an untouched far region (instead of -inf)
REPAIR_METRICS = {
    "declip": ("sdr_gain", "sdr", "lsd", "unclipped_change"),
    "declick": ("snr", "snr_gain", "lsd", "far_change_db", "far_damaged", "clicks_found"),
}


def is_speech(source: str) -> bool:
    return source.startswith(SPEECH_SOURCES)


def load_clips_of_kind(corpus_dir: str | Path, count: int, clip_seconds: float, seed: int,
                       speech: bool, split: str = "test") -> list[np.ndarray]:
    """Like :func:`evaluation.cases.load_test_clips`, restricted to speech or to music sources.

    ``split`` other than ``test`` is for tuning. Returns fewer than ``count`` clips (possibly
    none) when the split has fewer.
    """
    manifest = shards.read_manifest(corpus_dir)
    frames = int(round(clip_seconds * MODEL_RATE))
    listed = sorted((clip for clip in manifest["clips"] if clip["split"] == split
                     and clip["frames"] >= frames
                     and is_speech(clip.get("source", "")) == speech),
                    key=lambda clip: (clip["shard"], clip["offset"]))
    chosen, cache = [], {}
    for index in np.random.default_rng(seed).permutation(len(listed)):
        clip = listed[index]
        if clip["shard"] not in cache:
            cache[clip["shard"]] = shards.load_shard(Path(corpus_dir) / clip["shard"])
        start = clip["offset"] + (clip["frames"] - frames) // 2
        audio = cache[clip["shard"]][start:start + frames].astype(np.float32) / 32768.0
        if np.sqrt(np.mean(audio**2)) >= MIN_CLIP_RMS:
            chosen.append(audio[None, :])
        if len(chosen) == count:
            break
    return chosen


def _sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    error = np.sum((reference.astype(np.float64) - estimate) ** 2)
    return math.inf if error == 0 else float(10 * np.log10(np.sum(reference**2.0) / error))


def clip_level_for(reference: np.ndarray, input_sdr_db: float) -> float:
    """The symmetric clip level whose hard clipping of ``reference`` has ``input_sdr_db``."""
    low, high = 0.0, float(np.max(np.abs(reference)))
    for _ in range(60):
        level = (low + high) / 2
        if _sdr(np.clip(reference, -level, level), reference) > input_sdr_db:
            high = level
        else:
            low = level
    return (low + high) / 2


def declip_case(reference: np.ndarray, clip: int, input_sdr_db: float, kind: str) -> Case:
    level = clip_level_for(reference, input_sdr_db)
    degraded = np.clip(reference, -level, level).astype(np.float32)
    return Case("declip", f"{kind}_sdr{input_sdr_db:g}dB", clip, reference, degraded,
                params={"level": level, "input_sdr_db": input_sdr_db, "kind": kind})


def add_clicks(reference: np.ndarray, kind: str, rng: np.random.Generator
               ) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """``reference [channels, n]`` plus clicks of ``kind``; the clicks as (start, end, peak)."""
    per_second, length_ms, peak_range = CLICK_KINDS[kind]
    frames = reference.shape[-1]
    damaged = reference.astype(np.float64).copy()
    clicks = []
    for _ in range(rng.poisson(per_second * frames / MODEL_RATE)):
        length = max(1, int(round(rng.uniform(*length_ms) * MODEL_RATE / 1000)))
        start = int(rng.integers(0, frames - length))
        shape = np.exp(-np.arange(length) / max(length / 3, 0.5)) * rng.standard_normal(length)
        shape[0] = 1.2 * np.abs(shape).max() * rng.choice([-1.0, 1.0]) if length > 1 else 1.0
        peak = float(rng.uniform(*peak_range))
        damaged[:, start:start + length] += peak * shape / np.abs(shape).max()
        clicks.append((start, start + length, peak))
    return damaged.astype(np.float32), clicks


def declick_case(reference: np.ndarray, clip: int, kind: str, rng: np.random.Generator) -> Case:
    degraded, clicks = add_clicks(reference, kind, rng)
    return Case("declick", kind, clip, reference, degraded, params={"clicks": clicks})


def build_repair_cases(music: list[np.ndarray], speech: list[np.ndarray], seed: int) -> list[Case]:
    """Declip cases on music and speech clips, declick cases on music clips (fixed order)."""
    cases = []
    for input_sdr in DECLIP_INPUT_SDR_DB:
        for kind, clips in (("music", music), ("speech", speech)):
            cases += [declip_case(clip, index, input_sdr, kind) for index, clip in
                      enumerate(clips)]
    rng = np.random.default_rng(seed + 12)
    for kind in CLICK_KINDS:
        cases += [declick_case(clip, index, kind, rng) for index, clip in enumerate(music)]
    return cases


def load_repair_cases(corpus_dir: str | Path, count: int, clip_seconds: float,
                      seed: int) -> list[Case]:
    music = load_clips_of_kind(corpus_dir, count, clip_seconds, seed, speech=False)
    if not music:
        raise RestoreError(corpus_dir, "no music clips in the test split")
    speech = load_clips_of_kind(corpus_dir, count, clip_seconds, seed, speech=True)
    return build_repair_cases(music, speech, seed)


def score_repair(case: Case, output: np.ndarray) -> dict[str, float]:
    """The metrics of ``REPAIR_METRICS[case.task]`` for ``output [channels, frames]``."""
    reference, degraded = case.reference, case.degraded
    change = output.astype(np.float64) - degraded
    values = {"lsd": metrics.lsd(output, reference)}
    if case.task == "declip":
        level = case.params["level"]
        clipped = np.abs(degraded) >= np.float32(level)
        values.update(sdr=_sdr(output, reference),
                      sdr_gain=_sdr(output, reference) - _sdr(degraded, reference),
                      unclipped_change=float(np.max(np.abs(change[~clipped]), initial=0.0)))
        return values
    far = np.ones(reference.shape[-1], dtype=bool)
    reach = int(FAR_SECONDS * MODEL_RATE)
    loud = []
    for start, end, peak in case.params["clicks"]:
        far[max(0, start - reach):end + reach] = False
        if 20 * np.log10(peak) >= FOUND_ABOVE_DBFS:
            loud.append(start)  # the first sample is each click's largest
    far_energy = np.sum(degraded[:, far].astype(np.float64) ** 2)
    far_change = np.sum(change[:, far] ** 2)
    far_db = FAR_FLOOR_DB
    if far_change > 0:
        far_db = max(FAR_FLOOR_DB, float(10 * np.log10(far_change / max(far_energy, 1e-30))))
    values.update(
        snr=_sdr(output, reference), snr_gain=_sdr(output, reference) - _sdr(degraded, reference),
        far_change_db=far_db, far_damaged=float(far_db > FAR_LIMIT_DB),
        clicks_found=(float(np.mean([np.any(change[:, start] != 0) for start in loud]))
                      if loud else math.nan))
    return values
