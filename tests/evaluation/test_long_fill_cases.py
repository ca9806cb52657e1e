"""Issue 13's long-fill cases: long clips from consecutive corpus clips, filters, bars."""

import sys
from pathlib import Path

import numpy as np
import pytest

from data_prep import shards
from evaluation import cases as case_builder
from evaluation.bars import check_bars
from evaluation.evaluate import Plan, plan_cases
from evaluation.report import versus_better_reuse
from evaluation.synthetic import synthetic_music
from restore.errors import RestoreError

sys.path.insert(0, str(Path(__file__).parent))
from corpus import write_corpus  # noqa: E402

RATE = 48000


def _track_corpus(folder: Path, tracks: int, clips_per_track: int, clip_seconds: float = 1.0):
    """A test split of ``tracks`` tracks, each cut into consecutive clips (as data_prep does),
    with a break (a dropped clip) in the last track; returns the folder and each track's audio."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = int(clip_seconds * RATE)
    audio = [synthetic_music(clip_seconds * clips_per_track, 7 + index) for index in range(tracks)]
    entries, parts, offset = [], [], 0
    for index, track in enumerate(audio):
        for clip in range(clips_per_track):
            if index == tracks - 1 and clip == 1:
                continue  # a dropped clip: the track is two stretches
            parts.append(track[clip * frames : (clip + 1) * frames])
            entries.append({"shard": "test-00000.npy", "offset": offset, "frames": frames,
                            "split": "test", "source": "synthetic", "track": f"t{index}",
                            "licence": "CC0", "start_seconds": clip * clip_seconds})
            offset += frames
    samples = np.round(np.concatenate(parts) * 32767).astype(np.int16)
    shards.write_shard(folder / "test-00000.npy", samples, RATE)
    manifest = {"format": shards.FORMAT, "version": shards.VERSION, "sample_rate": RATE,
                "clip_seconds": clip_seconds, "clips": entries, "skipped": [],
                "shards": [{"file": "test-00000.npy", "split": "test", "frames": len(samples)}]}
    shards.write_json_atomic(folder / shards.MANIFEST, manifest)
    return folder, audio


def test_long_clips_join_consecutive_clips_of_one_track(tmp_path):
    corpus, audio = _track_corpus(tmp_path / "corpus", tracks=3, clips_per_track=4)
    manifest = shards.read_manifest(corpus)
    stretches = case_builder.contiguous_stretches(manifest["clips"])
    assert [len(stretch) for stretch in stretches] == [4, 4, 1, 2]
    clips = case_builder.load_long_test_clips(corpus, 2, 3.0, seed=0)
    for clip in clips:
        assert clip.shape == (1, 3 * RATE)
        # the middle 3 s of a whole 4 s track, bit for bit up to 16-bit rounding
        errors = [np.abs(clip[0] - track[RATE // 2 : RATE // 2 + 3 * RATE]).max()
                  for track in audio[:2]]
        assert min(errors) < 1e-4
    assert not np.array_equal(clips[0], clips[1])
    with pytest.raises(RestoreError, match="stretches"):
        case_builder.load_long_test_clips(corpus, 3, 3.0, seed=0)  # the third track is broken


@pytest.mark.slow
def test_long_cases_are_seeded_and_leave_the_other_cases_alone():
    clip = synthetic_music(12.0, 1)[None]
    long_cases = case_builder.build_long_cases([clip], seed=0)
    again = case_builder.build_long_cases([clip], seed=0)
    assert [case.region for case in long_cases] == [case.region for case in again]
    assert [case.condition for case in long_cases] == ["gap_1000ms", "gap_2000ms",
                                                       "bridge_1s_long"]
    for case in long_cases[:2]:
        start, end = case.region
        assert 0.2 * clip.shape[1] <= start and end <= 0.8 * clip.shape[1]
        assert end - start == case.params["gap_ms"] * RATE // 1000
    short = synthetic_music(4.0, 1)[None]
    regions = [case.region for case in case_builder.build_cases([short], seed=0)]
    assert regions[:2] == [(135984, 136464), (110249, 112649)]  # as before the long cases


@pytest.mark.slow
def test_plan_filters_tasks_and_conditions(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=2, clip_seconds=4.0)
    plan = Plan(clips=2, tasks=("inpaint",), conditions=("gap_100ms", "gap_400ms"))
    cases = plan_cases(plan, corpus)
    assert {(case.task, case.condition) for case in cases} == {
        ("inpaint", "gap_100ms"), ("inpaint", "gap_400ms")}
    with pytest.raises(RestoreError, match="stretches"):  # 4 s tracks hold no 12 s clip
        plan_cases(Plan(clips=2, conditions=("gap_1000ms",)), corpus)
    with pytest.raises(RestoreError, match="no case"):
        plan_cases(Plan(clips=2, conditions=("gap_3ms",)), corpus)


def test_better_reuse_ratio_and_issue_13_bars():
    values = {"model": {"lsd_gap": 0.9, "snr_gap": 1.0, "join_flux": 0.9},
              "neighbour": {"lsd_gap": 1.5, "snr_gap": -1.0, "join_flux": 1.8},
              "similarity": {"lsd_gap": 1.2, "snr_gap": -2.0, "join_flux": 2.0},
              "ar": {"lsd_gap": 3.0, "snr_gap": 0.5, "join_flux": 0.9}}
    versus = versus_better_reuse(values, list(values))["model vs better reuse"]
    assert versus["lsd_gap"]["ratio"] == pytest.approx(0.9 / 1.2)
    assert versus["snr_gap"]["difference_db"] == pytest.approx(2.0)
    assert versus_better_reuse(values, ["model", "ar"]) == {}
    report = {"tasks": {"inpaint": {"methods": list(values), "conditions": {
        "gap_1000ms": {"values": values}}}}}
    rows = {row["bar"]: row for row in check_bars(report)}
    lsd = rows["lsd_gap <= 0.8 x min(neighbour, similarity)"]
    assert lsd["threshold"] == pytest.approx(0.96) and lsd["passed"]
    assert rows["join_flux <= 1"]["passed"]


def test_no_baselines_runs_the_model_alone():
    from evaluation.evaluate import load_model_for_evaluation, plan_methods

    model = load_model_for_evaluation("random", "cpu")
    tasks = ("inpaint", "bandwidth", "transition", "declip", "declick")
    alone = plan_methods(tasks, model, Plan(baselines=False), [8], "cpu", "api")
    assert {task: list(named) for task, named in alone.items()} == {
        "inpaint": ["model"], "bandwidth": ["model"], "transition": ["model"],
        "declip": ["model"], "declick": ["model"]}
    both = plan_methods(tasks, model, Plan(), [4, 8], "cpu", "api")
    assert all(["model@4", "model@8"] == list(named)[:2] and len(named) > 2
               for named in both.values())
