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
        for channel in out:
            if end - start <= janssen_max:
                _janssen_gap(channel, start, end, left_limit, right_limit, iterations)
            else:
                _extrapolate_gap(channel, start, end, left_limit, right_limit, context_samples)
    return out.astype(np.float32)


def _janssen_gap(
    signal: np.ndarray, start: int, end: int, left_limit: int, right_limit: int, iterations: int
) -> None:
    """Fill ``signal[start:end]`` in place by Janssen's iteration on a segment around it.

    The first AR estimate comes from the known context alone (the summed autocorrelations of
    the two sides), so the zeroed gap does not bias it; later iterations re-estimate on the
    whole segment with the current fill, as in Janssen et al.
    """
    gap = end - start
    order = min(3 * gap + 2, JANSSEN_MAX_ORDER)
    first = max(left_limit, start - 2 * order)
    last = min(right_limit, end + 2 * order)
    segment = signal[first:last].copy()
    gap_start, gap_end = start - first, end - first
    segment[gap_start:gap_end] = 0.0
    known = gap_start + (last - first - gap_end)
    order = min(order, known // 3)
    if order < 1:
        signal[start:end] = 0.0
        return
    correlation = autocorrelation(segment[:gap_start], order) if gap_start > 0 else 0.0
    if gap_end < segment.shape[0]:
        correlation = correlation + autocorrelation(segment[gap_end:], order)
    coefficients = lpc_from_autocorrelation(np.asarray(correlation), order)
    for iteration in range(max(iterations, 1)):
        if iteration:
            coefficients = lpc(segment, order)
        segment[gap_start:gap_end] = _solve_missing(segment, gap_start, gap_end, coefficients)
    signal[start:end] = segment[gap_start:gap_end]


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
    if left.shape[0] < 2:
        signal[start:end] = backward
        return
    if right.shape[0] < 2:
        signal[start:end] = forward
        return
    position = (np.arange(gap) + 0.5) / gap
    fade_in = 0.5 - 0.5 * np.cos(np.pi * position)  # raised cosine: weights sum to one
    signal[start:end] = (1.0 - fade_in) * forward + fade_in * backward


def _predict(history: np.ndarray, length: int) -> np.ndarray:
    """LPC continuation ``[length]`` of ``history`` (oldest first); zeros if too short."""
    if history.shape[0] < 2:
        return np.zeros(length)
    order = min(EXTRAPOLATION_ORDER, history.shape[0] // 3)
    return extrapolate(history, burg(history, max(order, 1)), length)
