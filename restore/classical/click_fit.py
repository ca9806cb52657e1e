"""The extent and evidence of one click: which samples an AR model says are not music.

Given an AR predictor ``a`` (``[order + 1]``, leading 1) and a seed sample where the matched
residual peaks, the click is the set ``U`` of consecutive samples whose re-estimation lowers the
prediction-error energy most. For a set ``U`` the least-squares re-estimate (Janssen, Veldhuis &
Vries 1986) changes the samples by ``delta = G_UU^-1 b_U`` and lowers the energy by
``q = b_U^T G_UU^-1 b_U``, where

* ``b = -A^T A x`` is the matched (two-sided) residual of the observation, computed locally with
  the seed's predictor, and
* ``G = A^T A`` is, away from the signal's ends, the Toeplitz matrix of the predictor's
  autocorrelation ``rho[k] = sum_i a_i a_{i+k}`` (zero beyond the order).

Under "no click" ``q / sigma_e^2`` is chi-square with ``|U|`` degrees of freedom (Godsill &
Rayner 1998, ch. 5: the likelihood-ratio test of a click on a known support); a click of
energy ``E`` adds about ``E |a|^2``. :func:`fit_click` grows ``U`` from the seed one or two
samples at a side while a step lowers the energy by more than ``GROWTH_PENALTY`` innovation
variances per sample (an information criterion: each re-estimated sample costs one degree of
freedom), after starting from the seed alone. A seed whose own sample explains less than
``SCREEN_EVIDENCE`` variances is not grown (it cannot be a click worth the cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GROWTH_PENALTY = 1.5  # innovation variances a sample must explain to join a click
GROWTH_STEPS = (1, 2)  # samples added at a side per step (2 jumps a sample near zero; the
#                        scoring below handles steps of 1 and 2)
SCREEN_EVIDENCE = 3.0  # a seed whose own sample explains less is not grown
RIDGE = 1e-9  # Tikhonov weight relative to rho[0]: long runs of a tonal model stay solvable


@dataclass(frozen=True)
class ClickFit:
    """One click: ``samples`` (absolute indices, consecutive), the least-squares change
    ``delta`` that re-estimates them, and ``evidence`` = energy reduction / sigma_e^2."""

    samples: np.ndarray
    delta: np.ndarray
    evidence: float


def predictor_correlations(coefficients: np.ndarray) -> np.ndarray:
    """``rho [blocks, order + 2]`` of predictors ``[blocks, order + 1]``; the last column is 0
    (every lag beyond the order indexes it)."""
    blocks, width = coefficients.shape
    rho = np.zeros((blocks, width + 1))
    for lag in range(width):
        rho[:, lag] = np.einsum("bi,bi->b", coefficients[:, :width - lag], coefficients[:, lag:])
    return rho


def _gram(rho: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``G[rows, columns]`` of the Toeplitz ``A^T A`` whose first column is ``rho``."""
    return rho[np.minimum(np.abs(rows[:, None] - columns[None, :]), rho.shape[0] - 1)]


def _grow(rho: np.ndarray, b: np.ndarray, seed: int, variance: float, max_length: int
          ) -> tuple[np.ndarray, float, np.ndarray]:
    """Greedy growth of ``[seed]`` inside ``[0, len(b))``: ``(unknown, q, delta)``.

    Each step scores every candidate extension at once from the current inverse: adding the
    samples ``S`` to ``U`` lowers the energy by a further ``r^T C^-1 r`` with the Schur
    complement ``C = G_SS - G_SU G_UU^-1 G_US`` and ``r = b_S - G_SU G_UU^-1 b_U``.
    """
    ridge = RIDGE * rho[0]
    first, last = seed, seed + 1
    if b[seed] ** 2 / (rho[0] + ridge) < SCREEN_EVIDENCE * variance:
        # the seed sample alone explains too little for a click worth growing
        delta = np.array([b[seed] / (rho[0] + ridge)])
        return np.arange(first, last), float(b[seed] * delta[0]), delta
    while True:
        unknown = np.arange(first, last)
        inverse = np.linalg.inv(_gram(rho, unknown, unknown) + ridge * np.eye(last - first))
        delta = inverse @ b[unknown]
        q = float(b[unknown] @ delta)
        if last - first >= max_length:
            break
        best = _best_extension(rho, b, unknown, inverse, delta, variance, ridge)
        if best is None:
            break
        first, last = min(first, best[0]), max(last, best[1])
    return unknown, q, delta


def _best_extension(rho: np.ndarray, b: np.ndarray, unknown: np.ndarray, inverse: np.ndarray,
                    delta: np.ndarray, variance: float, ridge: float
                    ) -> tuple[int, int] | None:
    """``(start, end)`` of the extension of ``unknown`` (``GROWTH_STEPS`` samples at a side)
    that gains the most over ``GROWTH_PENALTY`` per sample, or None if none gains."""
    first, last = int(unknown[0]), int(unknown[-1]) + 1
    candidates = [(first - step, first) for step in GROWTH_STEPS]
    candidates += [(last, last + step) for step in GROWTH_STEPS]
    candidates = [(start, end) for start, end in candidates if start >= 0 and end <= b.shape[0]]
    if not candidates:
        return None
    rows = np.unique(np.concatenate([np.arange(start, end) for start, end in candidates]))
    cross = _gram(rho, rows, unknown)
    schur = _gram(rho, rows, rows) - cross @ inverse @ cross.T
    schur[np.diag_indices(rows.shape[0])] += ridge
    remainder = (b[rows] - cross @ delta).tolist()
    schur = schur.tolist()
    position = {int(row): index for index, row in enumerate(rows)}
    best, best_gain = None, 0.0
    for start, end in candidates:
        i = position[start]
        if end - start == 1:  # r^2 / c
            gain = remainder[i] ** 2 / schur[i][i]
        else:  # r^T C^-1 r of a 2 x 2 C
            j = position[start + 1]
            a, c, d = schur[i][i], schur[i][j], schur[j][j]
            r, t = remainder[i], remainder[j]
            gain = (d * r * r - 2 * c * r * t + a * t * t) / (a * d - c * c)
        gain = gain / variance - GROWTH_PENALTY * (end - start)
        if gain > best_gain:
            best, best_gain = (start, end), gain
    return best


def fit_click(signal: np.ndarray, coefficients: np.ndarray, rho: np.ndarray, seed: int,
              bounds: tuple[int, int], variance: float, max_length: int) -> ClickFit:
    """The click around ``seed`` in ``signal [n]``, its samples kept inside ``bounds``
    (``[low, high)``, at least ``order`` samples from either end of ``signal``).

    ``coefficients [order + 1]`` and ``rho [order + 2]`` are the seed's block predictor and its
    autocorrelation, ``variance`` the local innovation variance ``sigma_e^2``.
    """
    order = coefficients.shape[0] - 1
    low, high = bounds
    segment = signal[low - order:high + order]
    error = np.convolve(segment, coefficients, mode="valid")  # rows low .. high + order - 1
    b = -np.correlate(error, coefficients, mode="valid")  # samples low .. high - 1
    unknown, q, delta = _grow(rho, b, seed - low, variance, max_length)
    return ClickFit(unknown + low, delta, q / variance)
