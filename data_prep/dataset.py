"""The training Dataset: endless random crops of clean clips from a corpus, held in memory.

Pairs are made from these clips on the training device by :func:`data_prep.pairs.make_batch`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from data_prep import shards
from restore.config import MODEL_RATE
from restore.errors import RestoreError

INT16_SCALE = 1.0 / 32768.0
_DRAWS_PER_ROUND = 1024  # crops drawn per vectorized round


class ClipDataset(IterableDataset):
    """Yields clean clips ``Tensor [1, clip_samples]`` float32 at 48 kHz, forever.

    Every item is a uniformly random crop of a uniformly random stored clip of ``split`` (clips
    shorter than ``clip_samples`` are left out). All the split's shards are loaded once into
    one int16 buffer (about 690 MB for two hours), which DataLoader workers share. Each
    (DDP rank, DataLoader worker) pair draws from its own generator seeded from ``seed``,
    so streams differ between workers and repeat between runs.
    """

    def __init__(self, corpus_dir: str | Path, split: str, clip_samples: int, seed: int) -> None:
        super().__init__()
        manifest = shards.read_manifest(corpus_dir)
        if manifest["sample_rate"] != MODEL_RATE:
            raise RestoreError(corpus_dir, f"corpus rate {manifest['sample_rate']} Hz, "
                               f"expected {MODEL_RATE} Hz")
        clips = [clip for clip in manifest["clips"] if clip["split"] == split]
        names = sorted({clip["shard"] for clip in clips})
        buffers, base = [], {}
        total = 0
        for name in names:
            data = shards.load_shard(Path(corpus_dir) / name)
            base[name] = total
            total += data.shape[0]
            buffers.append(data)
        buffer = torch.from_numpy(np.concatenate(buffers) if buffers else np.zeros(0, np.int16))
        starts = [base[clip["shard"]] + clip["offset"] for clip in clips]
        frames = [clip["frames"] for clip in clips]
        name = f"{corpus_dir}:{split}"
        sources = [clip.get("source", "") for clip in clips]
        self._setup(buffer, INT16_SCALE, starts, frames, clip_samples, seed, name, sources)

    @classmethod
    def from_tensors(
        cls, clips: list[torch.Tensor], clip_samples: int, seed: int
    ) -> ClipDataset:
        """A dataset over in-memory clips ``[1, T]`` (e.g. synthetic audio in tests)."""
        dataset = cls.__new__(cls)
        IterableDataset.__init__(dataset)
        flat = [clip.detach().float().cpu().reshape(-1) for clip in clips]
        starts = np.cumsum([0] + [len(clip) for clip in flat[:-1]]).tolist()
        buffer = torch.cat(flat) if flat else torch.zeros(0)
        dataset._setup(buffer, 1.0, starts, [len(c) for c in flat], clip_samples, seed, "tensors")
        return dataset

    def _setup(self, buffer, scale, starts, frames, clip_samples, seed, name,
               sources=None) -> None:
        if clip_samples < 1:
            raise ValueError(f"clip_samples must be positive, got {clip_samples}")
        sources = sources or [""] * len(starts)
        usable = [(start, count, source)
                  for start, count, source in zip(starts, frames, sources, strict=True)
                  if count >= clip_samples]
        if not usable:
            raise RestoreError(name, f"no clip of at least {clip_samples} samples")
        self.buffer = buffer
        self.scale = scale
        self.clip_starts = torch.tensor([start for start, _, _ in usable], dtype=torch.long)
        self.clip_frames = torch.tensor([count for _, count, _ in usable], dtype=torch.long)
        self.clip_sources = [source for _, _, source in usable]
        self.clip_weights = torch.ones(len(usable), dtype=torch.float64)
        self.clip_samples = int(clip_samples)
        self.seed = int(seed)

    def balance_sources(self, exponent: float) -> ClipDataset:
        """Weight clips for :meth:`draw` so that source ``s`` with ``n_s`` clips gets a share
        of the draws proportional to ``n_s ** (1 - exponent)``: 0 keeps every clip equally
        likely, 1 makes every source equally likely. Small sources of real recordings can so
        weigh more than hours of rendered MIDI. Returns self."""
        counts: dict[str, int] = {}
        for source in self.clip_sources:
            counts[source] = counts.get(source, 0) + 1
        self.clip_weights = torch.tensor(
            [counts[source] ** -float(exponent) for source in self.clip_sources],
            dtype=torch.float64, device=self.clip_starts.device)
        return self

    def source_shares(self) -> dict[str, float]:
        """Expected share of :meth:`draw`'s clips per source."""
        weights = self.clip_weights.cpu()
        total = float(weights.sum())
        shares: dict[str, float] = {}
        for source, weight in zip(self.clip_sources, weights.tolist(), strict=True):
            shares[source] = shares.get(source, 0.0) + weight / total
        return shares

    def to(self, device: torch.device | str) -> ClipDataset:
        """Move the audio and the clip table to ``device`` (e.g. the training GPU, so that
        :meth:`draw` cuts clips there with no host work). Returns self."""
        self.buffer = self.buffer.to(device)
        self.clip_starts = self.clip_starts.to(device)
        self.clip_frames = self.clip_frames.to(device)
        self.clip_weights = self.clip_weights.to(device)
        return self

    def draw(self, generator: torch.Generator, batch: int) -> torch.Tensor:
        """``batch`` random crops ``[batch, 1, clip_samples]`` float32 on the buffer's device.

        Clips are drawn with :meth:`balance_sources`' weights, offsets uniformly; every
        random number comes from ``generator`` (on the buffer's device), so a step's batch is
        a function of the generator's seed alone. No host synchronisation.
        """
        device = self.buffer.device
        picks = torch.multinomial(self.clip_weights, batch, replacement=True,
                                  generator=generator)
        room = (self.clip_frames[picks] - self.clip_samples + 1).double()
        uniform = torch.rand(batch, generator=generator, device=device, dtype=torch.float64)
        starts = self.clip_starts[picks] + (uniform * room).long()
        index = starts[:, None] + torch.arange(self.clip_samples, device=device)
        return (self.buffer[index].float() * self.scale).unsqueeze(1)

    @property
    def seconds(self) -> float:
        """Audio held, in seconds at 48 kHz (clips long enough to crop from)."""
        return float(self.clip_frames.sum()) / MODEL_RATE

    def stream_id(self) -> int:
        """Index of this (DDP rank, DataLoader worker) among all streams."""
        worker = get_worker_info()
        worker_id, workers = (worker.id, worker.num_workers) if worker else (0, 1)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank = torch.distributed.get_rank()
        else:  # torchrun's environment also reaches workers started by spawn
            rank = int(os.environ.get("RANK", "0"))
        return rank * workers + worker_id

    def __iter__(self) -> Iterator[torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.stream_id())
        count = len(self.clip_starts)
        while True:
            picks = torch.randint(count, (_DRAWS_PER_ROUND,), generator=generator)
            room = self.clip_frames[picks] - self.clip_samples + 1
            offsets = (torch.rand(_DRAWS_PER_ROUND, generator=generator, dtype=torch.float64)
                       * room).long()
            for start in (self.clip_starts[picks] + offsets).tolist():
                crop = self.buffer[start:start + self.clip_samples]
                yield (crop.float() * self.scale).unsqueeze(0)
