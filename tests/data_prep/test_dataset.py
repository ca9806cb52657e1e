"""ClipDataset: crops from a corpus on disk and from tensors, seeding per worker."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from data_prep import shards
from data_prep.dataset import ClipDataset
from restore.errors import RestoreError


def ramp_clips() -> list[torch.Tensor]:
    # distinct values everywhere, so a crop tells where it came from
    return [torch.arange(k * 10_000, k * 10_000 + 5_000).float().view(1, -1) for k in range(3)]


def test_crops_are_contiguous_pieces_of_one_clip():
    dataset = ClipDataset.from_tensors(ramp_clips(), clip_samples=1000, seed=0)
    for crop in itertools.islice(iter(dataset), 200):
        assert crop.shape == (1, 1000) and crop.dtype == torch.float32
        values = crop[0]
        assert torch.all(values[1:] - values[:-1] == 1)  # contiguous
        assert values[0] // 10_000 == values[-1] // 10_000  # inside one clip


def test_seeded_and_endless():
    first = list(itertools.islice(iter(ClipDataset.from_tensors(ramp_clips(), 100, 7)), 3000))
    second = list(itertools.islice(iter(ClipDataset.from_tensors(ramp_clips(), 100, 7)), 3000))
    other = list(itertools.islice(iter(ClipDataset.from_tensors(ramp_clips(), 100, 8)), 10))
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=False))


def test_workers_draw_different_streams():
    dataset = ClipDataset.from_tensors(ramp_clips(), 100, 0)
    loader = DataLoader(dataset, batch_size=4, num_workers=2)
    batches = list(itertools.islice(iter(loader), 2))  # one batch from each worker
    assert not torch.equal(batches[0], batches[1])


def test_clips_too_short():
    with pytest.raises(RestoreError):
        ClipDataset.from_tensors(ramp_clips(), clip_samples=6000, seed=0)


def write_tiny_corpus(folder, suffix: str = ".npy") -> None:
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(48_000) * 3000).astype(np.int16)
    shards.write_shard(folder / f"train-00000{suffix}", audio, 48_000)
    clips = [{"shard": f"train-00000{suffix}", "offset": k * 24_000, "frames": 24_000,
              "split": split, "source": "synthetic", "track": f"t{k}", "licence": "none"}
             for k, split in enumerate(["train", "valid"])]
    manifest = {"format": shards.FORMAT, "version": shards.VERSION, "sample_rate": 48_000,
                "clip_seconds": 0.5, "shards": [], "clips": clips, "skipped": []}
    shards.write_json_atomic(folder / shards.MANIFEST, manifest)


@pytest.mark.parametrize("suffix", [".npy", ".flac"])
def test_reads_corpus_on_disk(tmp_path, suffix):
    write_tiny_corpus(tmp_path, suffix)
    audio = shards.load_shard(tmp_path / f"train-00000{suffix}")
    dataset = ClipDataset(tmp_path, "valid", clip_samples=24_000, seed=0)
    crop = next(iter(dataset))
    expected = torch.from_numpy(audio[24_000:].astype(np.float32) / 32768).view(1, -1)
    assert torch.equal(crop, expected)
    assert dataset.seconds == 0.5


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(RestoreError, match="no corpus manifest"):
        ClipDataset(tmp_path, "train", 100, 0)


def test_ranks_draw_different_streams(monkeypatch):
    dataset = ClipDataset.from_tensors(ramp_clips(), 100, 0)
    monkeypatch.setenv("RANK", "0")
    first = next(iter(dataset))
    monkeypatch.setenv("RANK", "1")
    assert dataset.stream_id() == 1
    assert not torch.equal(first, next(iter(dataset)))


def test_draw_cuts_seeded_crops_and_balances_sources():
    clips = ramp_clips()
    dataset = ClipDataset.from_tensors(clips, 100, 0)
    dataset.clip_sources = ["big", "big", "small"]
    first = dataset.draw(torch.Generator().manual_seed(3), 8)
    assert first.shape == (8, 1, 100)
    assert torch.equal(first, dataset.draw(torch.Generator().manual_seed(3), 8))
    assert torch.all(first[:, 0, 1:] - first[:, 0, :-1] == 1)  # contiguous pieces of one clip
    assert dataset.balance_sources(1.0).source_shares() == pytest.approx({"big": 0.5,
                                                                          "small": 0.5})
    drawn = dataset.draw(torch.Generator().manual_seed(4), 4000)[:, 0, 0] // 10_000
    assert (drawn == 2).float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert dataset.balance_sources(0.0).source_shares()["small"] == pytest.approx(1 / 3)
