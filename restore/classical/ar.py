"""Autoregressive (AR) gap filling: Janssen's method for short gaps, LPC extrapolation for long.

* Short gaps (<= ``janssen_max_seconds``): Janssen, Veldhuis & Vries (1986), "Adaptive
  interpolation of discrete-time signals that can be modeled as autoregressive processes".
  Alternate (1) estimating the AR coefficients ``a`` of a segment around the gap and (2) choosing
  the missing samples that minimise the energy of the prediction error ``e = A x`` over every
  error sample that touches the gap. Splitting ``A`` into columns of known and unknown samples,
  (2) is the least-squares problem ``min |A_u x_u + A_k x_k|^2`` whose normal matrix
  ``A_u^T A_u`` is the symmetric Toeplitz matrix of the autocorrelation of ``a``, solved with
  Levinson recursion (``scipy.linalg.solve_toeplitz``).
* Long gaps: predict forwards from the left context and backwards from the right context with
  LPC models of each side (Etter 1996, "Restoration of a discrete-time signal segment by
  interpolation based on the left-sided and right-sided autoregressive parameters"), then
  crossfade the two predictions across the gap with raised-cosine weights that sum to one.
* Thin context: a gap touching the file's edge, or with a side of under ``MIN_SIDE_CONTEXT``
  known samples (a close neighbouring gap), is extrapolated from the other side alone; with
  fewer than ``MIN_CONTEXT`` known samples in all it is bridged by a straight line (zeros when
  nothing is known). Janssen's AR order never exceeds either side's context.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from restore.classical.lpc import (
    autocorrelation,
    burg,
    extrapolate,
    lpc,
    lpc_from_autocorrelation,
)
from restore.classical.simple import check_audio_and_mask, gap_runs

JANSSEN_MAX_SECONDS = 0.05  # gaps up to this length use Janssen, longer ones extrapolation
JANSSEN_MAX_ORDER = 2000  # AR order cap for Janssen (order = min(3 * gap + 2, cap))
JANSSEN_ITERATIONS = 3  # alternations of AR estimation and gap solving
EXTRAPOLATION_ORDER = 1024  # AR order of each side's predictor for long gaps
EXTRAPOLATION_CONTEXT_SECONDS = 0.25  # context used to fit each side's predictor
MIN_CONTEXT = 3  # known samples around a gap below which it is bridged by a straight line
MIN_SIDE_CONTEXT = 64  # known samples a side needs for Janssen or to be predicted from


def ar_inpaint(
    audio: np.ndarray,
    gap_mask: np.ndarray,
    sample_rate: int,
    *,
    janssen_max_seconds: float = JANSSEN_MAX_SECONDS,
    iterations: int = JANSSEN_ITERATIONS,
) -> np.ndarray:
    """Fill the samples under ``gap_mask [frames]`` of ``audio [channels, frames]`` by AR modelling.

    Gaps are filled left to right, channel by channel; an earlier filled gap counts as known
    context for the next, a later unfilled gap bounds the context. Returns a new float32 array.
    """
    out = check_audio_and_mask(audio, gap_mask).astype(np.float64)
    runs = gap_runs(gap_mask)
    janssen_max = int(round(janssen_max_seconds * sample_rate))
    context_samples = int(round(EXTRAPOLATION_CONTEXT_SECONDS * sample_rate))
    for index, (start, end) in enumerate(runs):
        left_limit = 0
        right_limit = runs[index + 1][0] if index + 1 < len(runs) else out.shape[1]
        sides = (start - left_limit, right_limit - end)  # known samples left and right
        for channel in out:
            if sum(sides) < MIN_CONTEXT:
                _bridge_linearly(channel, start, end, left_limit, right_limit)
            elif end - start <= janssen_max and min(sides) >= MIN_SIDE_CONTEXT:
                _janssen_gap(channel, start, end, left_limit, right_limit, iterations)
            else:  # long gap, or one side (nearly) empty: the file's edge or a close gap
                _extrapolate_gap(channel, start, end, left_limit, right_limit, context_samples)
    return out.astype(np.float32)


def _bridge_linearly(
    signal: np.ndarray, start: int, end: int, left_limit: int, right_limit: int
) -> None:
    """Fill ``signal[start:end]`` in place with a line between the neighbouring known samples.

    The fallback when there is too little context to fit any AR model: one known side is held,
    none gives zeros.
    """
    positions = [index for index in (start - 1, end) if left_limit <= index < right_limit]
    if not positions:
        signal[start:end] = 0.0
        return
    signal[start:end] = np.interp(np.arange(start, end), positions, signal[positions])


def _context_bounds(
    start: int, end: int, left_limit: int, right_limit: int, wanted: int
) -> tuple[int, int]:
    """``(first, last)`` frames of a segment around the gap ``[start, end)``.

    Takes ``wanted`` known samples on each side where the limits allow; a side cut short by
    the file's edge or a neighbouring gap is made up from the other side.
    """
    left_room, right_room = start - left_limit, right_limit - end
    left_take = min(left_room, wanted + max(0, wanted - right_room))
    right_take = min(right_room, wanted + max(0, wanted - left_room))
    return start - left_take, end + right_take


def _janssen_gap(
    signal: np.ndarray, start: int, end: int, left_limit: int, right_limit: int, iterations: int
) -> None:
    """Fill ``signal[start:end]`` in place by Janssen's iteration on a segment around it.

    The first AR estimate comes from the known context alone (the summed autocorrelations of
    the two sides), so the zeroed gap does not bias it; later iterations re-estimate on the
    whole segment with the current fill, as in Janssen et al.
    """
    order = min(3 * (end - start) + 2, JANSSEN_MAX_ORDER)
    first, last = _context_bounds(start, end, left_limit, right_limit, 2 * order)
    segment = signal[first:last].copy()
    gap_start, gap_end = start - first, end - first
    segment[gap_start:gap_end] = 0.0
    order = max(1, min(order, _order_limit(gap_start, last - first - gap_end)))
    # each side's biased autocorrelation is zero beyond that side's length, so a short side
    # (file edge, neighbouring gap) adds only the lags it has; the sum stays positive
    # semi-definite, hence a stable predictor
    correlation = autocorrelation(segment[:gap_start], order)
    correlation += autocorrelation(segment[gap_end:], order)
    coefficients = lpc_from_autocorrelation(correlation, order)
    for iteration in range(max(iterations, 1)):
        if iteration:
            coefficients = lpc(segment, order)
        segment[gap_start:gap_end] = _solve_missing(segment, gap_start, gap_end, coefficients)
    signal[start:end] = segment[gap_start:gap_end]


def _order_limit(left_context: int, right_context: int) -> int:
    """Highest AR order the known samples on each side of a gap support.

    At least three known samples per coefficient, and no more coefficients than a non-empty
    side has samples: the prediction-error rows of ``_solve_missing`` then never reach past
    that side's context into samples it does not have (which the Toeplitz normal equations
    would treat as zeros, an ill-conditioned problem for tonal audio). An empty side (file
    edge) does not limit the order.
    """
    sides = [length for length in (left_context, right_context) if length > 0]
    return min([(left_context + right_context) // 3, *sides])


def _solve_missing(
    segment: np.ndarray, gap_start: int, gap_end: int, coefficients: np.ndarray
) -> np.ndarray:
    """Missing samples ``[gap]`` minimising the prediction-error energy for ``coefficients``."""
    order = coefficients.shape[0] - 1
    gap = gap_end - gap_start
    known = segment.copy()
    known[gap_start:gap_end] = 0.0
    # error of the known samples alone, rows gap_start .. gap_end + order - 1: E = A_k x_k
    error = np.convolve(known, coefficients)[gap_start : gap_end + order]
    error = np.pad(error, (0, gap + order - error.shape[0]))
    rhs = -np.correlate(error, coefficients, mode="valid")  # -A_u^T A_k x_k
    # A_u^T A_u: Toeplitz, first column = autocorrelation of the coefficients
    column = np.zeros(gap)
    autocorrelation = np.correlate(coefficients, coefficients, mode="full")[order:]
    column[: min(gap, order + 1)] = autocorrelation[: min(gap, order + 1)]
    return scipy.linalg.solve_toeplitz(column, rhs)


def _extrapolate_gap(
    signal: np.ndarray, start: int, end: int, left_limit: int, right_limit: int, context: int
) -> None:
    """Fill ``signal[start:end]`` in place with crossfaded forward and backward LPC predictions."""
    gap = end - start
    left = signal[max(left_limit, start - context) : start]
    right = signal[end : min(right_limit, end + context)]
    forward = _predict(left, gap)
    backward = _predict(right[::-1], gap)[::-1]
    if _too_short(left, right):
        signal[start:end] = backward
        return
    if _too_short(right, left):
        signal[start:end] = forward
        return
    position = (np.arange(gap) + 0.5) / gap
    fade_in = 0.5 - 0.5 * np.cos(np.pi * position)  # raised cosine: weights sum to one
    signal[start:end] = (1.0 - fade_in) * forward + fade_in * backward


def _too_short(side: np.ndarray, other: np.ndarray) -> bool:
    """Whether ``side`` is too short to predict from, next to the ``other`` side of the gap.

    A side of under ``MIN_SIDE_CONTEXT`` samples gives a poor low-order predictor; it is left
    out when the other side is longer (then the fill need not meet it exactly).
    """
    short = side.shape[0] < MIN_SIDE_CONTEXT and other.shape[0] > side.shape[0]
    return side.shape[0] < 2 or short


def _predict(history: np.ndarray, length: int) -> np.ndarray:
    """LPC continuation ``[length]`` of ``history`` (oldest first); zeros if too short."""
    if history.shape[0] < 2:
        return np.zeros(length)
    order = min(EXTRAPOLATION_ORDER, history.shape[0] // 3)
    return extrapolate(history, burg(history, max(order, 1)), length)
