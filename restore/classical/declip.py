"""Classical declipping: sparse (A-SPADE) reconstruction and the cubic-spline baseline.

Both take ``audio [channels, frames]`` *as observed* (clipped samples keep their value at the clip
level) and ``clipped [channels, frames]`` (bool, True = the sample sat at its polarity's clip
level), and return a new float32 array in which

* every unclipped sample is the input's, bit for bit, and
* every clipped sample keeps its sign and is at least the clip level in magnitude: the
  observation's constraint (the true sample was *at or beyond* the level when it was clipped).

:func:`spade_declip` is the analysis-sparsity method A-SPADE (Kitic, Bertin & Gribonval 2015,
"Sparsity and cosparsity for audio declipping: a flexible non-convex approach"; block-wise
implementation as in Zaviska, Rajmic, Ozerov & Rencker 2021, "A survey and an extensive
evaluation of popular audio declipping methods"): in each Hann-windowed block the signal is the
consistent one whose oversampled DFT is as sparse as possible, found by ADMM-like alternation of
hard thresholding (the ``k`` largest coefficients, ``k`` growing every iteration) and projection
onto the consistent set. All blocks of a call iterate together as one array.

:func:`spline_declip` is the baseline: a natural cubic spline through every unclipped sample,
evaluated on the clipped ones and then held at the clip level where it falls short of it.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.interpolate

SPADE_WINDOW_SECONDS = 2048 / 48_000  # block length (about 43 ms)
SPADE_OVERLAP = 4  # blocks per window length (hop = window / 4)
SPADE_REDUNDANCY = 2  # DFT length / block length (oversampled frame)
SPADE_SPARSITY_STEP = 1  # coefficients added to k ...
SPADE_SPARSITY_EVERY = 1  # ... every this many iterations
SPADE_SPARSITY_GROWTH = 1.0  # or k grows by this factor, whichever is more
SPADE_TOLERANCE = 1e-3  # stop a block when |A x - z| <= this x |windowed observation|
SPADE_MAX_ITERATIONS = 600


def check_clipped(audio: np.ndarray, clipped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 copy of ``audio [channels, frames]`` and ``clipped`` as bool of the same shape."""
    audio = np.array(audio, dtype=np.float64, copy=True)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    clipped = np.asarray(clipped, dtype=bool)
    if clipped.shape != audio.shape:
        raise ValueError(f"clipped must be {audio.shape}, got {clipped.shape}")
    return audio, clipped


def consistent(estimate: np.ndarray, observed: np.ndarray, clipped: np.ndarray) -> np.ndarray:
    """Project ``estimate`` onto the signals consistent with the clipped observation.

    Unclipped samples become ``observed``; clipped ones keep at least the observed magnitude
    with its sign (``max`` for positive, ``min`` for negative levels). Same as
    :func:`restore.diffusion.conditioning.clip_constraint` plus the known-sample projection.
    """
    bounded = np.where(observed > 0, np.maximum(estimate, observed),
                       np.minimum(estimate, observed))
    return np.where(clipped, bounded, observed)


def spline_declip(audio: np.ndarray, clipped: np.ndarray) -> np.ndarray:
    """Cubic-spline declipper held at the clip level (the evaluation's baseline)."""
    audio, clipped = check_clipped(audio, clipped)
    out = audio.copy()
    positions = np.arange(audio.shape[1])
    for channel, (row, mask) in enumerate(zip(audio, clipped, strict=True)):
        if not mask.any() or (~mask).sum() < 4:
            continue
        spline = scipy.interpolate.CubicSpline(positions[~mask], row[~mask], bc_type="natural")
        out[channel, mask] = spline(positions[mask])
    return consistent(out, audio, clipped).astype(np.float32)


