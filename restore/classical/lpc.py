"""Linear prediction: autocorrelation-method LPC and extrapolation with ``scipy.signal.lfilter``.

Coefficients follow the filter convention ``a = [1, a_1, ..., a_p]``: the prediction error is
``e[n] = sum_i a_i x[n - i]`` and the predictor is ``x[n] ~ -sum_{i>=1} a_i x[n - i]``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal

# White-noise correction: lifts r[0] so the normal equations stay well conditioned for pure tones.
WHITE_NOISE_CORRECTION = 1e-9


def autocorrelation(segment: np.ndarray, max_lag: int) -> np.ndarray:
    """Biased autocorrelation ``r[0..max_lag]`` of a Hann-windowed ``segment [n]`` (via FFT).

    Always ``max_lag + 1`` values: lags ``>= n`` are exactly zero (the biased estimate of a
    zero-extended segment), so short segments can be pooled with long ones.
    """
    length = segment.shape[0]
    correlation = np.zeros(max(max_lag, 0) + 1)
    if length == 0:
        return correlation
    windowed = segment.astype(np.float64) * np.hanning(length)
    # an FFT of >= 2n points keeps lags 0..n-1 free of circular wrap; beyond n-1 it would
    # return negative lags, so only the first n (or max_lag + 1) are kept
    size = int(2 ** np.ceil(np.log2(2 * length)))
    spectrum = np.fft.rfft(windowed, size)
    lags = min(length, correlation.shape[0])
    correlation[:lags] = np.fft.irfft(spectrum * spectrum.conj(), size)[:lags]
    return correlation


def lpc(segment: np.ndarray, order: int) -> np.ndarray:
    """LPC coefficients ``[order + 1]`` (leading 1) of ``segment [n]``, autocorrelation method."""
    order = int(min(order, segment.shape[0] - 1))
    return lpc_from_autocorrelation(autocorrelation(segment, max(order, 0)), order)


def lpc_from_autocorrelation(r: np.ndarray, order: int) -> np.ndarray:
    """LPC coefficients ``[order + 1]`` (leading 1) from autocorrelation ``r[0..order]``.

    Levinson-Durbin (``scipy.linalg.solve_toeplitz``); a windowed (biased) autocorrelation gives
    a minimum-phase (stable) predictor. Silence gives ``[1, 0, ..., 0]``.
    """
    coefficients = np.zeros(max(order, 0) + 1)
    coefficients[0] = 1.0
    if order < 1 or r[0] <= 1e-20:
        return coefficients
    column = r[:order].copy()
    column[0] *= 1.0 + WHITE_NOISE_CORRECTION
    coefficients[1:] = scipy.linalg.solve_toeplitz(column, -r[1 : order + 1])
    if not np.all(np.isfinite(coefficients)):
        coefficients[1:] = 0.0
    return coefficients


def extrapolate(history: np.ndarray, coefficients: np.ndarray, length: int) -> np.ndarray:
    """Continue ``history [n]`` (oldest first) by ``length`` predicted samples ``[length]``.

    Runs the all-pole filter ``1 / A(z)`` on a zero input, its state set from the last
    ``order`` samples of ``history`` (``scipy.signal.lfiltic``).
    """
    order = coefficients.shape[0] - 1
    if order < 1 or history.shape[0] == 0:
        return np.zeros(length)
    past = history[::-1][:order].astype(np.float64)
    state = scipy.signal.lfiltic([1.0], coefficients, past)
    prediction, _ = scipy.signal.lfilter([1.0], coefficients, np.zeros(length), zi=state)
    return prediction


def burg(segment: np.ndarray, order: int) -> np.ndarray:
    """LPC coefficients ``[order + 1]`` (leading 1) of ``segment [n]`` by Burg's method.

    Burg (1975) picks each reflection coefficient to minimise the sum of forward and backward
    prediction-error energies on the data itself (no window), which gives sharper spectral
    peaks than the autocorrelation method and is still minimum phase (|k| <= 1).
    """
    order = int(min(order, segment.shape[0] - 1))
    coefficients = np.zeros(max(order, 0) + 1)
    coefficients[0] = 1.0
    forward = segment.astype(np.float64).copy()
    backward = forward.copy()
    # stop once the error is ~1e-12 of the signal: a perfectly predictable input would otherwise
    # drive the errors into denormal floats (very slow) without improving the predictor
    floor = 1e-24 * 2.0 * np.dot(forward, forward)
    for m in range(order):
        f, b = forward[m + 1 :], backward[m:-1]
        denominator = np.dot(f, f) + np.dot(b, b)
        if denominator <= max(floor, 1e-300):
            break
        k = -2.0 * np.dot(f, b) / denominator
        coefficients[1 : m + 2] = coefficients[1 : m + 2] + k * coefficients[m::-1][: m + 1]
        forward[m + 1 :], backward[m + 1 :] = f + k * b, b + k * f
    return coefficients
