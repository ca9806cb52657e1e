"""Click and crackle detection and classical repair (AR interpolation).

Detection (Vaseghi & Rayner 1990; Godsill & Rayner 1998, "Digital Audio Restoration", ch. 5):
an impulse that an AR model of the music cannot predict stands out in the prediction error.
Each pass over a channel (``PASSES``, the second on the audio repaired by the first):

1. Every block of ``BLOCK_SECONDS`` gets an order-``ORDER`` AR predictor
   (:mod:`restore.classical.ar_blocks`) and the two-sided ("matched") residual ``d = A^T A x``
   is formed: for a lone impulse of size ``c`` it peaks on the impulse with ``c |a|^2``, the
   music's innovation gives ``sigma |a|``. Its scale is measured robustly (median absolute value
   per ``SCALE_SECONDS``, the largest of each sub-block and its two neighbours, so an attack
   raises its own scale). Loud clicks bias the predictors towards whitening them, which makes
   the music around them look impulsive: the predictors are estimated again with every stretch
   above ``SUSPECT_THRESHOLD`` (widened by the order) left out, and ``d`` formed again. A
   later pass leaves out the clicks found so far instead.
2. Seeds: local maxima of ``|d| / scale`` (within ``SEED_SPACING`` samples) above
   ``SEED_THRESHOLD / sensitivity``.
3. Each seed's click is fitted (:func:`restore.classical.click_fit.fit_click`): the run of
   samples whose least-squares re-estimate lowers the prediction-error energy by more than
   ``GROWTH_PENALTY`` innovation variances per sample, grown from the seed inside the stretch
   where ``d`` stays elevated; its evidence is that energy reduction over the local innovation
   variance (robust, the largest of ``SCALE_NEIGHBOURS`` sub-blocks each side).
4. Acceptance by evidence, with a prior from the click rate: where at least ``DENSE_EVENTS``
   strong events (evidence above ``STRONG_EVIDENCE``) sit within ``DENSE_SECONDS`` either side,
   the audio is crackly and a click needs ``DENSE_EVIDENCE``, as does one next to a click
   already found (the clicks of one damaged spot come together: Godsill & Rayner's Markov
   prior); elsewhere an isolated event needs ``SPARSE_EVIDENCE``: a sharp onset in clean music
   must not be taken for a click, a loud click always stands out.
5. Accepted clicks are taken strongest first; each is fitted again on the audio with the
   stronger ones already re-estimated (a loud click's residual spreads over its neighbours'),
   and kept if it still has the evidence and is at most ``MAX_CLICK_SECONDS`` long. Found runs
   closer than ``JOIN_SAMPLES`` are joined (the pieces of one long click).

Repair: the marked samples are re-estimated jointly, group by group (runs closer than the order),
with the predictor of their block re-fitted with them left out. The observation there is music
plus a click, so the estimate is the posterior mean under the AR prior and a white click of
unknown power (Godsill & Rayner 1998, 5.3): least-squares AR interpolation (Janssen, Veldhuis &
Vries 1986) for a loud click, close to the observation for a faint one. Samples outside the
runs are returned unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from restore.classical.ar_blocks import block_autocorrelation, block_filter, levinson
from restore.classical.click_fit import ClickFit, fit_click, predictor_correlations

BLOCK_SECONDS = 1024 / 48_000  # one AR predictor per block (about 21 ms)
ORDER = 32  # AR order of the detector and the interpolator
SCALE_SECONDS = 256 / 48_000  # sub-block of the robust scales (about 5 ms) ...
MIN_SCALE_SAMPLES = 256  # ... and at least this: a click's matched residual spreads over 2 ORDER
SUSPECT_THRESHOLD = 8.0  # |d| / scale above this is left out of the second predictor estimate
SEED_THRESHOLD = 8.0  # |d| / scale of a seed (at sensitivity 1)
SEED_SPACING = 8  # a seed is the largest |d| / scale within this many samples either side
EXTEND_RATIO = 0.7  # a click grows inside the stretch where |d| stays above this x the seed's
GROWTH_MARGIN = 4  # ... threshold, widened by this many samples each side
SCALE_NEIGHBOURS = 2  # the innovation scale is the largest of this many sub-blocks each side
DENSE_SECONDS = 0.5  # the click rate is counted this far either side
DENSE_EVENTS = 20  # strong events within that which make the audio crackly
STRONG_EVIDENCE = 100.0  # evidence of an event that counts for the click rate
EVENT_SPACING = 64  # strong seeds closer than this are one event (a long click has several)
DENSE_EVIDENCE = 20.0  # evidence a click needs in crackly audio (at sensitivity 1)
SPARSE_EVIDENCE = 2000.0  # evidence an isolated click needs (at sensitivity 1)
MAX_CLICK_SECONDS = 0.004  # a longer fitted run is programme (an attack): left alone
MAX_GROWTH_SECONDS = 0.005  # a click grows at most this far from its seed
JOIN_SAMPLES = 4  # found runs closer than this are joined
PASSES = 2  # detection passes (the second on the audio repaired after the first)
SCALE_FLOOR = 1e-6  # robust scale never below this (digital silence has none)
MAD_TO_SIGMA = 1.4826
EXPECTED_ERROR_WEIGHT = 1.0  # interpolation error (in expected values) a click must exceed
INNOVATION_CONTEXT = 512  # samples each side of a click whose prediction error sets sigma_e
VARIANCE_CONTEXT = 256  # the same for the detector's evidence
RIDGE = 1e-9  # Tikhonov weight of the interpolation, relative to |a|^2


def check_audio(audio: np.ndarray) -> np.ndarray:
    audio = np.array(audio, dtype=np.float64, copy=True)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    return audio


def _sizes(sample_rate: int) -> tuple[int, int]:
    """``(block, scale_block)`` in samples at ``sample_rate``; the block is a whole number of
    scale sub-blocks."""
    scale = max(MIN_SCALE_SAMPLES, int(round(SCALE_SECONDS * sample_rate)))
    block = max(scale, int(round(BLOCK_SECONDS * sample_rate / scale)) * scale)
    return block, scale


def _predictors(signal: np.ndarray, block: int, left_out: np.ndarray | None = None
                ) -> np.ndarray:
    """Block predictors ``[blocks, ORDER + 1]`` of ``signal [n]``, the ``left_out`` samples
    (bool, same shape) zeroed."""
    if left_out is not None:
        signal = np.where(left_out, 0.0, signal)
    return levinson(block_autocorrelation(signal, block, ORDER))


def _robust_scale(values: np.ndarray, scale_block: int, neighbours: int) -> np.ndarray:
    """``[n]``: median ``|values|`` x 1.4826 per sub-block, the largest of ``neighbours``
    sub-blocks each side, at least ``SCALE_FLOOR``."""
    sub_blocks = -(-values.shape[0] // scale_block)
    padded = np.zeros(sub_blocks * scale_block)
    padded[:values.shape[0]] = np.abs(values)
    scale = np.median(padded.reshape(sub_blocks, scale_block), axis=1) * MAD_TO_SIGMA
    scale = scipy.ndimage.maximum_filter1d(scale, 2 * neighbours + 1, mode="nearest")
    return np.maximum(np.repeat(scale, scale_block)[:values.shape[0]], SCALE_FLOOR)


def click_statistic(signal: np.ndarray, sample_rate: int,
                    coefficients: np.ndarray | None = None) -> np.ndarray:
    """``|d| / scale`` of ``signal [n]``: the two-sided AR residual in robust units.

    ``coefficients`` (block predictors) default to those estimated on ``signal`` itself.
    """
    block, scale_block = _sizes(sample_rate)
    if coefficients is None:
        coefficients = _predictors(signal, block)
    error = block_filter(signal, coefficients, block)
    matched = np.abs(block_filter(error, coefficients, block, reverse=True))
    statistic = matched / _robust_scale(matched, scale_block, 1)
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


def detect_clicks(audio: np.ndarray, sample_rate: int, sensitivity: float = 1.0) -> np.ndarray:
    """``bool [channels, frames]``: True on the samples of ``audio`` a click covers.

    ``sensitivity`` divides the detection thresholds (2 finds fainter clicks and risks touching
    clean transients, 0.5 only the loudest). Each channel is detected on its own.
    """
    audio = check_audio(audio)
    if sensitivity <= 0:
        raise ValueError(f"sensitivity must be positive, got {sensitivity}")
    mask = np.zeros(audio.shape, dtype=bool)
    for channel, row in enumerate(audio):
        mask[channel] = _detect_channel(row, sample_rate, sensitivity)
    return mask


def _detect_channel(row: np.ndarray, sample_rate: int, sensitivity: float) -> np.ndarray:
    mask = np.zeros(row.shape[0], dtype=bool)
    current = row
    for index in range(PASSES):
        found = _detect_pass(current, mask, sample_rate, sensitivity)
        if not found.any():
            break
        mask |= found
        if index + 1 < PASSES:
            current = fill_channel(row, mask, sample_rate)
    return mask


def _seeds(signal: np.ndarray, mask: np.ndarray, sample_rate: int, sensitivity: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(seeds, bounds [seeds, 2], left_out [n])`` of one pass (steps 1-2 of the module doc):
    the seeds' growth bounds and the samples the fitting predictors leave out."""
    block, _ = _sizes(sample_rate)
    length = signal.shape[0]
    if mask.any():  # a later pass: the clicks found so far are the suspects
        suspect = _mask_from_runs(runs_of(mask) + np.array([-ORDER, ORDER]), length)
    else:
        statistic = click_statistic(signal, sample_rate)
        suspect = _mask_from_runs(runs_of(statistic > SUSPECT_THRESHOLD)
                                  + np.array([-ORDER, ORDER]), length)
    statistic = click_statistic(signal, sample_rate, _predictors(signal, block, suspect))
    threshold = SEED_THRESHOLD / sensitivity
    peaks = statistic > threshold
    peaks &= statistic == scipy.ndimage.maximum_filter1d(statistic, 2 * SEED_SPACING + 1)
    reach = ORDER + int(MAX_GROWTH_SECONDS * sample_rate)
    peaks[:reach] = False
    peaks[max(0, length - reach):] = False
    seeds = np.flatnonzero(peaks)
    stretches = runs_of(statistic > EXTEND_RATIO * threshold)
    which = np.searchsorted(stretches[:, 0], seeds, side="right") - 1
    growth = int(MAX_GROWTH_SECONDS * sample_rate)
    bounds = np.stack([np.maximum(stretches[which, 0] - GROWTH_MARGIN, seeds - growth),
                       np.minimum(stretches[which, 1] + GROWTH_MARGIN, seeds + growth + 1)],
                      axis=1) if seeds.size else np.zeros((0, 2), dtype=int)
    # left out of the fitting predictors: the elevated stretches at sensitivity 1 (a high
    # sensitivity must not leave the whole signal out)
    elevated = runs_of(statistic > EXTEND_RATIO * SEED_THRESHOLD)
    left_out = mask | _mask_from_runs(elevated + np.array([-GROWTH_MARGIN, GROWTH_MARGIN]),
                                      length)
    return seeds, bounds, left_out


