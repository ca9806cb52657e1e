"""A tiny bundle made here and rendered as the GPU machine would (tinysoundfont)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_prep import bundle, shards
from data_prep.dataset import ClipDataset

for module in ("music21", "mido", "tinysoundfont"):  # the data extra
    pytest.importorskip(module)
if not bundle.SF3.exists():
    pytest.skip(f"no {bundle.SF3} (apt package {bundle.SF3_PACKAGE})", allow_module_level=True)


@pytest.mark.slow
def test_make_and_render_tiny_bundle(tiny_corpus, tmp_path):
    description = bundle.make_bundle(tmp_path / "bundle", tiny_corpus, scores=1, variants=2,
                                     recordings_mib=0.5)
    assert len(description["midi"]) == 2
    assert description["midi"][0]["group"] == description["midi"][1]["group"]
    size = sum(p.stat().st_size for p in Path(tmp_path / "bundle").rglob("*") if p.is_file())
    assert size < 60 * 2**20
    manifest = bundle.render_bundle(tmp_path / "bundle", tmp_path / "corpus")
    rendered = [c for c in manifest["clips"] if c["source"] == "music21+tinysoundfont"]
    recorded = [c for c in manifest["clips"] if c["source"] != "music21+tinysoundfont"]
    assert rendered and recorded
    assert len({c["split"] for c in rendered}) == 1  # both variants of a score: one split
    assert any(s["file"].endswith(".npy") for s in manifest["shards"])
    assert shards.read_manifest(tmp_path / "corpus")["recordings_merged"]
    split = rendered[0]["split"]
    crop = next(iter(ClipDataset(tmp_path / "corpus", split, 48_000, seed=0)))
    assert crop.abs().max() > 0.001
