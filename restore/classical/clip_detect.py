"""Hard-clipping detection: per channel and polarity, the level the samples were clipped at.

Hard clipping leaves runs of consecutive samples sitting at one value, the channel's extreme
(its largest for the positive half, its smallest for the negative half). Levels below full
scale (clipping before a gain change or in an analogue stage) and asymmetric levels are found
alike, because each polarity of each channel is judged on its own extreme.

A clean recording also has an extreme value, usually reached once, sometimes by two or three
neighbouring samples of a slow peak. A polarity therefore counts as clipped only when its
extreme is reached by at least ``MIN_EVENTS`` separate runs of at least two samples: a few
samples at the peak are not clipping. A sample is at the extreme when it equals it (hard
clipping stores the same value every time, exactly, in every format).

Streaming: :class:`ClipScanner` takes blocks in order and keeps, per channel and polarity, the
running extreme and the runs seen at it, so a long file needs one pass and no memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# a clipped sample *equals* the level (every format stores it exactly): no tolerance, so an
# unclipped sample just below the level (24-bit, float) is never taken for a clipped one
TOLERANCE = 0.0
MIN_EVENTS = 3  # runs of >= 2 samples at the extreme that make a polarity clipped


@dataclass(frozen=True)
class ChannelClipping:
    """The clip levels of one channel (None: that polarity is not clipped).

    ``positive`` is a value > 0 (the top of the clipped positive half), ``negative`` < 0.
    """

    positive: float | None
    negative: float | None

    @property
    def clipped(self) -> bool:
        return self.positive is not None or self.negative is not None

    def mask(self, block: np.ndarray) -> np.ndarray:
        """``bool [n]``: the samples of ``block [n]`` at this channel's clip levels."""
        mask = np.zeros(block.shape, dtype=bool)
        if self.positive is not None:
            mask |= block >= self.positive - TOLERANCE
        if self.negative is not None:
            mask |= block <= self.negative + TOLERANCE
        return mask

    def dbfs(self) -> tuple[float | None, float | None]:
        """``(positive, negative)`` levels in dBFS (of their magnitude), None where unclipped."""
        return tuple(None if level is None else round(20 * math.log10(abs(level)), 2)
                     for level in (self.positive, self.negative))


class _Extreme:
    """Running maximum of a stream and the runs (>= 2 samples) that sit at it."""

    def __init__(self) -> None:
        self.value = -math.inf
        self.runs = 0
        self.samples = 0
        self.open_run = 0  # length of a run at the extreme touching the last block's end

    def update(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        top = float(block.max())
        if top > self.value + TOLERANCE:
            self.value, self.runs, self.samples, self.open_run = top, 0, 0, 0
        at = block >= self.value - TOLERANCE
        self.samples += int(np.count_nonzero(at))
        edges = np.diff(np.concatenate([[0], at.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        lengths = ends - starts
        if lengths.size and starts[0] == 0 and self.open_run:
            lengths[0] += self.open_run  # the run continues from the previous block
            self.runs -= int(self.open_run >= 2)
        self.runs += int(np.count_nonzero(lengths >= 2))
        self.open_run = int(lengths[-1]) if lengths.size and ends[-1] == at.shape[0] else 0

    def level(self) -> float | None:
        if self.runs >= MIN_EVENTS and self.value > 0.0:
            return self.value
        return None


class ClipScanner:
    """Feed ``[channels, n]`` blocks in order with :meth:`update`; :meth:`result` gives the
    clip levels per channel."""

    def __init__(self, channels: int) -> None:
        self.tops = [_Extreme() for _ in range(channels)]
        self.bottoms = [_Extreme() for _ in range(channels)]

    def update(self, block: np.ndarray) -> None:
        for channel, row in enumerate(np.asarray(block, dtype=np.float64)):
            self.tops[channel].update(row)
            self.bottoms[channel].update(-row)

    def result(self) -> list[ChannelClipping]:
        levels = []
        for top, bottom in zip(self.tops, self.bottoms, strict=True):
            negative = bottom.level()
            levels.append(ChannelClipping(top.level(), None if negative is None else -negative))
        return levels


def detect_clipping(audio: np.ndarray) -> list[ChannelClipping]:
    """Clip levels of each channel of ``audio [channels, frames]``."""
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    scanner = ClipScanner(audio.shape[0])
    scanner.update(audio)
    return scanner.result()


def fixed_levels(channels: int, level_dbfs: float) -> list[ChannelClipping]:
    """Every channel clipped at ``level_dbfs`` in both polarities (the user's ``--level``)."""
    level = 10.0 ** (level_dbfs / 20.0)
    return [ChannelClipping(level, -level) for _ in range(channels)]


def clipped_mask(audio: np.ndarray, levels: list[ChannelClipping]) -> np.ndarray:
    """``bool [channels, frames]``: samples of ``audio`` at their channel's clip levels."""
    audio = np.asarray(audio)
    return np.stack([level.mask(row) for row, level in zip(audio, levels, strict=True)])
