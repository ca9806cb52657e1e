"""Is a silent or sudden-drop stretch a dropout, or a pause in the programme?

A dropout interrupts programme: the audio runs at its usual level up to the stretch, resumes at
that level after it, and sounds the same on both sides. A pause between words or notes does
not: the sound decays into it (a gate closes only once the level has fallen), and what follows
is a new word or note. :func:`interrupts_programme` checks both sides of a candidate:

- level: the ``EDGE_SECONDS`` right before and right after are each within ``EDGE_DB`` of the
  median level of the programme around it (``CONTEXT_SECONDS`` each side, quiet frames left
  out) and above ``PROGRAMME_DB``, and within ``SIDES_DB`` of each other;
- spectrum: the band levels (``BANDS`` log-spaced bands, each side's shape normalised to its own
  total) of the ``SPECTRUM_SECONDS`` before and after differ by at most ``SPECTRUM_DB`` on
  average.

Levels come from the 5 ms envelope ``restore.analysis`` keeps; the spectra are read from the
audio through ``read(start, length) -> [channels, length]`` (frames), so nothing beyond the
envelope is kept in memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EDGE_SECONDS = 0.01  # level right beside a candidate, each side
EDGE_DB = 12.0  # each side within this of the surrounding programme's median level
SIDES_DB = 9.0  # and the two sides within this of each other
CONTEXT_SECONDS = 0.3  # programme around a candidate, each side
QUIET_DB = -90.0  # frames at or below this are not programme
PROGRAMME_DB = -70.0  # both sides must be at least this loud (a decayed tail is no programme)
SPECTRUM_SECONDS = 0.02  # audio compared on each side
SPECTRUM_DB = 6.0  # mean difference of the two sides' normalised band levels, at most
BANDS = 16  # log-spaced from LOWEST_HZ to 0.9 x Nyquist
LOWEST_HZ = 100.0
BAND_RANGE_DB = 50.0  # band levels are floored this far below the louder side's loudest band

Reader = Callable[[int, int], np.ndarray]


def interrupts_programme(level_db: np.ndarray, frame: int, start: int, end: int,
                         sample_rate: int, read: Reader | None = None) -> bool:
    """Whether frames ``[start, end)`` interrupt programme (see the module docstring).

    ``level_db``: level of each ``frame``-sample frame (dBFS, mean over channels). Without
    ``read`` only the levels are checked.
    """
    first, last = start // frame, -(-end // frame)
    edge = max(1, round(EDGE_SECONDS * sample_rate / frame))
    if first - edge < 0 or last + edge > level_db.size:
        return False
    before = _mean_db(level_db[first - edge:first])
    after = _mean_db(level_db[last:last + edge])
    reference = _programme_db(level_db, first, last, round(CONTEXT_SECONDS * sample_rate / frame))
    if reference is None or min(before, after) < max(reference - EDGE_DB, PROGRAMME_DB):
        return False
    if abs(before - after) > SIDES_DB:
        return False
    if read is None:
        return True
    length = max(64, round(SPECTRUM_SECONDS * sample_rate))
    if start - length < 0:
        return False
    return spectrum_distance_db(read(start - length, length), read(end, length),
                                sample_rate) <= SPECTRUM_DB


def _mean_db(levels: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(10.0 ** (levels / 10.0)) + 1e-30))


def _programme_db(level_db: np.ndarray, first: int, last: int, context: int) -> float | None:
    around = np.concatenate([level_db[max(0, first - context):first],
                             level_db[last:last + context]])
    around = around[around > QUIET_DB]
    return float(np.median(around)) if around.size else None


def band_levels_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[BANDS]`` band levels (dB) of ``audio [channels, n]``, normalised to their total."""
    audio = np.asarray(audio, np.float64)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[1]), axis=1)) ** 2
    power = spectrum.sum(axis=0)
    frequency = np.fft.rfftfreq(audio.shape[1], 1.0 / sample_rate)
    edges = np.geomspace(LOWEST_HZ, 0.9 * sample_rate / 2, BANDS + 1)
    index = np.clip(np.searchsorted(edges, frequency) - 1, 0, BANDS - 1)
    inside = (frequency >= edges[0]) & (frequency <= edges[-1])
    bands = np.bincount(index[inside], power[inside], minlength=BANDS)
    return 10.0 * np.log10(bands / max(bands.sum(), 1e-30) + 1e-30)


def spectrum_distance_db(before: np.ndarray, after: np.ndarray, sample_rate: int) -> float:
    """Mean absolute difference of the normalised band levels of two excerpts (dB)."""
    one, two = band_levels_db(before, sample_rate), band_levels_db(after, sample_rate)
    floor = max(one.max(), two.max()) - BAND_RANGE_DB
    return float(np.mean(np.abs(np.maximum(one, floor) - np.maximum(two, floor))))
