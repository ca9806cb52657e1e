"""Corpus building from a folder of synthetic files: splits, loudness, skips, dedup, resume."""

from __future__ import annotations

import shutil

import pyloudnorm
import pytest

from data_prep import shards
from data_prep.corpus import SplitShares, build_corpus
from data_prep.dataset import ClipDataset
from data_prep.processing import ClipOptions
from data_prep.sources import folder_tracks

OPTIONS = ClipOptions(clip_seconds=1.0)
SHARES = SplitShares(valid=0.3, test=0.3)


@pytest.fixture
def built(tmp_path, make_sources):
    make_sources(tmp_path / "audio")
    tracks = folder_tracks(tmp_path / "audio", "test-licence")
    manifest = build_corpus(tracks, tmp_path / "corpus", OPTIONS, shares=SHARES,
                            shard_seconds=5.0)
    return tmp_path, manifest


def test_manifest_and_split_integrity(built):
    tmp_path, manifest = built
    assert manifest["complete"]
    split_of_track: dict[str, str] = {}
    for clip in manifest["clips"]:
        assert split_of_track.setdefault(clip["track"], clip["split"]) == clip["split"]
        assert clip["licence"] == "test-licence" and clip["frames"] == 48_000
    assert len(set(split_of_track.values())) >= 2
    for shard in manifest["shards"]:  # offsets tile each shard exactly
        clips = [c for c in manifest["clips"] if c["shard"] == shard["file"]]
        assert sum(c["frames"] for c in clips) == shard["frames"]
        audio = shards.load_shard(tmp_path / "corpus" / shard["file"])
        assert len(audio) == shard["frames"] <= 5 * 48_000  # shard_seconds respected
    assert shards.read_manifest(tmp_path / "corpus")["clips"] == manifest["clips"]


def test_loudness_within_half_lu_of_target(built):
    tmp_path, manifest = built
    meter = pyloudnorm.Meter(48_000)
    for clip in manifest["clips"]:
        audio = shards.load_shard(tmp_path / "corpus" / clip["shard"])
        piece = audio[clip["offset"]:clip["offset"] + clip["frames"]] / 32768.0
        assert abs(meter.integrated_loudness(piece) - clip["target_lufs"]) <= 0.5
    targets = {clip["target_lufs"] for clip in manifest["clips"]}
    assert len(targets) > 1 and all(-26.0 <= t <= -20.0 for t in targets)


def test_corrupt_source_skipped_and_duplicates_dropped(built):
    _, manifest = built
    assert manifest["skipped_count"] == 1
    assert manifest["skipped"][0]["track"].endswith("broken.wav")
    assert manifest["duplicates_dropped"] > 0
    copies = [c for c in manifest["clips"] if "copy-of-track1" in c["track"]]
    originals = [c for c in manifest["clips"] if c["track"].endswith("/track1.wav")]
    assert not (copies and originals)


def test_resume_skips_finished_tracks(tmp_path, make_sources):
    make_sources(tmp_path / "audio", count=4)
    tracks = [t for t in folder_tracks(tmp_path / "audio", "x") if "/track" in t.track]
    first = build_corpus(tracks[:3], tmp_path / "corpus", OPTIONS, shares=SHARES)
    shutil.move(tmp_path / "audio" / "track0.wav", tmp_path / "gone.wav")
    second = build_corpus(tracks, tmp_path / "corpus", OPTIONS, shares=SHARES)
    assert tracks[0].track.endswith("track0.wav") and not second["skipped"]  # not re-read
    assert second["clips"][: len(first["clips"])] == first["clips"]
    assert {c["track"] for c in second["clips"]} > {c["track"] for c in first["clips"]}
    with pytest.raises(Exception, match="other settings"):
        build_corpus(tracks, tmp_path / "corpus", ClipOptions(clip_seconds=2.0))


def test_dataset_reads_built_corpus(built):
    tmp_path, manifest = built
    split = manifest["clips"][0]["split"]
    crop = next(iter(ClipDataset(tmp_path / "corpus", split, clip_samples=24_000, seed=0)))
    assert crop.shape == (1, 24_000) and crop.abs().max() > 0


def test_cli_warns_about_skipped_sources(tmp_path, make_sources):
    from click.testing import CliRunner

    from data_prep.__main__ import main

    make_sources(tmp_path / "audio", count=2)
    result = CliRunner().invoke(main, ["corpus", "--out", str(tmp_path / "corpus"), "--folder",
                                       str(tmp_path / "audio"), "--clip-seconds", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "warning: skipped audio/broken.wav" in result.output
    assert shards.read_manifest(tmp_path / "corpus")["skipped_count"] == 1
