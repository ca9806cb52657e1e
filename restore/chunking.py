"""Model-agnostic overlap-add engine for long audio (the idea of demucs ``apply.py``, split up).

A file is cut into windows whose *cores* ``[start, start + window)`` overlap by ``overlap``
samples. Each window is handed to the processing function with ``context`` extra samples on both
sides, taken from the real neighbouring audio (zeros only beyond the file's edges); the context
part of the result is discarded, because models are wrong near their edges. Cores are combined
by weighted overlap-add (trapezoid weights, the summed weights divided out) and finished output
is yielded block by block, in order, so memory is bounded by one batch of windows, never by the
file.

The processing may change the sample rate by the exact ratio ``up / down`` (output rate over
input rate); window positions are kept integral at that rate by :class:`WindowPlan`.

Neighbouring windows of a *diffusion* process must agree where they overlap. We do both things
STYLE allows, each where it fits a stream: inside one batch, :func:`blend_windows` averages the
windows' denoised estimates at every sampler step (MultiDiffusion), so the batch samples one
consistent signal; across batches, each new batch is conditioned on the already finished overlap
(the previous batch's last window, imposed through ``head``), so the stream never needs a batch
again once its output is emitted. When windows agree, overlap-add returns exactly their common
signal and there is no seam.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

CONTEXT_WEIGHT = 1e-3  # weight of context samples in blend_windows (only decides at span edges)


@dataclass(frozen=True)
class WindowPlan:
    """Window geometry in input samples; ``up / down`` is output rate over input rate."""

    window: int  # core length of each window
    overlap: int  # samples shared by the cores of neighbouring windows
    context: int  # real samples added on each side and discarded afterwards
    up: int = 1  # output rate = input rate * up / down
    down: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.overlap < self.window:
            raise ValueError("WindowPlan: need 0 <= overlap < window")
        if self.context < 0 or self.hop < self.context:
            raise ValueError("WindowPlan: need 0 <= context <= hop (window - overlap)")
        for name in ("window", "overlap", "context"):
            if getattr(self, name) % self.down:
                raise ValueError(f"WindowPlan: {name} must be a multiple of down={self.down}")

    @property
    def hop(self) -> int:
        return self.window - self.overlap

    @property
    def padded(self) -> int:
        """Input samples handed to the processing function per window."""
        return self.window + 2 * self.context

    def to_output(self, samples: int) -> int:
        """Input-sample count or position -> output samples (exact for multiples of ``down``)."""
        return samples * self.up // self.down

    def output_length(self, frames: int) -> int:
        """Output length for ``frames`` input samples: ``ceil(frames * up / down)``."""
        return -(-frames * self.up // self.down)


def make_plan(window: int, overlap: int, context: int, in_rate: int, *out_rates: int) -> WindowPlan:
    """A plan close to the requested sizes whose positions are integral at every ``out_rates``.

    The first of ``out_rates`` is the output rate of the engine; the others are rates the
    processing works at inside (e.g. the model's 48 kHz), which also need integral positions.
    """
    quantum = 1
    for rate in out_rates:
        quantum = math.lcm(quantum, in_rate // math.gcd(in_rate, rate))

    def snap(value: int) -> int:
        return max(quantum, -(-value // quantum) * quantum)

    out_rate = out_rates[0] if out_rates else in_rate
    divisor = math.gcd(in_rate, out_rate)
    overlap, context = snap(overlap), snap(context)
    return WindowPlan(snap(max(window, overlap + context)), overlap, context,
                      out_rate // divisor, in_rate // divisor)


def window_starts(frames: int, plan: WindowPlan) -> list[int]:
    """Core start of every window (input samples) so that the cores cover ``[0, frames)``."""
    count = max(1, -(-(frames - plan.overlap) // plan.hop))
    return [index * plan.hop for index in range(count)]


def core_weights(length: int, overlap: int, *, first: bool = False, last: bool = False,
                 device: torch.device | None = None) -> torch.Tensor:
    """Trapezoid overlap-add weights ``[length]`` float64: ramps over ``overlap`` at each end.

    Ramps are strictly positive, so sums of weights never vanish; ``first`` / ``last`` drop the
    ramp at a file edge where no neighbour shares the samples. Built on ``device``: the sampler
    blends windows at every step, where a host-to-device copy would be a CUDA sync.
    """
    weights = torch.ones(length, dtype=torch.float64, device=device)
    if overlap > 0:
        ramp = (torch.arange(overlap, dtype=torch.float64, device=device) + 0.5) / overlap
        if not first:
            weights[:overlap] = ramp
        if not last:
            weights[length - overlap:] = ramp.flip(0)
    return weights


@dataclass
class WindowBatch:
    """Consecutive windows handed to the processing function.

    ``audio [batch, channels, plan.padded]`` float32 (real neighbouring samples, zeros beyond
    the file's edges); ``starts`` core starts in input samples; ``index`` of the first window
    in the whole file; ``is_last`` when no window follows.
    """

    audio: torch.Tensor
    starts: list[int]
    plan: WindowPlan
    index: int
    is_last: bool


Process = Callable[[WindowBatch], torch.Tensor]


def take(read: Callable[[int, int], np.ndarray], frames: int, channels: int, start: int,
         length: int, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Frames ``[start, start + length)`` of audio ``frames`` long as ``[channels, length]``,
    zeros outside it; ``read(first, count)`` returns frames inside it."""
    out = np.zeros((channels, length), dtype=dtype)
    low, high = max(start, 0), min(start + length, frames)
    if high > low:
        out[:, low - start:high - start] = read(low, high - low)
    return out


class InputBuffer:
    """A sliding view of a block stream: padded slices by absolute position, bounded memory."""

    def __init__(self, blocks: Iterable[np.ndarray], frames: int, channels: int) -> None:
        self._blocks = iter(blocks)
        self.frames, self.channels = frames, channels
        self._data = np.zeros((channels, 0), dtype=np.float32)
        self._offset = 0  # absolute frame of self._data[:, 0]

    def _fill_to(self, end: int) -> None:
        end = min(end, self.frames)
        pieces = [self._data]
        have = self._offset + self._data.shape[1]
        while have < end:
            block = next(self._blocks, None)
            if block is None:
                raise ValueError(f"block stream ended at frame {have}, expected {self.frames}")
            pieces.append(np.asarray(block, dtype=np.float32))
            have += block.shape[1]
        if len(pieces) > 1:
            self._data = np.concatenate(pieces, axis=1)

    def take(self, start: int, length: int) -> np.ndarray:
        """Samples ``[start, start + length)`` as ``[channels, length]``, zero outside the file."""
        self._fill_to(start + length)
        return take(lambda first, count: self._data[:, first - self._offset:
                                                     first - self._offset + count],
                    self.frames, self.channels, start, length)

    def discard_before(self, position: int) -> None:
        """Forget samples before ``position`` (they will not be asked for again)."""
        drop = min(max(0, position - self._offset), self._data.shape[1])
        if drop:
            self._data = self._data[:, drop:].copy()
            self._offset += drop


class OverlapAdd:
    """Weighted overlap-add accumulator that releases finished output in order."""

    def __init__(self, channels: int) -> None:
        self._sum = np.zeros((channels, 0), dtype=np.float64)
        self._weight = np.zeros(0, dtype=np.float64)
        self._offset = 0  # absolute output frame of self._sum[:, 0]

    def add(self, start: int, values: np.ndarray, weights: np.ndarray) -> None:
        """Add ``values [channels, n]`` weighted by ``weights [n]`` at output frame ``start``."""
        if start < self._offset:
            raise ValueError("OverlapAdd: cannot add before already released output")
        end = start + values.shape[1]
        grow = end - (self._offset + self._weight.shape[0])
        if grow > 0:
            self._sum = np.pad(self._sum, ((0, 0), (0, grow)))
            self._weight = np.pad(self._weight, (0, grow))
        local = start - self._offset
        self._sum[:, local:local + values.shape[1]] += values * weights
        self._weight[local:local + values.shape[1]] += weights

    def release(self, until: int) -> np.ndarray:
        """Finished output ``[offset, until)``, float32 ``[channels, n]``, weights divided out."""
        count = max(0, min(until - self._offset, self._weight.shape[0]))
        weight = self._weight[:count]
        if np.any(weight <= 0):
            raise ValueError("OverlapAdd: output samples that no window covered")
        block = (self._sum[:, :count] / weight).astype(np.float32)
        self._sum, self._weight = self._sum[:, count:], self._weight[count:]
        self._offset += count
        return block


def _batches(starts: list[int], batch_windows: int) -> Iterator[tuple[int, list[int]]]:
    for first in range(0, len(starts), batch_windows):
        yield first, starts[first:first + batch_windows]


def overlap_add_stream(
    blocks: Iterable[np.ndarray],
    frames: int,
    channels: int,
    plan: WindowPlan,
    process: Process,
    *,
    batch_windows: int = 8,
    callback: Callable[[dict], None] | None = None,
    out_channels: int | None = None,
) -> Iterator[np.ndarray]:
    """Run ``process`` over a ``[channels, frames]`` block stream; yield finished output blocks.

    ``process(batch) -> [batch, out_channels, plan.to_output(plan.padded)]`` (output rate;
    ``out_channels`` defaults to ``channels``). Yields float32 ``[out_channels, n]`` blocks, in
    order, totalling ``plan.output_length(frames)``.
    ``callback({"windows_done", "windows"})`` after each batch.
    """
    starts = window_starts(frames, plan)
    source = InputBuffer(blocks, frames, channels)
    accumulator = OverlapAdd(out_channels or channels)
    total_out = plan.output_length(frames)
    core_out, context_out = plan.to_output(plan.window), plan.to_output(plan.context)
    for first, batch_starts in _batches(starts, batch_windows):
        audio = np.stack([source.take(start - plan.context, plan.padded) for start in batch_starts])
        is_last = first + len(batch_starts) == len(starts)
        batch = WindowBatch(torch.from_numpy(audio), batch_starts, plan, first, is_last)
        result = process(batch).detach().to("cpu", torch.float64).numpy()
        for offset, start in enumerate(batch_starts):
            index = first + offset
            weights = core_weights(core_out, plan.to_output(plan.overlap), first=index == 0,
                                   last=index == len(starts) - 1).numpy()
            core = result[offset, :, context_out:context_out + core_out]
            accumulator.add(plan.to_output(start), core, weights)
        following = first + len(batch_starts)
        done_until = plan.to_output(starts[following]) if following < len(starts) else total_out
        source.discard_before((starts[following] if following < len(starts) else frames)
                              - plan.context)
        if callback is not None:
            callback({"windows_done": following, "windows": len(starts)})
        block = accumulator.release(min(done_until, total_out))
        if block.shape[1]:
            yield block


def blend_weights(plan: WindowPlan, up: int, down: int, length: int,
                  device: torch.device | None = None) -> torch.Tensor:
    """Weights ``[length]`` float64 of one window in :func:`blend_windows` (at ``up / down``
    times the input rate): :func:`core_weights` on the core, ``CONTEXT_WEIGHT`` on the context.
    """
    context = plan.context * up // down
    core = core_weights(plan.window * up // down, plan.overlap * up // down, device=device)
    weights = torch.full((length,), CONTEXT_WEIGHT, dtype=torch.float64, device=device)
    weights[context:context + core.shape[0]] = core
    return weights


def overlap_sum(windows: torch.Tensor, offsets: list[int], span_length: int) -> torch.Tensor:
    """Sum of ``windows [batch, components, length]`` placed at ``offsets`` along a span:
    ``[components, span_length]``. Evenly spaced windows (the engine's) are summed in one
    ``fold`` (a deterministic gather on every device), others one by one."""
    batch, components, length = windows.shape
    hop = offsets[1] - offsets[0] if batch > 1 else length
    if offsets[0] == 0 and hop > 0 and offsets == list(range(0, batch * hop, hop)) \
            and span_length == offsets[-1] + length:
        columns = windows.permute(1, 2, 0).reshape(1, components * length, batch)
        summed = torch.nn.functional.fold(columns, (1, span_length), (1, length),
                                          stride=(1, hop))
        return summed.reshape(components, span_length)
    total = windows.new_zeros(components, span_length)
    for item, offset in enumerate(offsets):
        total[:, offset:offset + length] += windows[item]
    return total


def blend_windows(
    estimate: torch.Tensor,
    starts: list[int],
    plan: WindowPlan,
    up: int,
    down: int,
    head: tuple[int, torch.Tensor] | None = None,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make consecutive windows agree: average them where they overlap, then impose ``head``.

    ``estimate [batch, components, length]`` holds the windows of ``starts`` at a rate of
    ``up / down`` times the input rate (``length = plan.padded * up / down``). Cores are weighted
    by :func:`core_weights`, context samples by ``CONTEXT_WEIGHT`` (``weights``: those of
    :func:`blend_weights`, made once by a caller that blends at every sampler step).
    ``head = (position, values [components, n])``: already finished samples at absolute
    position ``position`` (same rate) that replace the blend. Returns ``(windows like estimate,
    span [components, span_length])`` where ``span`` starts at the first window's padded start.
    """
    batch, components, length = estimate.shape
    origin = (starts[0] - plan.context) * up // down
    offsets = [(start - plan.context) * up // down - origin for start in starts]
    span_length = offsets[-1] + length
    if weights is None:
        weights = blend_weights(plan, up, down, length, estimate.device)
    weights = weights.to(estimate.dtype)
    total = overlap_sum(estimate * weights, offsets, span_length)
    weight_sum = overlap_sum(weights.expand(batch, 1, length), offsets, span_length)
    span = total / weight_sum
    if head is not None:
        position, values = head
        low = max(position - origin, 0)
        high = min(position - origin + values.shape[-1], span_length)
        if high > low:
            span[:, low:high] = values[:, low - (position - origin):high - (position - origin)]
    windows = torch.stack([span[:, offset:offset + length] for offset in offsets])
    return windows, span


@dataclass(frozen=True)
class WindowAgreement:
    """The projection that makes a batch of windows agree at every sampler step.

    Items ``[batch * components, 1, length]`` (component-major per window, as
    :meth:`restore.tasks.sampler.Sampler.fill` lays them out) are regrouped into windows and
    blended by :func:`blend_windows` with ``starts``, ``plan``, ``up / down`` and ``head``.
    ``device``: where the estimates live; the blend's weights are made there once.
    """

    starts: list[int]
    plan: WindowPlan
    up: int
    down: int
    components: int
    head: tuple[int, torch.Tensor] | None = None
    device: torch.device | None = None

    def __post_init__(self) -> None:
        length = self.plan.padded * self.up // self.down
        object.__setattr__(self, "_weights",
                           blend_weights(self.plan, self.up, self.down, length, self.device))
        if self.head is not None and self.device is not None:
            object.__setattr__(self, "head", (self.head[0], self.head[1].to(self.device)))

    def __call__(self, estimate: torch.Tensor) -> torch.Tensor:
        windows = estimate.reshape(-1, self.components, estimate.shape[-1])
        head = None if self.head is None else (self.head[0], self.head[1].to(windows))
        blended = blend_windows(windows, self.starts, self.plan, self.up, self.down, head,
                                self._weights.to(windows.device))[0]
        return blended.reshape(estimate.shape).to(estimate.dtype)