def spade_declip(audio: np.ndarray, clipped: np.ndarray, sample_rate: int, *,
                 max_iterations: int = SPADE_MAX_ITERATIONS,
                 tolerance: float = SPADE_TOLERANCE) -> np.ndarray:
    """A-SPADE declipping of ``audio [channels, frames]`` where ``clipped`` (same shape).

    Only blocks that hold a clipped sample are processed; the others are the input. Blocks are
    ``SPADE_WINDOW_SECONDS`` long (at least 256 samples), hop a quarter of that, Hann analysis
    and synthesis windows whose product sums to one. The overlap-added result is projected onto
    the consistent set once more, so the constraints hold exactly.
    """
    audio, clipped = check_clipped(audio, clipped)
    window_length = max(256, int(round(SPADE_WINDOW_SECONDS * sample_rate)) // 4 * 4)
    hop = window_length // SPADE_OVERLAP
    out = audio.copy()
    for channel, (row, mask) in enumerate(zip(audio, clipped, strict=True)):
        if mask.any():
            out[channel] = _spade_channel(row, mask, window_length, hop, max_iterations,
                                          tolerance)
    return consistent(out, audio, clipped).astype(np.float32)


def _spade_channel(row: np.ndarray, mask: np.ndarray, window_length: int, hop: int,
                   max_iterations: int, tolerance: float) -> np.ndarray:
    """One channel: frame it, solve the blocks that hold clipped samples, overlap-add."""
    frames = row.shape[0]
    pad = window_length  # frames reach past both ends; the padding is reliable zeros
    count = -(-(frames + pad) // hop)
    padded = np.zeros(pad + count * hop + window_length)
    padded_mask = np.zeros(padded.shape[0], dtype=bool)
    padded[pad:pad + frames], padded_mask[pad:pad + frames] = row, mask
    starts = np.arange(count + window_length // hop) * hop
    starts = starts[starts + window_length <= padded.shape[0]]
    index = starts[:, None] + np.arange(window_length)[None, :]
    window = np.hanning(window_length + 1)[:window_length]  # periodic Hann
    synthesis = window / np.sum(window**2) * hop  # sum over blocks of window * synthesis = 1
    blocks, block_masks = padded[index], padded_mask[index]
    active = block_masks.any(axis=1)
    solved = blocks * window
    if active.any():
        solved[active] = _aspade(blocks[active] * window, block_masks[active], max_iterations,
                                 tolerance)
    result = np.zeros_like(padded)
    np.add.at(result, index, solved * synthesis)
    return result[pad:pad + frames]


def _aspade(observed: np.ndarray, clipped: np.ndarray, max_iterations: int,
            tolerance: float) -> np.ndarray:
    """A-SPADE on windowed blocks ``observed [blocks, n]`` (Kitic et al. 2015, Algorithm 2).

    ``A`` is the unitary DFT of length ``SPADE_REDUNDANCY * n`` of the zero-padded block (a
    Parseval frame), so the least-squares step under the constraint is the projection of
    ``A^H (z - u)``. Returns the blocks' consistent estimates ``[blocks, n]``.
    """
    length = observed.shape[1]
    size = SPADE_REDUNDANCY * length
    observed = observed.astype(np.float32)
    estimate = observed.copy()
    analysis = scipy.fft.rfft(estimate, size, norm="ortho", workers=-1)
    dual = np.zeros_like(analysis)
    bound = (tolerance * np.linalg.norm(observed, axis=1)) ** 2
    running = np.arange(observed.shape[0])
    sparsity = SPADE_SPARSITY_STEP
    for iteration in range(1, max_iterations + 1):
        dual_running = dual[running]
        sparse = _hard_threshold(analysis[running] + dual_running, sparsity)
        target = scipy.fft.irfft(sparse - dual_running, size, norm="ortho",
                                 workers=-1)[:, :length]
        current = consistent(target, observed[running], clipped[running])
        estimate[running] = current
        coefficients = scipy.fft.rfft(current, size, norm="ortho", workers=-1)
        analysis[running] = coefficients
        residual = coefficients - sparse
        done = np.einsum("ij,ij->i", residual.real, residual.real) + np.einsum(
            "ij,ij->i", residual.imag, residual.imag) <= bound[running]
        dual[running] = dual_running + residual
        running = running[~done]
        if running.size == 0:
            break
        if iteration % SPADE_SPARSITY_EVERY == 0:
            sparsity = max(sparsity + SPADE_SPARSITY_STEP, int(sparsity * SPADE_SPARSITY_GROWTH))
    return estimate.astype(np.float64)


def _hard_threshold(coefficients: np.ndarray, keep: int) -> np.ndarray:
    """Keep the ``keep`` largest-magnitude coefficients of each row, zero the rest."""
    magnitude = coefficients.real**2 + coefficients.imag**2
    keep = min(keep, magnitude.shape[1])
    threshold = np.partition(magnitude, magnitude.shape[1] - keep, axis=1)[:, -keep]
    return np.where(magnitude >= threshold[:, None], coefficients, 0.0)
