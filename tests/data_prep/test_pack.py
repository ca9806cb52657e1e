"""Packing a corpus under a size limit and merging packs back."""

from __future__ import annotations

from data_prep import shards
from data_prep.dataset import ClipDataset
from data_prep.pack import merge_corpora, pack_corpus


def test_pack_then_merge_round_trip(tiny_corpus, tmp_path):
    manifest = shards.read_manifest(tiny_corpus)
    biggest = max((tiny_corpus / s["file"]).stat().st_size for s in manifest["shards"])
    limit = (biggest + 2**20) / 2**20 + 0.01  # room for about one shard per pack
    packs = pack_corpus(tiny_corpus, tmp_path / "packs", max_mib=limit)
    assert len(packs) >= 2
    for pack in packs:
        size = sum(p.stat().st_size for p in pack.iterdir())
        assert size <= limit * 2**20
    merged = merge_corpora(packs, tmp_path / "merged")
    assert shards.split_seconds(merged) == shards.split_seconds(manifest)
    original = {(c["track"], c["start_seconds"]) for c in manifest["clips"]}
    assert {(c["track"], c["start_seconds"]) for c in merged["clips"]} == original
    crop = next(iter(ClipDataset(tmp_path / "merged", "train", 1000, seed=0)))
    assert crop.shape == (1, 1000)
