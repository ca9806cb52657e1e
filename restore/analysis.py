"""Measurements for ``restore info``: peak, clipping, loudness, effective bandwidth, dropouts.

The array functions take ``audio [channels, frames]`` float (full scale +-1.0) and the rate in
Hz. :class:`Analyzer` computes the same numbers block by block, so that ``restore info`` reads a
file of any length in bounded memory (only a 5 ms level envelope and 100 ms loudness energies
are kept for the whole file). Times are in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
from scipy import ndimage, signal

from restore import io
from restore.cutoff import BandwidthEstimate, SpectrumStats, estimate_bandwidth
from restore.dropouts import Reader, interrupts_programme

CLIP_LEVEL = 0.999  # |sample| at or above this (-0.009 dBFS) counts as clipped
SILENCE_LEVEL = 2.0**-24  # |sample| at or below this in every channel is digital silence
SILENCE_KEPT_SECONDS = 0.0005  # shorter silent runs are dropped while streaming
ENVELOPE_SECONDS = 0.005  # level envelope frame for sudden-drop detection
DROP_DB = 30.0  # a frame this far below its neighbourhood's median level is a sudden drop
DROP_CONTEXT_SECONDS = 0.2  # neighbourhood on each side for that median
PROGRAMME_DBFS = -50.0  # neighbourhood must be at least this loud to count as programme
LOUDNESS_SEGMENT_SECONDS = 0.1  # BS.1770 gating blocks are 4 such segments (400 ms, 75% overlap)
CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)  # BS.1770 channel weights (L, R, C, Ls, Rs)


def peak_dbfs(audio: np.ndarray) -> float:
    """Sample peak of ``audio [channels, frames]`` in dBFS (-inf for digital silence)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def clipped_share(audio: np.ndarray, level: float = CLIP_LEVEL) -> float:
    """Share (0..1) of samples whose magnitude is at or above ``level`` of full scale."""
    return float(np.mean(np.abs(audio) >= level)) if audio.size else 0.0


