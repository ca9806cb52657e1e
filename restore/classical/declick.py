"""Click and crackle detection and classical repair (AR interpolation).

Detection (Vaseghi & Rayner 1990; Godsill & Rayner 1998, "Digital Audio Restoration", ch. 5):
an impulse that an AR model of the music cannot predict stands out in the prediction error.

1. Every block of ``BLOCK_SECONDS`` gets an order-``ORDER`` AR predictor
   (:mod:`restore.classical.ar_blocks`).
2. The two-sided ("matched") residual ``d = A^T A x`` is formed: for a lone impulse of size
   ``c`` it peaks at the impulse itself with ``c |a|^2``, while the music's innovation gives
   ``sigma |a|``: the detection gain over the one-sided residual is ``|a|``, and the peak sits
   on the click, not ``p`` samples after it.
3. Its scale is measured robustly: the median absolute value in sub-blocks of
   ``SCALE_SECONDS`` (a click covers a minority of one), the largest of each sub-block and its
   two neighbours. Taking the largest keeps attacks (drums, plucks), whose prediction error
   rises for many milliseconds, from being taken for clicks.
4. A click is a run where ``|d|`` exceeds ``threshold / sensitivity`` times the scale,
   extended while it stays above ``EXTEND_RATIO`` of that, widened by ``MARGIN_SAMPLES``; runs
   longer than ``MAX_CLICK_SECONDS`` are programme (an attack, a noisy sound) and left alone.
5. The detected runs are filled, the predictors re-estimated on the repaired signal and the
   detection run again (``PASSES``): clicks that biased the first predictors are found then.

Repair: each group of runs (closer than the order) is re-estimated with its block's predictor
(re-fitted with the runs zeroed). The observation there is music plus a click, so the estimate is
the posterior mean under the AR prior and a white click of unknown power (Godsill & Rayner 1998,
5.3): least-squares AR interpolation (Janssen, Veldhuis & Vries 1986) for a loud click, close to
the observation for a faint one or a false alarm. Samples outside the runs are returned
unchanged.
"""

from __future__ import annotations

import numpy as np

from restore.classical.ar_blocks import block_autocorrelation, block_filter, levinson

BLOCK_SECONDS = 1024 / 48_000  # one AR predictor per block (about 21 ms)
ORDER = 32  # AR order of the detector and the interpolator
SCALE_SECONDS = 256 / 48_000  # sub-block of the robust scale (about 5 ms)
THRESHOLD = 7.0  # |d| above this many robust scales (at sensitivity 1) starts a click
EXTEND_RATIO = 0.7  # a click extends while |d| stays above this share of the threshold
MARGIN_SAMPLES = 1  # samples added on each side of a detected run
MERGE_SAMPLES = 2  # runs closer than this are one click
MAX_CLICK_SECONDS = 0.005  # runs longer than this are not clicks (transients): left alone
PASSES = 2  # detection passes (the second on the audio repaired after the first)
SCALE_FLOOR = 1e-6  # robust scale never below this (digital silence has none)
MAD_TO_SIGMA = 1.4826
EXPECTED_ERROR_WEIGHT = 1.0  # interpolation error (in expected values) a click must exceed
INNOVATION_CONTEXT = 512  # samples each side of a click whose prediction error sets sigma_e
RIDGE = 1e-9  # Tikhonov weight of the interpolation, relative to |a|^2


def check_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.array(audio, dtype=np.float64, copy=True)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    return audio


def _sizes(sample_rate: int) -> tuple[int, int]:
    """``(block, scale_block)`` in samples at ``sample_rate``; the block is a whole number of
    scale sub-blocks."""
    scale = max(32, int(round(SCALE_SECONDS * sample_rate)))
    block = max(scale, int(round(BLOCK_SECONDS * sample_rate / scale)) * scale)
    return block, scale