def _detect_pass(signal: np.ndarray, mask: np.ndarray, sample_rate: int, sensitivity: float
                 ) -> np.ndarray:
    """``bool [n]``: the click samples one pass finds in ``signal [n]`` (steps 1-5)."""
    block, scale_block = _sizes(sample_rate)
    seeds, bounds, left_out = _seeds(signal, mask, sample_rate, sensitivity)
    found = np.zeros(signal.shape[0], dtype=bool)
    if seeds.size == 0:
        return found
    coefficients = _predictors(signal, block, left_out)
    correlations = predictor_correlations(coefficients)
    sigma = _robust_scale(block_filter(signal, coefficients, block), scale_block,
                          SCALE_NEIGHBOURS)
    variance = scipy.ndimage.uniform_filter1d(sigma**2, 2 * VARIANCE_CONTEXT, mode="nearest")
    max_length = int(MAX_GROWTH_SECONDS * sample_rate)

    def fit(work: np.ndarray, index: int) -> ClickFit:
        seed = int(seeds[index])
        which = min(seed // block, coefficients.shape[0] - 1)
        return fit_click(work, coefficients[which], correlations[which], seed,
                         tuple(bounds[index]), float(variance[seed]), max_length)

    longest = MAX_CLICK_SECONDS * sample_rate
    first_fits = [fit(signal, index) for index in range(seeds.size)]
    evidence = np.array([click.evidence if click.samples.shape[0] <= longest else 0.0
                         for click in first_fits])
    required = _required_evidence(seeds, evidence, sample_rate) / sensitivity
    work = signal.copy()
    dense = DENSE_EVIDENCE / sensitivity
    for index in np.argsort(-evidence):
        low, high = bounds[index] + np.array([-2 * ORDER, 2 * ORDER])
        # next to a click already found the prior of another (its remnant) is high: the
        # clicks of one damaged spot come together (Godsill & Rayner's Markov click prior)
        near = found[max(0, low):high].any() or mask[max(0, low):high].any()
        needed = min(required[index], dense) if near else required[index]
        if evidence[index] < needed:
            continue
        # a click's first fit holds unless a stronger click re-estimated within the order of it
        click = fit(work, index) if found[max(0, low):high].any() else first_fits[index]
        if click.evidence < needed or click.samples.shape[0] > longest:
            continue
        work[click.samples] += click.delta
        found[click.samples] = True
    # pieces of one long click (its growth stopped where it crossed zero) are one run
    for start, end in runs_of(~found).tolist():
        if 0 < start and end < found.shape[0] and end - start <= JOIN_SAMPLES:
            found[start:end] = True
    return found


def _required_evidence(seeds: np.ndarray, evidence: np.ndarray, sample_rate: int
                       ) -> np.ndarray:
    """Evidence each seed needs (at sensitivity 1): ``DENSE_EVIDENCE`` where the audio is
    crackly (step 4), ``SPARSE_EVIDENCE`` elsewhere."""
    strong = seeds[evidence >= STRONG_EVIDENCE]
    if strong.size:
        strong = strong[np.concatenate([[True], np.diff(strong) > EVENT_SPACING])]
    reach = int(DENSE_SECONDS * sample_rate)
    count = (np.searchsorted(strong, seeds + reach, side="right")
             - np.searchsorted(strong, seeds - reach))
    return np.where(count >= DENSE_EVENTS, DENSE_EVIDENCE, SPARSE_EVIDENCE)


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
    block, scale_block = _sizes(sample_rate)
    coefficients = _predictors(row, block, mask)
    correlations = predictor_correlations(coefficients)
    # innovation power sigma_e^2 around each sample: robust, from the prediction error of the
    # observation (a click covers a minority of each sub-block)
    sigma = _robust_scale(block_filter(row, coefficients, block), scale_block, 1)
    innovation = scipy.ndimage.uniform_filter1d(sigma**2, 2 * INNOVATION_CONTEXT,
                                                mode="nearest")
    out = row.astype(np.float64).copy()
    for first, last in _groups(runs_of(mask), ORDER):
        which = min((first + last) // 2 // block, coefficients.shape[0] - 1)
        if first < ORDER or last + ORDER > row.shape[0]:
            _solve_edge_group(out, mask, first, last, coefficients[which])
            continue
        segment = np.where(mask[first - ORDER:last + ORDER], 0.0, out[first - ORDER:last + ORDER])
        error = np.convolve(segment, coefficients[which], mode="valid")
        right = -np.correlate(error, coefficients[which], mode="valid")  # -A_u^T A_k x_k
        unknown = np.flatnonzero(mask[first:last])
        lags = np.minimum(np.abs(unknown[:, None] - unknown[None, :]), ORDER + 1)
        normal = correlations[which][lags]  # A_u^T A_u: Toeplitz in the predictor's rho
        out[first + unknown] = _posterior_mean(normal, right[unknown], out[first + unknown],
                                               float(innovation[(first + last) // 2]))
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


def _posterior_mean(normal: np.ndarray, right: np.ndarray, observed: np.ndarray,
                    innovation: float) -> np.ndarray:
    """The click samples' estimate under the AR prior and a white click of unknown power.

    The observation there is music plus a click, ``y = s + c``. With the AR prior on ``s``
    (innovation variance ``sigma_e^2``) and ``c`` white with variance ``sigma_c^2``, the
    posterior mean solves ``(A_u^T A_u + r I) s_u = -A_u^T A_k s_k + r y_u``,
    ``r = sigma_e^2 / sigma_c^2`` (Godsill & Rayner 1998, 5.3). ``sigma_c^2`` is estimated by
    moments: the mean square of ``y - interpolation`` less the interpolation's own expected
    error. A loud click gives ``r ~ 0``: plain interpolation. A faint one, or a false alarm
    on clean music, gives a large ``r``: the samples stay close to the observation.
    ``normal`` (``A_u^T A_u``) is changed in place.
    """
    # a tiny ridge: samples that few error rows see (at the file's edges) stay bounded
    diagonal = np.einsum("ii->i", normal)
    diagonal += RIDGE * normal[0, 0]
    inverse = np.linalg.inv(normal)
    interpolated = inverse @ right
    expected_error = EXPECTED_ERROR_WEIGHT * innovation * np.mean(np.diag(inverse))
    click_power = np.mean((observed - interpolated) ** 2) - expected_error
    if click_power <= 0.0:
        return observed
    ratio = innovation / click_power
    diagonal += ratio
    return np.linalg.solve(normal, right + ratio * observed)


def _solve_edge_group(out: np.ndarray, mask: np.ndarray, first: int, last: int,
                      coefficients: np.ndarray) -> None:
    """Re-estimate the masked samples of a group within the order of the signal's ends, in
    place: the error rows that leave the signal are dropped."""
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
    columns = matrix[:, unknown]
    right = -columns.T @ (matrix[:, ~unknown] @ segment[~unknown])
    error = np.convolve(segment, coefficients, mode="valid")
    innovation = float(np.median(error**2) / 0.455) + 1e-30
    segment[unknown] = _posterior_mean(columns.T @ columns, right, segment[unknown].copy(),
                                       innovation)
