"""Where a task's audio comes from and where it goes: one interface for arrays in memory (the
Python API) and for files streamed block by block (the command line).

A :class:`Source` gives windows by position (zeros outside the audio) and the whole audio as
blocks in order; a sink takes output blocks in order. The task pipelines
(:mod:`restore.tasks.inpaint`, ``bandwidth``, ``transition``, ``repair``) see only these, so the
API and the CLI run the same code. Memory is bounded by a block (and one batch of windows)
for files, never by the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from restore import io
from restore.chunking import take

BLOCK_SECONDS = 10.0  # block size of streamed files
EXACT_SUBTYPES = ("PCM_32", "DOUBLE")  # read as float64 so they copy bit-exactly


class Source:
    """``channels`` x ``frames`` of audio at ``sample_rate`` (``path`` names it in errors)."""

    sample_rate: int
    channels: int
    frames: int
    path: Path | None = None
    exact_dtype: str = "float32"  # the dtype that copies the audio bit-exactly

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    def read(self, start: int, length: int, dtype: str = "float32") -> np.ndarray:
        """Frames ``[start, start + length)`` as ``[channels, length]``, zeros outside."""
        return take(lambda first, count: self._read(first, count, dtype), self.frames,
                    self.channels, start, length, dtype)

    def _read(self, first: int, count: int, dtype: str) -> np.ndarray:
        raise NotImplementedError

    def blocks(self, exact: bool = False) -> Iterator[np.ndarray]:
        """The whole audio as consecutive ``[channels, n]`` blocks (``exact``: in
        ``exact_dtype``, else float32)."""
        raise NotImplementedError


class ArraySource(Source):
    """``audio [channels, frames]`` float32 in memory (one block)."""

    def __init__(self, audio: np.ndarray, sample_rate: int) -> None:
        self.audio, self.sample_rate = audio, int(sample_rate)
        self.channels, self.frames = audio.shape

    def _read(self, first: int, count: int, dtype: str) -> np.ndarray:
        return self.audio[:, first:first + count]

    def blocks(self, exact: bool = False) -> Iterator[np.ndarray]:
        yield self.audio


class FileSource(Source):
    """An audio file read through :mod:`restore.io` (any format it decodes)."""

    def __init__(self, path: Path) -> None:
        self.path, self.info = Path(path), io.read_info(path)
        self.sample_rate, self.channels, self.frames = (self.info.sample_rate,
                                                        self.info.channels, self.info.frames)
        self.exact_dtype = "float64" if self.info.subtype in EXACT_SUBTYPES else "float32"

    def _read(self, first: int, count: int, dtype: str) -> np.ndarray:
        return io.load(self.path, first, count, dtype=dtype)[0]

    def blocks(self, exact: bool = False) -> Iterator[np.ndarray]:
        yield from io.iter_blocks(self.path, max(4096, int(BLOCK_SECONDS * self.sample_rate)),
                                  dtype=self.exact_dtype if exact else "float32")


class ArraySink:
    """Collects output blocks in memory; :meth:`result` is ``[channels, frames]`` float32."""

    path = None  # nothing to name in errors

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    @contextlib.contextmanager
    def open(self, sample_rate: int, channels: int, *, like: Source | None = None,
             frames: int | None = None, inputs: Iterable[Path] = ()) -> Iterator[ArraySink]:
        yield self

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block)

    def result(self) -> np.ndarray:
        return np.concatenate(self.blocks, axis=1).astype(np.float32)


class FileSink:
    """Writes output blocks to ``path`` through :class:`restore.io.AudioWriter` (atomic, the
    input's format; ``writer_options`` as it takes them). Integer formats would wrap what
    passes full scale, so there it is clipped and counted in ``over_full_scale``."""

    def __init__(self, path: Path, **writer_options: object) -> None:
        self.path, self.options = Path(path), writer_options
        self.over_full_scale = 0
        self._writer: io.AudioWriter | None = None

    @contextlib.contextmanager
    def open(self, sample_rate: int, channels: int, *, like: Source | None = None,
             frames: int | None = None, inputs: Iterable[Path] = ()) -> Iterator[FileSink]:
        info = like.info if isinstance(like, FileSource) else None
        with io.AudioWriter(self.path, sample_rate, channels, like=info, frames=frames,
                            inputs=list(inputs), **self.options) as writer:
            self._writer = writer
            yield self

    def write(self, block: np.ndarray) -> None:
        subtype = self._writer.subtype
        if not ("FLOAT" in subtype or "DOUBLE" in subtype):
            self.over_full_scale += int(np.count_nonzero(np.abs(block) > 1.0))
            block = np.clip(block, -1.0, 1.0)
        self._writer.write(block)


Sink = ArraySink | FileSink
