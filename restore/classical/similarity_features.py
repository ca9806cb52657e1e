"""Frame features and context distances for the similarity copy (:mod:`.similarity`).

Frames of ``FRAME`` samples (Hann window) start at ``offset + j HOP``; each has ``MEL_BANDS`` log
mel band energies (Slaney-style triangles, 50 Hz to 16 kHz) and an onset strength (the mean
positive change of those log energies from the frame before). The mel block is divided by its
overall standard deviation (one number, so relative band levels keep their meaning), the onset
column by its own; the onset column weighs ``ONSET_WEIGHT`` times the mean of the mel columns.
A frame is valid when its window and the previous frame's hold no unknown sample.
"""

from __future__ import annotations

import numpy as np

FRAME = 2048  # samples per feature frame (43 ms at 48 kHz)
HOP = 1024  # samples between frames: the candidates' grid
MEL_BANDS = 40
MEL_LOW_HZ, MEL_HIGH_HZ = 50.0, 16000.0
ONSET_WEIGHT = 1.0  # weight of the onset column against the mean of the mel columns
CONTEXT_SECONDS = 0.75  # surroundings compared on each side of the gap
NEAR_WEIGHT, FAR_WEIGHT = 1.0, 0.25  # context frames at the join weigh most, the farthest least
MIN_VALID_SHARE = 0.5  # share of a side's context weight that must be comparable


def frame_features(
    signal: np.ndarray, unknown: np.ndarray, offset: int, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(features [frames, MEL_BANDS + 1], valid [frames])`` of ``signal [n]``, frame ``j``
    starting at sample ``offset + j HOP``; ``unknown [n]`` marks samples that may not be used."""
    count = max(0, (signal.shape[0] - FRAME - offset) // HOP + 1)
    if count == 0:
        return np.zeros((0, MEL_BANDS + 1)), np.zeros(0, dtype=bool)
    positions = offset + HOP * np.arange(count)
    frames = np.lib.stride_tricks.sliding_window_view(signal, FRAME)[positions]
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2
    energies = power @ mel_matrix(sample_rate)
    unknown_counts = np.concatenate([[0], np.cumsum(unknown)])
    clean = unknown_counts[positions + FRAME] - unknown_counts[positions] == 0
    valid = clean & np.concatenate([[True], clean[:-1]])
    reference = energies[clean].mean() if np.any(clean) else 0.0
    levels = np.log10(energies + 1e-6 * reference + 1e-12)
    onset = np.concatenate([[0.0], np.maximum(np.diff(levels, axis=0), 0.0).mean(axis=1)])
    levels = levels / _spread(levels[valid])
    onset = onset / _spread(onset[valid])
    return np.concatenate([levels, onset[:, None]], axis=1), valid


def _spread(values: np.ndarray) -> float:
    spread = float(np.std(values)) if values.size else 0.0
    return spread if spread > 1e-9 else 1.0


def mel_matrix(sample_rate: int) -> np.ndarray:
    """Triangular mel filters ``[FRAME // 2 + 1, MEL_BANDS]`` (Slaney's mel scale, unit peaks)."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)

    high = min(MEL_HIGH_HZ, 0.5 * sample_rate)
    edges_mel = np.linspace(to_mel(MEL_LOW_HZ), to_mel(high), MEL_BANDS + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(FRAME, 1.0 / sample_rate)
    rising = (bins[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
    falling = (edges[None, 2:] - bins[:, None]) / (edges[2:] - edges[1:-1])
    return np.maximum(0.0, np.minimum(rising, falling))


def context_frames(
    gap_start: int, gap_end: int, offset: int, sample_rate: int, count: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames (of ``count``) wholly inside the ``CONTEXT_SECONDS`` before and after the gap, and
    their weights (``NEAR_WEIGHT`` at the join falling linearly to ``FAR_WEIGHT``)."""
    context = int(CONTEXT_SECONDS * sample_rate)
    frames = np.arange(count)
    starts = offset + HOP * frames
    before = frames[(starts >= gap_start - context) & (starts + FRAME <= gap_start)]
    after = frames[(starts >= gap_end) & (starts + FRAME <= gap_end + context)]
    distance_before = gap_start - (offset + HOP * before + FRAME // 2)
    distance_after = offset + HOP * after + FRAME // 2 - gap_end
    weights = [NEAR_WEIGHT - (NEAR_WEIGHT - FAR_WEIGHT) * np.clip(d / context, 0.0, 1.0)
               for d in (distance_before, distance_after)]
    return [before, after], weights


def candidate_distances(
    features: np.ndarray,
    valid: np.ndarray,
    targets: list[np.ndarray],
    weights: list[np.ndarray],
    shifts: np.ndarray,
) -> np.ndarray:
    """Context distance ``[len(shifts)]`` of each candidate (inf where it cannot be compared).

    A candidate ``k`` frames away is compared frame by frame: target frame ``t`` with frame
    ``t + k``. Each side is the weighted mean over the pairs valid on both; a side needs
    ``MIN_VALID_SHARE`` of the weight its valid target frames carry. The sides' distances are
    averaged; a side with no valid target frame (the file's edge) is left out.
    """
    columns = np.full(features.shape[1], 1.0 / (features.shape[1] - 1))
    columns[-1] = ONSET_WEIGHT
    sides = []
    for frames, weight in zip(targets, weights, strict=True):
        usable = valid[frames] if frames.size else np.zeros(0, dtype=bool)
        if not np.any(usable):
            continue
        frames, weight = frames[usable], weight[usable]
        # squared weighted distance of each target frame to every frame: [targets, frames]
        table = ((features[None, :, :] - features[frames][:, None, :]) ** 2) @ columns
        others = frames[None, :] + shifts[:, None]
        inside = (others >= 0) & (others < features.shape[0])
        clipped = np.clip(others, 0, max(features.shape[0] - 1, 0))
        pair = inside & valid[clipped]
        values = table[np.arange(frames.size)[None, :], clipped]  # [shifts, targets]
        mass = (pair * weight).sum(axis=1)
        side = np.where(pair, values * weight, 0.0).sum(axis=1) / np.maximum(mass, 1e-12)
        side[mass < MIN_VALID_SHARE * weight.sum()] = np.inf
        sides.append(side)
    if not sides:
        return np.full(shifts.shape[0], np.inf)
    return np.mean(sides, axis=0)
