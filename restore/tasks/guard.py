"""Guards on generated audio: silence stays silent, nothing new goes past full scale.

- :class:`InputSurvey` reads the input once, block by block, before generation: per channel the
  runs of at least ``QUIET_MIN_SECONDS`` whose 5 ms RMS is at most ``QUIET_DBFS`` (digital
  silence and dither), the channels that are silent throughout, and the true peak (4x
  oversampled, as ITU-R BS.1770-4 Annex 2).
- :func:`gate_weights` is the silence gate applied after generation: inside each quiet run,
  from ``GATE_INSET_SECONDS`` after its start to as long before its end, the output is exactly
  the input's own (resampled) audio, with ``GATE_RAMP_SECONDS`` raised-cosine ramps.
- :func:`limit_added` scales generated audio down, sample by sample with a short hold, wherever
  adding it would take the output past ``CEILING_DBFS``. Where the *input* alone passes it once
  resampled (its inter-sample peaks become samples), :class:`Limiter` applies a local
  true-peak-safe gain (the same hold and smoothing: a few ms around each over) and counts
  what it did for the sidecar. A local gain, not one for the whole file, so that everywhere
  else the output stays the input. :func:`safe_gain` is the one gain for a whole clip (B of a
  transition, which is scaled anyway).

Arrays are ``[channels, frames]`` float; frames are at the rate named by the argument.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

import numpy as np
from scipy import ndimage, signal

QUIET_DBFS = -90.0  # a 5 ms frame at or below this RMS is quiet (digital silence, dither)
QUIET_FRAME_SECONDS = 0.005
QUIET_MIN_SECONDS = 0.05  # shorter quiet runs are pauses inside programme and are not gated
GATE_INSET_SECONDS = 0.01  # the gate closes this far inside a quiet run, at both ends ...
GATE_RAMP_SECONDS = 0.005  # ... after a raised-cosine ramp this long
CEILING_DBFS = -0.1  # outputs stay below this (sample peak; the input's true peak for the gain)
LIMIT_HOLD_SECONDS = 0.001  # the limiter's gain is held and smoothed over this much each side
TRUE_PEAK_OVERSAMPLING = 4
TRUE_PEAK_LEAD = 64  # input samples carried into the next block's oversampling

CEILING = 10.0 ** (CEILING_DBFS / 20.0)
QUIET_POWER = 10.0 ** (QUIET_DBFS / 10.0)


class InputSurvey:
    """Quiet runs per channel, silent channels and true peak of a ``[channels, n]`` stream."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self.frame = max(1, round(QUIET_FRAME_SECONDS * sample_rate))
        self.frames = 0  # input frames seen
        self.true_peak = 0.0
        self.loud = np.zeros(channels, dtype=bool)  # any frame above QUIET_DBFS
        self._open: list[int | None] = [None] * channels  # start of each channel's quiet run
        self._runs: list[list[tuple[int, int]]] = [[] for _ in range(channels)]
        self._rest = np.zeros((channels, 0))
        self._lead = np.zeros((channels, 0))
        self._position = 0  # first input frame of self._rest

    def add(self, block: np.ndarray) -> None:
        block = np.asarray(block, np.float64)
        self._add_true_peak(block)
        data = np.concatenate([self._rest, block], axis=1)
        whole = data.shape[1] // self.frame * self.frame
        power = (data[:, :whole] ** 2).reshape(self.channels, -1, self.frame).mean(axis=2)
        self._add_frames(power <= QUIET_POWER)
        self._rest = data[:, whole:]
        self._position += whole
        self.frames += block.shape[1]

    def _add_true_peak(self, block: np.ndarray) -> None:
        data = np.concatenate([self._lead, block], axis=1)
        if data.shape[1]:
            over = signal.resample_poly(data, TRUE_PEAK_OVERSAMPLING, 1, axis=1)
            skip = self._lead.shape[1] * TRUE_PEAK_OVERSAMPLING
            peak = float(np.abs(over[:, skip:]).max(initial=0.0))
            self.true_peak = max(self.true_peak, peak, float(np.abs(block).max(initial=0.0)))
        self._lead = data[:, -TRUE_PEAK_LEAD:]

    def _add_frames(self, quiet: np.ndarray) -> None:
        """Extend the runs with one block's frame flags ``quiet [channels, n]``."""
        if quiet.shape[1] == 0:
            return
        for channel, row in enumerate(quiet):
            self.loud[channel] |= not row.all()
            edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            if self._open[channel] is not None and not row[0]:
                self._close(channel, self._position)
            for start, end in zip(starts, ends, strict=True):
                first = self._position + int(start) * self.frame
                if start == 0 and self._open[channel] is not None:
                    first = self._open[channel]  # continues the previous block's run
                self._open[channel] = first
                if end < row.size:
                    self._close(channel, self._position + int(end) * self.frame)

    def _close(self, channel: int, end: int) -> None:
        self._record(channel, self._open[channel], end)
        self._open[channel] = None

    def _record(self, channel: int, start: int, end: int) -> None:
        if end - start >= QUIET_MIN_SECONDS * self.sample_rate:
            self._runs[channel].append((start, end))

    def quiet_runs(self) -> list[list[tuple[int, int]]]:
        """Per channel, the quiet runs ``[(start, end), ...]`` in input frames (a run that
        reaches the end of the stream ends at its last frame)."""
        runs = [list(channel) for channel in self._runs]
        for channel, start in enumerate(self._open):
            if start is not None and self.frames - start >= QUIET_MIN_SECONDS * self.sample_rate:
                runs[channel].append((start, self.frames))
        return runs

    def silent_channels(self) -> tuple[bool, ...]:
        """Channels that are quiet throughout (every 5 ms frame at or below -90 dBFS)."""
        return tuple(not bool(flag) for flag in self.loud)


