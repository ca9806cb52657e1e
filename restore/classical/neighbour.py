"""Neighbour crossfade: fill a gap by crossfading the audio just before it into the audio after it.

For a gap ``[start, end)`` of ``L`` samples the fill is (issue 13's baseline: what reusing the
neighbouring audio gives)

    fill[i] = cos(theta_i) x[start - L + i] + sin(theta_i) x[end + i],
    theta_i = (pi / 2) (i + 0.5) / L,

the ``L`` samples before the gap played forwards again (as if they repeated) fading out with equal
power while the ``L`` samples after the gap fade in. Each side is spliced at a lag of ``L``
samples, so both joins are then smoothed by a short raised-cosine fade (``JOIN_SECONDS``) from the
known side's mirror image, which is continuous with the known sample at the join, into the fill.

A side with fewer than ``L`` known samples (the file's edge, a neighbouring gap) is repeated
periodically; a side with none leaves the fill to the other side alone. Known samples are never
changed. Audio is ``np.ndarray [channels, frames]``; ``gap_mask`` is ``bool [frames]``.
"""

from __future__ import annotations

import numpy as np

from restore.classical.simple import check_audio_and_mask, gap_runs

JOIN_SECONDS = 0.005  # fade from the known side's mirror image into the fill at each join


def neighbour_crossfade(
    audio: np.ndarray, gap_mask: np.ndarray, sample_rate: int, *, join_seconds: float = JOIN_SECONDS
) -> np.ndarray:
    """Fill every gap of ``audio [channels, frames]`` under ``gap_mask [frames]``; float32 copy.

    Gaps are filled left to right: an earlier filled gap counts as known audio for the next, a
    later one bounds the context.
    """
    out = check_audio_and_mask(audio, gap_mask).astype(np.float64)
    runs = gap_runs(gap_mask)
    join = int(round(join_seconds * sample_rate))
    for index, (start, end) in enumerate(runs):
        right_limit = runs[index + 1][0] if index + 1 < len(runs) else out.shape[1]
        for channel in out:
            channel[start:end] = neighbour_fill(channel, start, end, 0, right_limit)
            smooth_joins(channel, start, end, (0, right_limit), join)
    return out.astype(np.float32)


def neighbour_fill(
    signal: np.ndarray, start: int, end: int, left_limit: int, right_limit: int
) -> np.ndarray:
    """The crossfade ``[end - start]`` for the gap ``[start, end)`` of one channel ``signal``.

    Known audio is ``signal[left_limit:start]`` and ``signal[end:right_limit]``.
    """
    length = end - start
    before = _repeated(signal[max(left_limit, start - length) : start], length)
    after = _repeated(signal[end : min(right_limit, end + length)], length)
    if before is None and after is None:
        return np.zeros(length)
    if after is None:
        return before
    if before is None:
        return after
    fade_out, fade_in = equal_power_fades(length)
    return fade_out * before + fade_in * after


def _repeated(side: np.ndarray, length: int) -> np.ndarray | None:
    """``side`` tiled periodically to ``length`` samples (None when ``side`` is empty)."""
    if side.shape[0] == 0:
        return None
    return np.resize(side.astype(np.float64), length)


def equal_power_fades(length: int) -> tuple[np.ndarray, np.ndarray]:
    """``(fade_out, fade_in) [length]`` with ``fade_out**2 + fade_in**2 == 1``."""
    position = (np.arange(length) + 0.5) / max(length, 1)
    return np.cos(0.5 * np.pi * position), np.sin(0.5 * np.pi * position)


def raised_cosine_ramp(length: int) -> np.ndarray:
    """``[length]`` rising from ~0 to ~1; ``1 - ramp`` is its complement (weights sum to one)."""
    position = (np.arange(length) + 0.5) / max(length, 1)
    return 0.5 - 0.5 * np.cos(np.pi * position)


def smooth_joins(
    signal: np.ndarray, start: int, end: int, limits: tuple[int, int], join: int
) -> None:
    """Fade the first and last ``join`` samples of the filled gap from the mirror images of the
    known audio beside it (in place; ``limits`` bound the known audio; at most half the gap).

    The mirror image ``x[start - 2], x[start - 3], ...`` continues the known side without a jump,
    so a fill spliced at any lag joins smoothly.
    """
    fade = min(join, (end - start) // 2)
    if fade < 1:
        return
    ramp = raised_cosine_ramp(fade)
    left_limit, right_limit = limits
    left = signal[max(left_limit, start - fade - 1) : start]
    if left.shape[0] >= 2:
        mirror = np.pad(left, (0, fade), mode="reflect")[left.shape[0] :]
        signal[start : start + fade] = (1.0 - ramp) * mirror + ramp * signal[start : start + fade]
    right = signal[end : min(right_limit, end + fade + 1)]
    if right.shape[0] >= 2:
        mirror = np.pad(right, (fade, 0), mode="reflect")[:fade]
        signal[end - fade : end] = ramp * mirror + (1.0 - ramp) * signal[end - fade : end]


def bridge_layout(
    a: np.ndarray, b: np.ndarray, bridge_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(A + zeros + B [channels, Ta + bridge + Tb], gap_mask)``: a transition as one gap."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"a and b must be [channels, frames] alike, got {a.shape} and {b.shape}")
    silence = np.zeros((a.shape[0], bridge_samples), dtype=np.float32)
    mask = np.zeros(a.shape[1] + bridge_samples + b.shape[1], dtype=bool)
    mask[a.shape[1] : a.shape[1] + bridge_samples] = True
    return np.concatenate([a, silence, b], axis=1), mask


def neighbour_bridge(
    a: np.ndarray, b: np.ndarray, bridge_samples: int, sample_rate: int
) -> np.ndarray:
    """Transition ``[channels, bridge_samples]`` from ``a [channels, Ta]`` to ``b [channels, Tb]``:
    A's last ``bridge_samples`` faded out (equal power) while B's first fade in."""
    joined, mask = bridge_layout(a, b, bridge_samples)
    filled = neighbour_crossfade(joined, mask, sample_rate)
    return filled[:, a.shape[1] : a.shape[1] + bridge_samples]