def loudness_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4, via pyloudnorm) in LUFS; -inf if too short/silent."""
    meter = pyloudnorm.Meter(sample_rate)
    if audio.shape[1] < meter.block_size * sample_rate or audio.shape[0] > len(CHANNEL_GAINS):
        return Analyzer.single(audio, sample_rate).loudness()
    return float(meter.integrated_loudness(np.asarray(audio, np.float64).T))


def estimate_cutoff_hz(audio: np.ndarray, sample_rate: int) -> float:
    """Effective bandwidth in Hz (the conservative estimate of :mod:`restore.cutoff`).

    A 44.1 kHz file decoded from a 16 kHz-low-passed MP3 gives about 16000; a full-band file,
    and a dark, shelved, quiet or tonal one, gives ``sample_rate / 2``.
    """
    return estimate_bandwidth(np.asarray(audio), sample_rate).cutoff_hz


def find_dropouts(audio: np.ndarray, sample_rate: int, *, min_silence_seconds: float = 0.001,
                  drop_db: float = DROP_DB) -> list[tuple[float, float]]:
    """Dropout candidates ``[(start, end), ...]`` in seconds, sorted and merged.

    Two kinds: runs of digital silence (all channels within one 24-bit step of zero) at least
    ``min_silence_seconds`` (no less than 0.5 ms) long that do not touch the file's start or
    end; and sudden drops, 5 ms frames more than ``drop_db`` below the median level of the
    surrounding 0.4 s of programme (louder than -50 dBFS), with a steep fall and rise. Either
    kind counts only where it interrupts programme (:mod:`restore.dropouts`): pauses between
    words or notes are not dropouts.
    """

    def read(start: int, length: int) -> np.ndarray:
        return np.asarray(audio)[:, start:start + length]

    return Analyzer.single(audio, sample_rate).dropouts(min_silence_seconds, drop_db, read)


@dataclass
class _Run:
    start: int
    end: int


class Analyzer:
    """Accumulates the measurements over consecutive ``[channels, n]`` blocks of one signal."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self.frames = 0
        self.peak = 0.0
        self.clipped = 0
        self.silent_runs: list[_Run] = []
        self._envelope: list[np.ndarray] = []  # mean power per 5 ms frame
        self._envelope_rest = np.zeros((channels, 0))
        self._spectrum = SpectrumStats(sample_rate)
        self._segment_energy: list[np.ndarray] = []  # K-weighted energy per 100 ms segment
        self._loudness_rest = np.zeros((channels, 0))
        meter = pyloudnorm.Meter(sample_rate)
        stages = meter._filters.values()  # pyloudnorm's K-weighting (shelf, then high-pass)
        self._filters = [(stage.passband_gain, stage.b, stage.a) for stage in stages]
        self._filter_state = [[signal.lfilter_zi(b, a) * 0.0 for _, b, a in self._filters]
                              for _ in range(channels)]

    @classmethod
    def single(cls, audio: np.ndarray, sample_rate: int) -> Analyzer:
        analyzer = cls(sample_rate, audio.shape[0])
        analyzer.add(audio)
        return analyzer

    def add(self, block: np.ndarray) -> None:
        """Take the next ``block [channels, n]``."""
        block = np.asarray(block, np.float64)
        if block.shape[1] == 0:
            return
        magnitude = np.abs(block)
        self.peak = max(self.peak, float(magnitude.max()))
        self.clipped += int(np.count_nonzero(magnitude >= CLIP_LEVEL))
        self._add_silence(magnitude.max(axis=0) <= SILENCE_LEVEL)
        self._add_envelope(block)
        self._spectrum.add(block)
        self._add_loudness(block)
        self.frames += block.shape[1]

    # -- accumulation -------------------------------------------------------------------------
    def _add_silence(self, silent: np.ndarray) -> None:
        edges = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        shortest = max(1, round(SILENCE_KEPT_SECONDS * self.sample_rate))
        keep = ends - starts >= shortest
        keep[[0, -1] if keep.size else []] = True  # may continue across a block boundary
        runs = self.silent_runs
        for start, end in zip(starts[keep] + self.frames, ends[keep] + self.frames, strict=True):
            if runs and runs[-1].end == start:
                runs[-1].end = int(end)
            else:
                runs.append(_Run(int(start), int(end)))
        # zero crossings of quiet material make many one-sample runs: keep only long ones
        self.silent_runs = [run for run in runs[:-1] if run.end - run.start >= shortest] + runs[-1:]

    def _add_envelope(self, block: np.ndarray) -> None:
        frame = max(1, round(ENVELOPE_SECONDS * self.sample_rate))
        data = np.concatenate([self._envelope_rest, block], axis=1)
        whole = data.shape[1] // frame * frame
        power = (data[:, :whole] ** 2).mean(axis=0).reshape(-1, frame).mean(axis=1)
        self._envelope.append(power)
        self._envelope_rest = data[:, whole:]

    def _add_loudness(self, block: np.ndarray) -> None:
        weighted = np.empty_like(block)
        for channel in range(block.shape[0]):
            data = block[channel]
            for stage, (gain, b, a) in enumerate(self._filters):
                data, self._filter_state[channel][stage] = signal.lfilter(
                    b, a, data, zi=self._filter_state[channel][stage])
                data = gain * data
            weighted[channel] = data
        segment = round(LOUDNESS_SEGMENT_SECONDS * self.sample_rate)
        data = np.concatenate([self._loudness_rest, weighted], axis=1)
        whole = data.shape[1] // segment * segment
        energy = (data[:, :whole] ** 2).reshape(block.shape[0], -1, segment).sum(axis=2)
        self._segment_energy.append(energy)
        self._loudness_rest = data[:, whole:]

    # -- results ------------------------------------------------------------------------------
    def peak_dbfs(self) -> float:
        return 20.0 * np.log10(self.peak) if self.peak > 0 else float("-inf")

    def clipped_share(self) -> float:
        return self.clipped / max(1, self.frames * self.channels)

    def loudness(self) -> float:
        """Integrated loudness, BS.1770-4 gating (-70 LUFS absolute, -10 LU relative)."""
        energy = np.concatenate(self._segment_energy + [np.zeros((self.channels, 0))], axis=1)
        if energy.shape[1] < 4:
            return float("-inf")
        block_energy = sum(energy[:, k:energy.shape[1] - 3 + k] for k in range(4))
        mean_square = block_energy / (4 * round(LOUDNESS_SEGMENT_SECONDS * self.sample_rate))
        gains = np.array([CHANNEL_GAINS[i] if i < len(CHANNEL_GAINS) else 1.0
                          for i in range(self.channels)])[:, None]
        with np.errstate(divide="ignore"):
            block_loudness = -0.691 + 10 * np.log10((gains * mean_square).sum(axis=0))
            gated = block_loudness >= -70.0
            if not gated.any():
                return float("-inf")
            relative = -0.691 + 10 * np.log10((gains * mean_square[:, gated]).mean(axis=1).sum())
            gated &= block_loudness > relative - 10.0
            if not gated.any():
                return float("-inf")
            return float(-0.691 + 10 * np.log10((gains * mean_square[:, gated]).mean(axis=1).sum()))

    def bandwidth(self) -> BandwidthEstimate:
        """The conservative bandwidth estimate with its evidence (:mod:`restore.cutoff`)."""
        return self._spectrum.estimate()

    def cutoff_hz(self) -> float:
        """Effective bandwidth in Hz (see :func:`estimate_cutoff_hz`)."""
        return self.bandwidth().cutoff_hz

    def dropouts(self, min_silence_seconds: float = 0.001, drop_db: float = DROP_DB,
                 read: Reader | None = None) -> list[tuple[float, float]]:
        """Dropout candidates in seconds (see :func:`find_dropouts`).

        ``read(start, length) -> [channels, length]`` gives the audio for the spectral check on
        both sides of each candidate; without it only their levels are checked.
        """
        shortest = max(1, round(max(min_silence_seconds, SILENCE_KEPT_SECONDS) * self.sample_rate))
        runs = [(run.start, run.end) for run in self.silent_runs
                if run.end - run.start >= shortest and run.start > 0 and run.end < self.frames]
        runs += self._sudden_drops(drop_db)
        frame = max(1, round(ENVELOPE_SECONDS * self.sample_rate))
        level = 10 * np.log10(np.concatenate(self._envelope + [np.zeros(0)]) + 1e-20)
        runs = [(start, end) for start, end in runs
                if interrupts_programme(level, frame, start, end, self.sample_rate, read)]
        merged: list[list[int]] = []
        for start, end in sorted(runs):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return [(start / self.sample_rate, end / self.sample_rate) for start, end in merged]

    def _sudden_drops(self, drop_db: float) -> list[tuple[int, int]]:
        power = np.concatenate(self._envelope + [np.zeros(0)])
        frame = max(1, round(ENVELOPE_SECONDS * self.sample_rate))
        context = 2 * round(DROP_CONTEXT_SECONDS / ENVELOPE_SECONDS) + 1
        if power.size < context:
            return []
        level = 10 * np.log10(power + 1e-20)
        reference = ndimage.median_filter(level, size=context, mode="nearest")
        dropped = (level < reference - drop_db) & (reference > PROGRAMME_DBFS)
        edges = np.diff(np.concatenate([[0], dropped.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        drops = []
        for start, end in zip(starts, ends, strict=True):
            # sudden means a steep fall and rise at both ends, not a fade or a natural pause
            if start == 0 or end == level.size:
                continue
            fall, rise = level[start - 1] - level[start], level[end] - level[end - 1]
            if min(fall, rise) < drop_db / 2:
                continue
            drops.append((int(start) * frame, int(end) * frame))
        return drops


def analyze_blocks(path: str | Path, *, block_seconds: float = 10.0,
                   callback: Callable[[int, int], None] | None = None
                   ) -> tuple[io.AudioInfo, Analyzer]:
    """``(AudioInfo, Analyzer)`` of a whole file, read block by block (bounded memory).

    ``callback(frames_done, frames_total)`` is called after each block.
    """
    info = io.read_info(path)
    analyzer = Analyzer(info.sample_rate, info.channels)
    block_frames = max(4096, int(block_seconds * info.sample_rate))
    for block in io.iter_blocks(path, block_frames):
        analyzer.add(block)
        if callback is not None:
            callback(analyzer.frames, info.frames)
    return info, analyzer


def file_reader(path: str | Path) -> Reader:
    """``read(start, length) -> [channels, length]`` frames of a file (for the dropout check)."""
    def read(start: int, length: int) -> np.ndarray:
        return io.load(path, start, length)[0]

    return read


def analyze_file(path: str | Path, *, block_seconds: float = 10.0,
                 callback: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """All measurements of one file, read block by block (bounded memory).

    Returns a JSON-ready dict: format fields, ``duration_seconds``, ``peak_dbfs``,
    ``loudness_lufs``, ``cutoff_hz``, ``nyquist_hz``, ``clipped_share``, ``dropouts``
    (``[{"start": s, "end": s}]``), ``bandwidth`` (the estimate's evidence, see
    :class:`restore.cutoff.BandwidthEstimate`). -inf levels (digital silence) become None.
    ``callback(frames_done, frames_total)`` is called after each block.
    """
    info, analyzer = analyze_blocks(path, block_seconds=block_seconds, callback=callback)
    bandwidth = analyzer.bandwidth()
    dropouts = analyzer.dropouts(read=file_reader(path))

    def finite(value: float) -> float | None:
        return round(float(value), 3) if np.isfinite(value) else None

    return {
        "path": info.path, "container": info.container, "subtype": info.subtype,
        "sample_rate": info.sample_rate, "channels": info.channels, "frames": info.frames,
        "duration_seconds": round(info.duration, 6), "metadata": info.metadata,
        "peak_dbfs": finite(analyzer.peak_dbfs()), "loudness_lufs": finite(analyzer.loudness()),
        "cutoff_hz": round(bandwidth.cutoff_hz, 1), "nyquist_hz": info.sample_rate / 2,
        "bandwidth": bandwidth.as_dict(),
        "clipped_share": analyzer.clipped_share(),
        "dropouts": [{"start": round(start, 6), "end": round(end, 6)}
                     for start, end in dropouts],
    }