def gate_weights(runs: list[list[tuple[int, int]]], start: int, length: int, in_rate: int,
                 out_rate: int, frames: int) -> np.ndarray:
    """``[channels, length]`` weights of the generated audio for output frames
    ``[start, start + length)``: 0 deep inside a quiet run of the input (``runs`` in input
    frames of a ``frames``-long input), 1 outside, raised-cosine ramps between."""
    weights = np.ones((len(runs), length), dtype=np.float32)
    inset = round(GATE_INSET_SECONDS * out_rate)
    ramp = max(1, round(GATE_RAMP_SECONDS * out_rate))
    fade = (0.5 + 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)).astype(np.float32)
    scale = out_rate / in_rate
    for channel, channel_runs in enumerate(runs):
        first = bisect.bisect_left(channel_runs, (math.floor((start - 2 * inset) / scale), -1))
        for run_start, run_end in channel_runs[max(0, first - 1):]:
            low = 0 if run_start == 0 else math.ceil(run_start * scale) + inset
            high = (math.ceil(frames * scale) if run_end >= frames
                    else math.floor(run_end * scale) - inset)
            if low - ramp >= start + length:
                break
            if high <= low:
                continue
            _apply_run(weights[channel], start, low, high, fade)
    return weights


def _apply_run(weights: np.ndarray, start: int, low: int, high: int, fade: np.ndarray) -> None:
    """Set ``weights`` (output frames from ``start``) to 0 over ``[low, high)`` with ``fade``
    (1 -> 0) before ``low`` and its mirror after ``high``."""
    ramp = fade.size
    span = np.concatenate([fade, np.zeros(high - low, np.float32), fade[::-1]])
    first = low - ramp - start
    lo, hi = max(first, 0), min(first + span.size, weights.size)
    if hi > lo:
        weights[lo:hi] = np.minimum(weights[lo:hi], span[lo - first:hi - first])


def limit_added(base: np.ndarray, added: np.ndarray, rate: int,
                ceiling: float = CEILING) -> np.ndarray:
    """``added`` scaled down where ``base + added`` would pass ``ceiling`` (``base`` itself is
    within it). The gain is the same for all channels, held for ``LIMIT_HOLD_SECONDS`` and
    smoothed, and never above what the ceiling allows at any sample (min-filter before mean)."""
    limit = ceiling - np.sign(added) * base
    with np.errstate(divide="ignore", invalid="ignore"):
        allowed = np.where(np.abs(added) > limit, np.clip(limit, 0.0, None) / np.abs(added), 1.0)
    gain = allowed.min(axis=0)
    if gain.min() >= 1.0:
        return added
    width = 2 * max(1, round(LIMIT_HOLD_SECONDS * rate)) + 1
    held = ndimage.minimum_filter1d(gain, width, mode="nearest")
    smooth = np.minimum(ndimage.uniform_filter1d(held, width, mode="nearest"), gain)
    smooth[smooth > 1.0 - 1e-9] = 1.0  # the mean of ones is not always exactly one
    return (added * smooth).astype(added.dtype)


def safe_gain(true_peak: float, ceiling: float = CEILING) -> float:
    """The gain (<= 1) that brings an input's true peak to ``ceiling``."""
    return 1.0 if true_peak <= ceiling else ceiling / true_peak


class Limiter:
    """The last stage of an output stream: a local gain wherever a block passes the ceiling,
    with the record of what it did (:meth:`record`)."""

    def __init__(self, rate: int, true_peak: float) -> None:
        self.rate, self.true_peak = rate, true_peak
        self.limited = 0  # output frames whose gain is below 1
        self.lowest = 1.0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        limited = limit_added(np.zeros_like(block), block, self.rate)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(block != 0, limited / block, 1.0).min(axis=0)
        self.limited += int(np.count_nonzero(ratio < 1.0))
        self.lowest = min(self.lowest, float(ratio.min(initial=1.0)))
        return limited.astype(np.float32)

    def record(self) -> dict | None:
        """The sidecar's ``level`` entry, or None when nothing was limited."""
        if self.limited == 0:
            return None
        return {"limited_seconds": round(self.limited / self.rate, 6),
                "max_reduction_db": round(-20.0 * math.log10(max(self.lowest, 1e-12)), 3),
                "input_true_peak_dbtp": round(20.0 * math.log10(max(self.true_peak, 1e-12)), 3),
                "ceiling_dbfs": CEILING_DBFS,
                "why": "local true-peak-safe gain where the resampled input passes the ceiling"}


def guarded(stream: Iterator[np.ndarray], channels: int, in_rate: int, out_rate: int,
            frames: int, runs: list[list[tuple[int, int]]],
            limiter: Limiter) -> Iterator[np.ndarray]:
    """Final output blocks from a stream of ``[2 * channels, n]`` blocks holding the processed
    output over the input resampled alone: generated part gated in quiet runs and limited,
    then ``limiter`` where the input itself passes the ceiling."""
    position = 0
    for block in stream:
        out, base = block[:channels], block[channels:]
        added = (out - base) * gate_weights(runs, position, block.shape[1], in_rate, out_rate,
                                            frames)
        position += block.shape[1]
        yield limiter(base + limit_added(base, added, out_rate))
