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
freedom), after starting from the seed alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GROWTH_PENALTY = 2.0  # innovation variances a sample must explain to join a click
GROWTH_STEPS = (1, 2)  # samples added at a side per step (2 jumps a sample near zero)
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


def _solve(rho: np.ndarray, b: np.ndarray, unknown: np.ndarray) -> tuple[float, np.ndarray]:
    """``(q, delta)`` for the samples ``unknown`` (indices into ``b``)."""
    lags = np.minimum(np.abs(unknown[:, None] - unknown[None, :]), rho.shape[0] - 1)
    gram = rho[lags]
    gram[np.diag_indices_from(gram)] += RIDGE * rho[0]
    delta = np.linalg.solve(gram, b[unknown])
    return float(b[unknown] @ delta), delta


def _grow(rho: np.ndarray, b: np.ndarray, seed: int, variance: float, max_length: int
          ) -> tuple[np.ndarray, float, np.ndarray]:
    """Greedy growth of ``[seed]`` inside ``[0, len(b))``: ``(unknown, q, delta)``."""
    first, last = seed, seed + 1
    q, delta = _solve(rho, b, np.arange(first, last))
    while last - first < max_length:
        best = None
        for step in GROWTH_STEPS:
            for start, end in ((first - step, last), (first, last + step)):
                if start < 0 or end > b.shape[0]:
                    continue
                grown_q, grown_delta = _solve(rho, b, np.arange(start, end))
                gain = (grown_q - q) / variance - GROWTH_PENALTY * step
                if gain > 0 and (best is None or gain > best[0]):
                    best = (gain, start, end, grown_q, grown_delta)
        if best is None:
            break
        _, first, last, q, delta = best
    return np.arange(first, last), q, delta


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
