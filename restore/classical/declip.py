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
onto the consistent set. All blocks of a call iterate together as one array. The block length
is chosen per channel from the clipped input (:func:`choose_settings`): 43 ms blocks, or 171 ms
ones where the signal is sparser in those (sustained tones).

:func:`spline_declip` is the baseline: a natural cubic spline through every unclipped sample,
evaluated on the clipped ones and then held at the clip level where it falls short of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.interpolate


@dataclass(frozen=True)
class SpadeSettings:
    """A-SPADE's block and iteration parameters."""

    window_seconds: float = 2048 / 48_000  # block length (about 43 ms)
    overlap: int = 4  # blocks per window length (hop = window / overlap)
    redundancy: int = 2  # DFT length / block length (oversampled frame)
    sparsity_step: int = 1  # coefficients added to k ...
    sparsity_every: int = 1  # ... every this many iterations
    sparsity_growth: float = 1.0  # or k grows by this factor, whichever is more
    tolerance: float = 1e-3  # stop a block when |A x - z| <= this x |windowed observation|
    max_iterations: int = 600


SPADE = SpadeSettings()  # short blocks: speech, transients
# long blocks (about 171 ms) for tonal music; k also grows by 1 % an iteration, because a block
# this long that is not sparse needs more coefficients than SPADE's iterations reach one by one
SPADE_LONG = SpadeSettings(window_seconds=8192 / 48_000, sparsity_growth=1.01)
COMPACTION_ENERGY = 0.95  # compaction: share of STFT coefficients that hold this much energy


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


def spade_declip(audio: np.ndarray, clipped: np.ndarray, sample_rate: int,
                 settings: SpadeSettings | None = None) -> np.ndarray:
    """A-SPADE declipping of ``audio [channels, frames]`` where ``clipped`` (same shape).

    Only blocks that hold a clipped sample are processed; the others are the input. Blocks are
    ``settings.window_seconds`` long (at least 256 samples), hop ``1 / settings.overlap`` of
    that, Hann analysis and synthesis windows whose product sums to one. ``settings`` None
    chooses per channel with :func:`choose_settings`. The overlap-added result is projected
    onto the consistent set once more, so the constraints hold exactly.
    """
    audio, clipped = check_clipped(audio, clipped)
    out = audio.copy()
    for channel, (row, mask) in enumerate(zip(audio, clipped, strict=True)):
        if mask.any():
            chosen = choose_settings(row, sample_rate) if settings is None else settings
            out[channel] = _spade_channel(row, mask, window_samples(chosen, sample_rate), chosen)
    return consistent(out, audio, clipped).astype(np.float32)


def window_samples(settings: SpadeSettings, sample_rate: int) -> int:
    """A-SPADE's block length in samples: a multiple of 4, at least 256."""
    return max(256, int(round(settings.window_seconds * sample_rate)) // 4 * 4)


def choose_settings(row: np.ndarray, sample_rate: int) -> SpadeSettings:
    """``SPADE_LONG`` where the clipped observation ``row [frames]`` is more compact in long
    blocks than in short ones (sustained tones: music), else ``SPADE`` (speech, transients).

    A-SPADE's prior is that each block is sparse in its DFT, so the block length to use is the
    one in which the signal is sparser; the clipped input itself shows it (docs/results.md,
    "Declick and declip", gives the measurement behind the choice).
    """
    long_window = window_samples(SPADE_LONG, sample_rate)
    if row.shape[0] < 2 * long_window:
        return SPADE
    short_window = window_samples(SPADE, sample_rate)
    if compaction(row, long_window) < compaction(row, short_window):
        return SPADE_LONG
    return SPADE


def compaction(row: np.ndarray, window_length: int, energy: float = COMPACTION_ENERGY) -> float:
    """Share of the coefficients of ``row [frames]``'s STFT (Hann, hop ``window_length / 4``)
    that hold ``energy`` of its total: small for a signal sparse at that block length.

    Every block length gives about ``2 x frames`` coefficients, so the shares compare.
    """
    hop = window_length // 4
    starts = np.arange(0, row.shape[0] - window_length + 1, hop)
    window = np.hanning(window_length + 1)[:window_length]
    spectra = scipy.fft.rfft(row[starts[:, None] + np.arange(window_length)] * window, axis=1)
    power = np.sort((spectra.real**2 + spectra.imag**2).ravel())[::-1]
    total = power.sum()
    if total == 0:
        return 1.0
    return float(np.searchsorted(np.cumsum(power), energy * total) + 1) / power.size


def _spade_channel(row: np.ndarray, mask: np.ndarray, window_length: int,
                   settings: SpadeSettings) -> np.ndarray:
    """One channel: frame it, solve the blocks that hold clipped samples, overlap-add."""
    frames = row.shape[0]
    hop = window_length // settings.overlap
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
        solved[active] = _aspade(blocks[active] * window, block_masks[active], settings)
    result = np.zeros_like(padded)
    np.add.at(result, index, solved * synthesis)
    return result[pad:pad + frames]


def _aspade(observed: np.ndarray, clipped: np.ndarray, settings: SpadeSettings) -> np.ndarray:
    """A-SPADE on windowed blocks ``observed [blocks, n]`` (Kitic et al. 2015, Algorithm 2).

    ``A`` is the unitary DFT of length ``settings.redundancy * n`` of the zero-padded block (a
    Parseval frame), so the least-squares step under the constraint is the projection of
    ``A^H (z - u)``. Returns the blocks' consistent estimates ``[blocks, n]``.
    """
    length = observed.shape[1]
    size = settings.redundancy * length
    observed = observed.astype(np.float32)
    estimate = observed.copy()
    analysis = scipy.fft.rfft(estimate, size, norm="ortho", workers=-1)
    dual = np.zeros_like(analysis)
    bound = (settings.tolerance * np.linalg.norm(observed, axis=1)) ** 2
    running = np.arange(observed.shape[0])
    sparsity = settings.sparsity_step
    for iteration in range(1, settings.max_iterations + 1):
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
        if iteration % settings.sparsity_every == 0:
            sparsity = max(sparsity + settings.sparsity_step,
                           int(sparsity * settings.sparsity_growth))
    return estimate.astype(np.float64)


def _hard_threshold(coefficients: np.ndarray, keep: int) -> np.ndarray:
    """Keep the ``keep`` largest-magnitude coefficients of each row, zero the rest."""
    magnitude = coefficients.real**2 + coefficients.imag**2
    keep = min(keep, magnitude.shape[1])
    threshold = np.partition(magnitude, magnitude.shape[1] - keep, axis=1)[:, -keep]
    return np.where(magnitude >= threshold[:, None], coefficients, 0.0)
