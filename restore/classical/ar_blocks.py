"""Block-wise AR (linear-prediction) analysis of long signals, vectorised over blocks.

Used by the click detector: every block of ``block`` samples gets its own predictor of order
``order`` (estimated on a Hann window of twice the block centred on it), and the prediction
error of each sample is taken with its block's predictor. All blocks are solved together
(Levinson-Durbin over an array of autocorrelations), so an hour of audio costs seconds.

Coefficients follow :mod:`restore.classical.lpc`: ``a = [1, a_1, ..., a_p]``, the prediction
error is ``e[n] = sum_i a_i x[n - i]``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import as_strided

WHITE_NOISE_CORRECTION = 1e-6  # lifts r[0]: a pure tone or silence still gives a stable model
SILENCE_POWER = 1e-12  # blocks with less windowed energy get the trivial predictor [1, 0, ...]
MAX_REFLECTION = 0.9999  # reflection coefficients are held inside the unit circle


def block_autocorrelation(signal: np.ndarray, block: int, order: int) -> np.ndarray:
    """Biased autocorrelations ``[blocks, order + 1]`` of Hann windows of ``2 * block`` samples
    centred on each block of ``signal [n]`` (zeros beyond its ends)."""
    blocks = -(-signal.shape[0] // block)
    padded = np.zeros(blocks * block + 2 * block)
    padded[block // 2:block // 2 + signal.shape[0]] = signal
    frames = as_strided(padded, (blocks, 2 * block), (padded.strides[0] * block,
                                                      padded.strides[0]), writeable=False)
    # frame + order points: lags up to the order are free of circular wrap
    size = scipy.fft.next_fast_len(2 * block + order + 1, real=True)
    window = np.hanning(2 * block).astype(np.float32)
    spectrum = scipy.fft.rfft(frames.astype(np.float32) * window, size, axis=1, workers=-1)
    power = spectrum.real**2 + spectrum.imag**2
    return scipy.fft.irfft(power, size, axis=1, workers=-1)[:, :order + 1].astype(np.float64)


def levinson(correlation: np.ndarray) -> np.ndarray:
    """Predictors ``[blocks, order + 1]`` (leading 1) from ``correlation [blocks, order + 1]``.

    Levinson-Durbin recursion run on every row at once; rows of silence give ``[1, 0, ...]``.
    A windowed (biased) autocorrelation makes every predictor minimum phase.
    """
    rows, width = correlation.shape
    r = correlation.astype(np.float64).copy()
    r[:, 0] = r[:, 0] * (1.0 + WHITE_NOISE_CORRECTION) + 1e-30
    coefficients = np.zeros((rows, width))
    coefficients[:, 0] = 1.0
    error = r[:, 0].copy()
    silent = correlation[:, 0] <= SILENCE_POWER
    for m in range(1, width):
        accumulated = r[:, m] + np.einsum("bi,bi->b", coefficients[:, 1:m], r[:, m - 1:0:-1])
        # |k| < 1 in exact arithmetic; float32 autocorrelations of near-silence can break it
        reflection = np.clip(-accumulated / error, -MAX_REFLECTION, MAX_REFLECTION)
        reflection[silent] = 0.0
        coefficients[:, 1:m] += reflection[:, None] * coefficients[:, m - 1:0:-1]
        coefficients[:, m] = reflection
        error = error * (1.0 - reflection**2)
        error = np.maximum(error, 1e-30)
    return coefficients


def block_filter(signal: np.ndarray, coefficients: np.ndarray, block: int, *,
                 reverse: bool = False) -> np.ndarray:
    """Filter ``signal [n]`` with each block's FIR ``coefficients [blocks, p + 1]``.

    ``reverse=False``: the prediction error ``e[n] = sum_i a_i x[n - i]``;
    ``reverse=True``: the adjoint ``sum_i a_i x[n + i]`` (the two-sided, "matched" residual when
    applied to ``e``). Samples outside ``signal`` count as zeros.
    """
    length = signal.shape[0]
    order = coefficients.shape[1] - 1
    blocks = coefficients.shape[0]
    padded = np.zeros(blocks * block + 2 * order, dtype=np.float32)
    padded[order:order + length] = signal
    start = order if reverse else 0
    step = padded.strides[0]
    # each block's segment (its samples and ``order`` before them) convolved with its filter,
    # through one batched FFT: much cheaper than ``order + 1`` passes over the signal
    segments = as_strided(padded[start:], (blocks, block + order), (step * block, step),
                          writeable=False)
    taps = coefficients[:, ::-1] if reverse else coefficients
    size = scipy.fft.next_fast_len(block + 2 * order + 1, real=True)
    product = (scipy.fft.rfft(segments, size, axis=1, workers=-1)
               * scipy.fft.rfft(taps.astype(np.float32), size, axis=1, workers=-1))
    out = scipy.fft.irfft(product, size, axis=1, workers=-1)[:, order:order + block]
    return np.ascontiguousarray(out).reshape(-1)[:length]
