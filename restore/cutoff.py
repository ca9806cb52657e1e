"""The conservative bandwidth estimate: where (if anywhere) a band is really missing.

A band counts as missing only where the spectrum falls off a cliff and then stays at the noise
floor in every stretch of the file. Both halves are needed:

- *stays at the floor*: above the edge, no 0.5 s stretch of the file has anything louder than
  white noise at ``FLOOR_DBFS`` (-90 dBFS) would put there. The spectrum of each stretch is
  smoothed over 100 Hz and the per-frequency maximum over all stretches is kept, so one bright
  bar in a dark piece, a tonal partial or a hiss at -66 dBFS counts as content.
- *a cliff*: ``CLIFF_HZ`` (1 kHz, less at low rates) below that edge, the dense part of the
  spectrum (a 300 Hz median, which ignores isolated partials) is still at least ``CLIFF_DB``
  above the floor in the loudest stretch. A low-pass filter, a codec or a resampler does this;
  dark, shelved, quiet or tonal music fades into the floor gradually or not at all.

Anything else is full band: a wrong "full band" only leaves the file as it is, while a wrong
cutoff replaces real audio by generated audio. Arrays are ``[channels, frames]`` float, full
scale +-1.0; frequencies in Hz. :class:`SpectrumStats` accumulates block by block, so a file
of any length is measured in bounded memory (three spectra, whatever the length).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage, signal

FLOOR_DBFS = -90.0  # white noise at this RMS (full band) defines the floor density
CLIFF_DB = 20.0  # dense level this far above the floor, CLIFF_HZ below the edge
CLIFF_HZ = 1000.0  # how far below the edge the cliff's top is looked for ...
CLIFF_NYQUIST_SHARE = 0.08  # ... but at most this share of Nyquist (low sample rates)
STRETCH_SECONDS = 1.0  # the spectrum of each stretch this long is checked on its own
SEGMENT_SECONDS = 0.085  # Welch segment, rounded to a power of two (4096 at 44.1/48 kHz)
CONTENT_SMOOTH_HZ = 100.0  # mean over this band: content (partials included) vs the floor
DENSE_SMOOTH_HZ = 300.0  # median over this band: the dense spectrum, without lone partials
FULL_BAND_FRACTION = 0.95  # an edge this close to Nyquist means "full band"
WINDOW = ("kaiser", 16.0)  # side lobes near -120 dB: a loud tone does not leak into the floor
SEGMENT_PERCENTILE = 85.0  # per stretch and frequency: the level 15 % of its segments reach
TINY = 1e-30


@dataclass(frozen=True)
class BandwidthEstimate:
    """The estimate and its evidence.

    ``cutoff_hz``: edge of the real content (``nyquist_hz`` when full band). ``edge_hz``: the
    highest frequency with content above the floor in any stretch. ``drop_db``: how far the
    dense spectrum ``cliff_hz`` below the edge lies above ``floor_dbfs``, the loudest level
    above the edge (as white-noise dBFS). ``reason``: one phrase for people.
    """

    cutoff_hz: float
    nyquist_hz: float
    band_limited: bool
    edge_hz: float
    drop_db: float | None
    cliff_hz: float
    floor_dbfs: float | None
    reason: str

    @property
    def edge_level_dbfs(self) -> float | None:
        """Level of the dense spectrum ``cliff_hz`` below the edge (white-noise dBFS)."""
        if self.drop_db is None or self.floor_dbfs is None:
            return None
        return float(self.floor_dbfs + self.drop_db)

    def as_dict(self) -> dict:
        def rounded(value):
            return None if value is None else round(float(value), 1)

        return {key: rounded(value) if isinstance(value, float) else value
                for key, value in asdict(self).items()}


def segment_length(sample_rate: int) -> int:
    """Welch segment in samples: a power of two near ``SEGMENT_SECONDS`` (>= 256)."""
    return max(256, 2 ** round(np.log2(SEGMENT_SECONDS * sample_rate)))


class SpectrumStats:
    """Per-frequency statistics over consecutive ``STRETCH_SECONDS`` stretches of a signal."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.segment = segment_length(sample_rate)
        self.stretch = max(2 * self.segment, round(STRETCH_SECONDS * sample_rate))
        bins = self.segment // 2 + 1
        self.content_max = np.zeros(bins)  # max over stretches of the 100 Hz mean PSD
        self.dense_max = np.zeros(bins)  # max over stretches of the 300 Hz median PSD
        self.stretches = 0
        self._rest: np.ndarray | None = None

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.segment

    def add(self, block: np.ndarray) -> None:
        """Take the next ``block [channels, n]``."""
        data = np.asarray(block, np.float64)
        if self._rest is not None:
            data = np.concatenate([self._rest, data], axis=1)
        whole = data.shape[1] // self.stretch * self.stretch
        for start in range(0, whole, self.stretch):
            self._add_stretch(data[:, start:start + self.stretch])
        self._rest = data[:, whole:]

    def finish(self) -> None:
        """Count the last, shorter stretch (if it holds at least one segment)."""
        if self._rest is not None and self._rest.shape[1] >= self.segment:
            self._add_stretch(self._rest)
        self._rest = None

    def _add_stretch(self, stretch: np.ndarray) -> None:
        _, _, segments = signal.spectrogram(stretch, fs=self.sample_rate, window=WINDOW,
                                            nperseg=self.segment,
                                            noverlap=self.segment // 2, axis=-1)
        # a level 15 % of the segments reach: a click or a dropout's step (two or three of a
        # stretch's 22 segments) is damage, not bandwidth; content that recurs still counts
        power = np.percentile(segments, SEGMENT_PERCENTILE, axis=-1)
        power = power.mean(axis=0)  # mean over channels: dBFS per channel
        content = ndimage.uniform_filter1d(power, self._width(CONTENT_SMOOTH_HZ), mode="nearest")
        dense = ndimage.median_filter(power, size=self._width(DENSE_SMOOTH_HZ), mode="nearest")
        np.maximum(self.content_max, content, out=self.content_max)
        np.maximum(self.dense_max, dense, out=self.dense_max)
        self.stretches += 1

    def _width(self, hz: float) -> int:
        return max(3, int(hz / self.bin_hz) | 1)

    def estimate(self) -> BandwidthEstimate:
        """The estimate of everything added (see the module docstring); ends the signal."""
        self.finish()
        return decide(self.content_max, self.dense_max, self.sample_rate, self.segment)


def floor_density(sample_rate: int) -> float:
    """One-sided PSD (per Hz) of white noise at ``FLOOR_DBFS`` RMS."""
    return 10.0 ** (FLOOR_DBFS / 10.0) / (sample_rate / 2.0)


def white_dbfs(density: float, sample_rate: int) -> float:
    """A PSD value as the dBFS of white noise with that density."""
    return float(10.0 * np.log10(max(density, TINY) * sample_rate / 2.0))


def decide(content_max: np.ndarray, dense_max: np.ndarray, sample_rate: int,
           segment: int) -> BandwidthEstimate:
    """The estimate from the per-frequency maxima of the stretches' smoothed spectra."""
    nyquist = sample_rate / 2.0
    bin_hz = sample_rate / segment
    cliff_hz = min(CLIFF_HZ, CLIFF_NYQUIST_SHARE * nyquist)
    floor = floor_density(sample_rate)
    above = np.flatnonzero(content_max[1:] > floor) + 1  # DC does not count
    if above.size == 0:
        return BandwidthEstimate(nyquist, nyquist, False, 0.0, None, cliff_hz, None,
                                 "nothing above the floor: treated as full band")
    edge_bin = int(above[-1]) + 1
    edge_hz = min(edge_bin * bin_hz, nyquist)
    if edge_hz >= FULL_BAND_FRACTION * nyquist:
        return BandwidthEstimate(nyquist, nyquist, False, edge_hz, None, cliff_hz, None,
                                 "content up to Nyquist")
    reach = max(2, round(cliff_hz / bin_hz))
    floor_level = float(np.median(content_max[edge_bin:edge_bin + reach]))
    top = max(1, edge_bin - reach)
    half = max(1, round(0.5 * DENSE_SMOOTH_HZ / bin_hz))
    dense = float(np.median(dense_max[max(1, top - half):top + half + 1]))
    drop_db = 10.0 * np.log10(max(dense, TINY) / max(floor_level, TINY))
    floor_dbfs = white_dbfs(floor_level, sample_rate)
    if drop_db < CLIFF_DB:
        return BandwidthEstimate(nyquist, nyquist, False, edge_hz, drop_db, cliff_hz, floor_dbfs,
                                 "no cliff at the edge (a gradual roll-off or a lone tone)")
    return BandwidthEstimate(edge_hz, nyquist, True, edge_hz, drop_db, cliff_hz, floor_dbfs,
                             "a cliff to the floor, in every stretch")


def estimate_bandwidth(audio: np.ndarray, sample_rate: int) -> BandwidthEstimate:
    """:class:`BandwidthEstimate` of a whole ``[channels, frames]`` array."""
    stats = SpectrumStats(sample_rate)
    stats.add(audio)
    stats.finish()
    return stats.estimate()
