"""Overlap-add engine: identity round trip, rate changes, window agreement, streaming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from restore import dsp
from restore.chunking import (
    OverlapAdd,
    WindowBatch,
    WindowPlan,
    blend_weights,
    blend_windows,
    make_plan,
    overlap_add_stream,
    overlap_sum,
    window_starts,
)


def _blocks(audio: np.ndarray, size: int):
    for start in range(0, audio.shape[1], size):
        yield audio[:, start:start + size]


def _run(audio, plan, process, batch_windows=3, block=777):
    out = list(overlap_add_stream(_blocks(audio, block), audio.shape[1], audio.shape[0], plan,
                                  process, batch_windows=batch_windows))
    return out


def _identity(batch: WindowBatch) -> torch.Tensor:
    return batch.audio.clone()


@pytest.mark.parametrize("frames", [1, 50, 999, 1000, 1001, 4321])
@pytest.mark.parametrize("batch_windows", [1, 2, 5])
def test_identity_overlap_add_returns_input_exactly(rng, frames, batch_windows):
    audio = rng.standard_normal((2, frames)).astype(np.float32)
    plan = WindowPlan(window=300, overlap=100, context=64)
    blocks = _run(audio, plan, _identity, batch_windows)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), audio)


def test_windows_see_real_neighbours_and_zero_only_at_edges():
    audio = np.arange(1, 1001, dtype=np.float32)[None]
    plan = WindowPlan(window=200, overlap=50, context=30)
    seen: list[torch.Tensor] = []

    def spy(batch: WindowBatch) -> torch.Tensor:
        seen.extend(batch.audio)
        return batch.audio

    _run(audio, plan, spy)
    first, second = seen[0][0], seen[1][0]
    assert torch.all(first[:30] == 0) and first[30] == 1  # zeros only before the file
    assert second[0] == 150 - 30 + 1  # real samples as left context
    assert torch.all(seen[-1][0][-1:] == 0)  # zeros after the file's end


def test_stream_memory_is_bounded_by_the_batch():
    plan = WindowPlan(window=1000, overlap=200, context=100)
    frames = 200_000
    blocks = list(overlap_add_stream(_blocks(np.zeros((1, frames), np.float32), 4096), frames,
                                     1, plan, _identity, batch_windows=4))
    assert sum(block.shape[1] for block in blocks) == frames
    assert max(block.shape[1] for block in blocks) <= 4 * plan.hop + plan.window


def test_rate_change_through_windows_matches_whole_signal_resampling():
    """A stationary tone resampled window by window has no seam at the window boundaries."""
    rate_in, rate_out = 16_000, 48_000
    t = np.arange(rate_in) / rate_in
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    plan = make_plan(2000, 400, 600, rate_in, rate_out)

    def resample(batch: WindowBatch) -> torch.Tensor:
        return dsp.resample(batch.audio, rate_in, rate_out)

    out = np.concatenate(_run(tone, plan, resample), axis=1)
    whole = dsp.resample(torch.from_numpy(tone), rate_in, rate_out).numpy()
    assert out.shape == whole.shape == (1, 3 * tone.shape[1])
    inner = slice(3000, -3000)  # away from the file's own edges
    assert np.max(np.abs(out[:, inner] - whole[:, inner])) < 1e-4
    # no discontinuity: the largest sample-to-sample step stays that of the tone
    assert np.max(np.abs(np.diff(out[0, inner]))) < 1.02 * np.max(np.abs(np.diff(whole[0, inner])))


def test_make_plan_positions_are_integral_at_every_rate():
    plan = make_plan(10_000, 1000, 500, 44_100, 48_000, 22_050)
    assert (plan.up, plan.down) == (160, 147)
    for value in (plan.window, plan.overlap, plan.context, plan.hop):
        assert value * 48_000 % 44_100 == 0 and value * 22_050 % 44_100 == 0
    assert plan.hop >= plan.context


def test_window_starts_cover_the_file():
    plan = WindowPlan(window=100, overlap=20, context=10)
    for frames in (1, 99, 100, 101, 1000):
        starts = window_starts(frames, plan)
        assert starts[0] == 0 and starts[-1] + plan.window >= frames


def test_blend_windows_makes_neighbours_agree_and_keeps_the_head(rng):
    plan = WindowPlan(window=300, overlap=100, context=50)
    starts = [0, 200, 400]
    estimate = torch.from_numpy(rng.standard_normal((3, 2, plan.padded)))
    head_values = torch.full((2, 120), 7.0, dtype=torch.float64)
    windows, span = blend_windows(estimate, starts, plan, 1, 1, head=(-50, head_values))
    for index, start in enumerate(starts):  # every window is a slice of one signal
        torch.testing.assert_close(windows[index], span[:, start:start + plan.padded])
    assert torch.all(span[:, :120] == 7.0)
    # a core sample covered by one window keeps that window's value
    torch.testing.assert_close(span[:, 160], estimate[0, :, 160])


def test_overlap_sum_of_even_windows_matches_one_by_one(rng):
    windows = torch.from_numpy(rng.standard_normal((5, 2, 90)))
    span = 4 * 70 + 90
    summed = overlap_sum(windows, [0, 70, 140, 210, 280], span)  # one fold
    expected = torch.zeros(2, span, dtype=windows.dtype)
    for item in range(5):
        expected[:, 70 * item:70 * item + 90] += windows[item]
    torch.testing.assert_close(summed, expected)
    uneven = overlap_sum(windows[:2], [0, 30], 120)
    torch.testing.assert_close(uneven[:, :30], windows[0, :, :30])


def test_blend_windows_with_made_weights_and_resampled_rate_matches_plain(rng):
    plan = WindowPlan(window=300, overlap=100, context=50)
    starts = [400, 600, 800, 1000]
    up, down = 3, 1
    estimate = torch.from_numpy(rng.standard_normal((4, 1, plan.padded * up)))
    weights = blend_weights(plan, up, down, plan.padded * up)
    made = blend_windows(estimate, starts, plan, up, down, weights=weights)
    plain = blend_windows(estimate, starts, plan, up, down)
    for made_part, plain_part in zip(made, plain, strict=True):
        torch.testing.assert_close(made_part, plain_part)
    offset = (starts[1] - starts[0]) * up  # windows are slices of one span at the new rate
    torch.testing.assert_close(made[0][1], made[1][:, offset:offset + plan.padded * up])


def test_overlap_add_refuses_uncovered_output():
    accumulator = OverlapAdd(1)
    accumulator.add(5, np.ones((1, 3)), np.ones(3))
    with pytest.raises(ValueError):
        accumulator.release(8)
