"""Similarity copy: fill a long gap with the part of the recording whose surroundings match.

After Perraudin, Holighaus, Majdak & Balazs (2018), "Inpainting of long audio segments with
similarity graphs" (the pattern mode of RX's spectral repair works the same way). For a gap
``[start, end)`` of ``L`` samples:

1. Features of the mono mix (:mod:`restore.classical.similarity_features`): log mel band energies
   and an onset envelope, frames every ``HOP`` samples on a grid aligned to the gap's start, so a
   segment ``k`` hops away has its surroundings exactly ``k`` frames away. Only audio within
   ``SEARCH_SECONDS`` of the gap is searched.
2. Candidates: every segment ``[start + k HOP, end + k HOP)`` (``k != 0``) of known audio. Its
   distance is the weighted mean squared feature difference between the ``CONTEXT_SECONDS``
   before and after it and those before and after the gap (frames nearer the join weigh more).
   The smallest distance wins; ties go to the earliest candidate (deterministic).
3. The winner is aligned to the sample at each join by normalised cross-correlation of
   ``ALIGN_SECONDS`` of the known audio beside the join (lags up to ``ALIGN_MAX_LAG``, a
   little over the grid's half hop: a farther lag is a pitch period's alias, not a better fit).
   If the two joins want different lags, the left-aligned and right-aligned copies are
   crossfaded (equal power) over ``MIDDLE_FADE_SECONDS`` in the middle of the gap. The copy's
   level is matched to the gap's surroundings (RMS of the two contexts, gain limited to
   ``MAX_GAIN_DB``).
4. Pasted so that each join is continuous: over ``JOIN_SECONDS`` beside each join the copy gets
   the (mirrored, faded-out) difference between the known audio and the copy's own
   surroundings, which is zero where the copy's surroundings equal the gap's
   (:func:`blend_seams`).

No usable candidate (a short recording, gaps all around) gives the neighbour crossfade
(:mod:`restore.classical.neighbour`). Audio is ``np.ndarray [channels, frames]``, ``gap_mask``
``bool [frames]``; known samples are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from restore.classical.neighbour import (
    JOIN_SECONDS,
    bridge_layout,
    equal_power_fades,
    neighbour_fill,
    raised_cosine_ramp,
    smooth_joins,
)
from restore.classical.similarity_features import (
    HOP,
    candidate_distances,
    context_frames,
    frame_features,
)
from restore.classical.simple import check_audio_and_mask, gap_runs

SEARCH_SECONDS = 30.0  # audio searched on each side of the gap
ALIGN_SECONDS = 0.03  # known audio beside each join that the copy is aligned to
MIDDLE_FADE_SECONDS = 0.05  # crossfade between left- and right-aligned copies
MAX_GAIN_DB = 6.0  # the copy's level is matched to the context within this
CONTEXT_RMS_SECONDS = 0.5  # surroundings whose RMS the copy's level is matched to
ALIGN_MAX_LAG = HOP // 2 + HOP // 8  # the grid is within HOP / 2; farther lags are aliases
SAME_LAG_TOLERANCE = 0.05  # correlation per join given up to copy with a single lag


@dataclass(frozen=True)
class Match:
    """Where to copy a gap's fill from (frames of the searched signal).

    The fill's first samples are ``signal[left_source:]``, its last ones end at
    ``right_source + L``; ``gain`` scales the copy; ``distance`` is the context distance.
    """

    left_source: int
    right_source: int
    gain: float
    distance: float


def similarity_copy(
    audio: np.ndarray, gap_mask: np.ndarray, sample_rate: int, *, join_seconds: float = JOIN_SECONDS
) -> np.ndarray:
    """Fill every gap of ``audio [channels, frames]`` under ``gap_mask [frames]``; float32 copy.

    Gaps are filled left to right; an earlier filled gap counts as known audio for the next.
    """
    out = check_audio_and_mask(audio, gap_mask).astype(np.float64)
    unknown = np.asarray(gap_mask, dtype=bool).copy()
    join = int(round(join_seconds * sample_rate))
    runs = gap_runs(gap_mask)
    for index, (start, end) in enumerate(runs):
        right_limit = runs[index + 1][0] if index + 1 < len(runs) else out.shape[1]
        match = find_match(out.mean(axis=0), unknown, start, end, sample_rate)
        for channel in out:
            if match is None:
                channel[start:end] = neighbour_fill(channel, start, end, 0, right_limit)
                smooth_joins(channel, start, end, (0, right_limit), join)
            else:
                fill = copy_fill(channel, match, end - start, sample_rate)
                channel[start:end] = blend_seams(channel, fill, (start, end), match, join)
        unknown[start:end] = False
    return out.astype(np.float32)


def similarity_bridge(
    a: np.ndarray, b: np.ndarray, bridge_samples: int, sample_rate: int
) -> np.ndarray:
    """Transition ``[channels, bridge_samples]`` from ``a [channels, Ta]`` to ``b [channels, Tb]``:
    the segment of A or B whose surroundings best match A's end and B's start."""
    joined, mask = bridge_layout(a, b, bridge_samples)
    filled = similarity_copy(joined, mask, sample_rate)
    return filled[:, a.shape[1] : a.shape[1] + bridge_samples]


def find_match(
    mono: np.ndarray, unknown: np.ndarray, start: int, end: int, sample_rate: int
) -> Match | None:
    """The best source for the gap ``[start, end)`` of ``mono [frames]``, or None.

    ``unknown [frames]`` marks every sample that may not be used (the gap and any other gap).
    """
    first = max(0, start - int(SEARCH_SECONDS * sample_rate))
    last = min(mono.shape[0], end + int(SEARCH_SECONDS * sample_rate))
    local, local_unknown = mono[first:last], unknown[first:last]
    gap_start, gap_end = start - first, end - first
    offset = gap_start % HOP
    features, valid = frame_features(local, local_unknown, offset, sample_rate)
    targets, weights = context_frames(gap_start, gap_end, offset, sample_rate, features.shape[0])
    shifts = _candidate_shifts(local_unknown, gap_start, gap_end)
    if shifts.size == 0:
        return None
    distances = candidate_distances(features, valid, targets, weights, shifts)
    if not np.any(np.isfinite(distances)):
        return None
    best = int(np.nanargmin(np.where(np.isfinite(distances), distances, np.nan)))
    source = gap_start + int(shifts[best]) * HOP
    sides = _aligned_sources(local, local_unknown, (gap_start, gap_end), source, sample_rate)
    gain = _level_gain(local, local_unknown, (gap_start, gap_end), sides[0], sample_rate)
    return Match(sides[0] + first, sides[1] + first, gain, float(distances[best]))


def _candidate_shifts(unknown: np.ndarray, gap_start: int, gap_end: int) -> np.ndarray:
    """Hop shifts ``k != 0`` whose segment ``[gap_start + k HOP, gap_end + k HOP)`` is all known."""
    length = gap_end - gap_start
    lowest = -(gap_start // HOP)
    highest = (unknown.shape[0] - gap_end) // HOP
    shifts = np.arange(lowest, highest + 1)
    counts = np.concatenate([[0], np.cumsum(unknown)])
    starts = gap_start + shifts * HOP
    clean = counts[starts + length] - counts[starts] == 0
    return shifts[clean & (shifts != 0)]


def _aligned_sources(
    signal: np.ndarray, unknown: np.ndarray, gap: tuple[int, int], source: int, sample_rate: int
) -> tuple[int, int]:
    """``(left_source, right_source)``: ``source`` moved by up to ``ALIGN_MAX_LAG`` so that the
    copy lines up with the known audio at the left join and at the right join.

    Periodic material correlates almost equally well at many lags, so one lag for both joins
    (the best summed correlation) is kept unless each join loses more than
    ``SAME_LAG_TOLERANCE`` of correlation on average by it (then two copies, crossfaded in the
    middle).
    """
    gap_start, gap_end = gap
    length = gap_end - gap_start
    window = int(ALIGN_SECONDS * sample_rate)
    counts = np.concatenate([[0], np.cumsum(unknown)])
    lags = np.arange(-ALIGN_MAX_LAG, ALIGN_MAX_LAG + 1)
    sources = source + lags
    usable = (sources >= window) & (sources + length + window <= signal.shape[0])
    safe = np.clip(sources, 0, signal.shape[0] - length)
    usable &= counts[safe + length] - counts[safe] == 0
    left_clean = gap_start >= window and counts[gap_start] == counts[gap_start - window]
    right_clean = (gap_end + window <= signal.shape[0]
                   and counts[gap_end + window] == counts[gap_end])
    left = right = None
    if left_clean:
        left = _lag_scores(signal, signal[gap_start - window : gap_start], sources - window,
                           usable)
    if right_clean:
        right = _lag_scores(signal, signal[gap_end : gap_end + window], sources + length, usable)
    if left is None and right is None:
        return source, source
    if left is None or right is None:
        only = int(np.argmax(left if right is None else right))
        chosen = (only, only)
    else:
        both = int(np.argmax(left + right))  # one lag that suits both joins
        chosen = (both, both)
        if left[both] + right[both] < left.max() + right.max() - 2 * SAME_LAG_TOLERANCE:
            chosen = (int(np.argmax(left)), int(np.argmax(right)))
    if not np.isfinite((left if left is not None else right)[chosen[0]]):
        return source, source
    return source + int(lags[chosen[0]]), source + int(lags[chosen[1]])


def _lag_scores(
    signal: np.ndarray, reference: np.ndarray, window_starts: np.ndarray, usable: np.ndarray
) -> np.ndarray | None:
    """Normalised correlation ``[len(window_starts)]`` of each window with ``reference``
    (-inf where not usable); None when nothing is usable or the reference is silent."""
    if not np.any(usable) or not np.any(reference):
        return None
    size = reference.shape[0]
    low, high = int(window_starts[usable].min()), int(window_starts[usable].max())
    stretch = signal[low : high + size]
    products = np.correlate(stretch, reference, mode="valid")
    energies = np.convolve(stretch**2, np.ones(size), mode="valid")
    score = products / np.sqrt(np.maximum(energies, 1e-20) * np.dot(reference, reference))
    scores = np.full(window_starts.shape[0], -np.inf)
    scores[usable] = score[window_starts[usable] - low]
    return scores


def _level_gain(
    signal: np.ndarray, unknown: np.ndarray, gap: tuple[int, int], source: int, sample_rate: int
) -> float:
    """Gain that gives the copy's surroundings the RMS of the gap's (limited to MAX_GAIN_DB)."""
    context = int(CONTEXT_RMS_SECONDS * sample_rate)
    length = gap[1] - gap[0]

    def energy(begin: int) -> tuple[float, int]:
        spans = [(begin - context, begin), (begin + length, begin + length + context)]
        total, count = 0.0, 0
        for low, high in spans:
            low, high = max(low, 0), min(high, signal.shape[0])
            keep = ~unknown[low:high]
            total += float(np.sum(signal[low:high][keep] ** 2))
            count += int(np.sum(keep))
        return total, count

    target, target_count = energy(gap[0])
    found, found_count = energy(source)
    if target_count == 0 or found_count == 0 or found <= 0.0 or target <= 0.0:
        return 1.0
    gain_db = 10.0 * np.log10((target / target_count) / (found / found_count))
    return float(10.0 ** (np.clip(gain_db, -MAX_GAIN_DB, MAX_GAIN_DB) / 20.0))



def copy_fill(signal: np.ndarray, match: Match, length: int, sample_rate: int) -> np.ndarray:
    """The fill ``[length]`` copied from one channel ``signal`` as ``match`` says."""
    left = signal[match.left_source : match.left_source + length]
    if match.right_source == match.left_source:
        return match.gain * left
    right = signal[match.right_source : match.right_source + length]
    fade = max(1, min(length // 2, int(MIDDLE_FADE_SECONDS * sample_rate)))
    fade_out, fade_in = equal_power_fades(fade)
    first = (length - fade) // 2
    weight_left = np.concatenate([np.ones(first), fade_out, np.zeros(length - first - fade)])
    weight_right = np.concatenate([np.zeros(first), fade_in, np.ones(length - first - fade)])
    return match.gain * (weight_left * left + weight_right * right)


def blend_seams(
    signal: np.ndarray, fill: np.ndarray, gap: tuple[int, int], match: Match, join: int
) -> np.ndarray:
    """``fill`` made continuous with the known audio of one channel ``signal`` at both joins.

    Beside the left join the copy ``y[i] = gain x[left_source + i]`` gets
    ``(1 - ramp_i) (x[start - 1 - i] - y[-1 - i])``: the mismatch between the known audio and the
    copy's own preceding samples, mirrored about the join and faded out over ``join`` samples
    (likewise at the right join), so the first filled sample steps from ``x[start - 1]`` by the
    copy's own increment. A perfect match is left untouched.
    """
    start, end = gap
    length = end - start
    fill = fill.copy()
    fade = min(join, length // 2, start, match.left_source)
    if fade >= 1:
        steps = np.arange(fade)
        known = signal[start - 1 - steps]
        copied = match.gain * signal[match.left_source - 1 - steps]
        fill[:fade] += (1.0 - raised_cosine_ramp(fade)) * (known - copied)
    after = match.right_source + length
    fade = min(join, length // 2, signal.shape[0] - end, signal.shape[0] - after)
    if fade >= 1:
        steps = np.arange(fade)
        known = signal[end + steps]
        copied = match.gain * signal[after + steps]
        fill[length - 1 - steps] += (1.0 - raised_cosine_ramp(fade)) * (known - copied)
    return fill