def click_statistic(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """``|d| / scale`` of ``signal [n]``: the two-sided AR residual in robust units."""
    block, scale_block = _sizes(sample_rate)
    coefficients = levinson(block_autocorrelation(signal, block, ORDER))
    error = block_filter(signal, coefficients, block)
    matched = np.abs(block_filter(error, coefficients, block, reverse=True))
    sub_blocks = -(-signal.shape[0] // scale_block)
    padded = np.zeros(sub_blocks * scale_block)
    padded[:matched.shape[0]] = matched
    scale = np.median(padded.reshape(sub_blocks, scale_block), axis=1) * MAD_TO_SIGMA
    neighbours = np.pad(scale, 1, mode="edge")
    scale = np.maximum(np.maximum(neighbours[:-2], neighbours[1:-1]), neighbours[2:])
    scale = np.maximum(np.repeat(scale, scale_block)[:matched.shape[0]], SCALE_FLOOR)
    statistic = matched / scale
    # the first and last 2 p samples lack the history (or future) the residuals need: the
    # start of a signal from silence is no click
    statistic[:2 * ORDER] = 0.0
    statistic[-2 * ORDER:] = 0.0
    return statistic


def runs_of(mask: np.ndarray) -> np.ndarray:
    """Runs of True in ``mask [n]`` as ``[runs, 2]`` (start, end exclusive)."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)


def _mask_from_runs(runs: np.ndarray, length: int) -> np.ndarray:
    change = np.zeros(length + 1, dtype=np.int32)
    np.add.at(change, np.clip(runs[:, 0], 0, length), 1)
    np.add.at(change, np.clip(runs[:, 1], 0, length), -1)
    return np.cumsum(change[:-1]) > 0


def click_runs(statistic: np.ndarray, sample_rate: int, sensitivity: float = 1.0) -> np.ndarray:
    """Click runs ``[runs, 2]`` from ``click_statistic``: extended, merged, widened.

    Stretches above ``EXTEND_RATIO`` of the threshold, joined where closer than
    ``MERGE_SAMPLES``, are clicks if they reach the threshold somewhere and last at most
    ``MAX_CLICK_SECONDS``: a click lasts a few milliseconds, a longer stretch of unpredictable
    signal is programme (an attack, a noisy sound).
    """
    threshold = THRESHOLD / sensitivity
    length = statistic.shape[0]
    half = MERGE_SAMPLES // 2
    above = runs_of(statistic > EXTEND_RATIO * threshold)
    if above.shape[0] == 0:
        return above
    candidates = runs_of(_mask_from_runs(above + np.array([-half, half]), length))
    candidates = np.clip(candidates + np.array([half, -half]), 0, length)
    # the largest value of each run: reduceat over [start, end) pairs (every other slice)
    peaks = np.maximum.reduceat(np.append(statistic, 0.0), candidates.ravel())[::2]
    runs = candidates[peaks > threshold]
    runs = runs[(runs[:, 1] - runs[:, 0]) <= MAX_CLICK_SECONDS * sample_rate]
    return np.clip(runs + np.array([-MARGIN_SAMPLES, MARGIN_SAMPLES]), 0, length)


def detect_clicks(audio: np.ndarray, sample_rate: int, sensitivity: float = 1.0) -> np.ndarray:
    """``bool [channels, frames]``: True on the samples of ``audio`` a click covers.

    ``sensitivity`` divides the detection threshold (2 finds fainter clicks and risks touching
    clean transients, 0.5 only the loudest). Each channel is detected on its own.
    """
    audio = check_audio(audio)
    mask = np.zeros(audio.shape, dtype=bool)
    for channel, row in enumerate(audio):
        mask[channel] = _detect_channel(row, sample_rate, sensitivity)
    return mask


def _detect_channel(row: np.ndarray, sample_rate: int, sensitivity: float) -> np.ndarray:
    mask = np.zeros(row.shape[0], dtype=bool)
    current = row
    for _ in range(PASSES):
        found = click_runs(click_statistic(current, sample_rate), sample_rate, sensitivity)
        if found.shape[0] == 0:
            break
        mask |= _mask_from_runs(found, row.shape[0])
        current = fill_channel(row, mask, sample_rate)
    return mask


def fill_clicks(audio: np.ndarray, mask: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio [channels, frames]`` with the samples under ``mask`` (same shape) AR-interpolated.

    float32; every sample outside ``mask`` is the input's.
    """
    audio = check_audio(audio)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != audio.shape:
        raise ValueError(f"mask must be {audio.shape}, got {mask.shape}")
    out = audio.copy()
    for channel, (row, row_mask) in enumerate(zip(audio, mask, strict=True)):
        if row_mask.any():
            out[channel] = fill_channel(row, row_mask, sample_rate)
    return np.where(mask, out, audio).astype(np.float32)


def declick(audio: np.ndarray, sample_rate: int, sensitivity: float = 1.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Detect and repair clicks: ``(repaired float32 [channels, frames], mask)``."""
    mask = detect_clicks(audio, sample_rate, sensitivity)
    return fill_clicks(audio, mask, sample_rate), mask


def fill_channel(row: np.ndarray, mask: np.ndarray, sample_rate: int) -> np.ndarray:
    """LSAR interpolation of the samples of ``row [n]`` under ``mask [n]`` (float64 copy).

    The predictors are estimated per block with the masked samples set to zero (a click must
    not shape the model that replaces it) and each group of runs closer than ``ORDER`` is
    solved as one least-squares problem over the prediction errors that touch it.
    """
    block, _ = _sizes(sample_rate)
    clean = np.where(mask, 0.0, row)
    coefficients = levinson(block_autocorrelation(clean, block, ORDER))
    out = row.astype(np.float64).copy()
    for first, last in _groups(runs_of(mask), ORDER):
        coefficient = coefficients[min((first + last) // 2 // block, coefficients.shape[0] - 1)]
        _solve_group(out, mask, first, last, coefficient)
    return out


def _groups(runs: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Spans ``(first, last)`` covering runs whose spacing is below ``gap``."""
    groups: list[tuple[int, int]] = []
    for start, end in runs.tolist():
        if groups and start - groups[-1][1] < gap:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    return groups


def _innovation_power(out: np.ndarray, mask: np.ndarray, first: int, last: int,
                      coefficients: np.ndarray) -> float:
    """Robust power of the AR prediction error around ``[first, last)``: the median of ``e^2``
    over ``INNOVATION_CONTEXT`` samples on each side, rows touching masked samples left out
    (the median of a chi-square with one degree of freedom is 0.455 of its mean)."""
    order = coefficients.shape[0] - 1
    low = max(0, first - INNOVATION_CONTEXT)
    high = min(out.shape[0], last + INNOVATION_CONTEXT)
    error = np.convolve(out[low:high], coefficients, mode="valid")
    touched = np.convolve(mask[low:high].astype(np.float64), np.ones(order + 1), mode="valid")
    clean = error[touched < 0.5]
    if clean.size < 16:
        clean = error
    return float(np.median(clean**2) / 0.455) + 1e-30


def _solve_group(out: np.ndarray, mask: np.ndarray, first: int, last: int,
                 coefficients: np.ndarray) -> None:
    """Re-estimate the masked samples in ``out[first:last]`` in place.

    The observation there is music plus a click, ``y = s + c``. With the AR prior on ``s``
    (innovation variance ``sigma_e^2``) and ``c`` white with variance ``sigma_c^2``, the
    posterior mean solves ``(A_u^T A_u + r I) s_u = -A_u^T A_k s_k + r y_u``,
    ``r = sigma_e^2 / sigma_c^2`` (Godsill & Rayner 1998, 5.3). ``sigma_c^2`` is estimated by
    moments: the mean square of ``y - interpolation`` less the interpolation's own expected
    error. A loud click gives ``r ~ 0``: plain interpolation. A faint one, or a false alarm
    on clean music, gives a large ``r``: the samples stay close to the observation.
    """
    order = coefficients.shape[0] - 1
    low, high = max(0, first - order), min(out.shape[0], last + order)
    segment = out[low:high]
    unknown = mask[low:high]
    rows = segment.shape[0] - order
    if rows <= 0:
        return
    # prediction-error matrix: row j is e[low + order + j] = sum_i a_i x[low + order + j - i]
    index = np.arange(rows)[:, None] + order - np.arange(order + 1)[None, :]
    matrix = np.zeros((rows, segment.shape[0]))
    np.put_along_axis(matrix, index, np.broadcast_to(coefficients, index.shape), axis=1)
    observed = segment[unknown].copy()
    columns = matrix[:, unknown]
    right = -columns.T @ (matrix[:, ~unknown] @ segment[~unknown])
    normal = columns.T @ columns
    # a tiny ridge: samples that few error rows see (at the file's edges) stay bounded
    normal[np.diag_indices_from(normal)] += RIDGE * (coefficients @ coefficients)
    inverse = np.linalg.inv(normal)
    interpolated = inverse @ right
    segment[unknown] = interpolated
    innovation = _innovation_power(out, mask, first, last, coefficients)
    expected_error = EXPECTED_ERROR_WEIGHT * innovation * np.mean(np.diag(inverse))
    click_power = np.mean((observed - interpolated) ** 2) - expected_error
    if click_power <= 0.0:
        segment[unknown] = observed
        return
    ratio = innovation / click_power
    normal[np.diag_indices_from(normal)] += ratio
    segment[unknown] = np.linalg.solve(normal, right + ratio * observed)
