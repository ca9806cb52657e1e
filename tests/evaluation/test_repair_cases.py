"""Declip and declick cases (issue 12): degradations as documented, metrics, bars, a run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.bars import check_bars
from evaluation.cases import Case
from evaluation.evaluate import Plan, evaluate
from evaluation.repair_cases import (
    CLICK_KINDS,
    add_clicks,
    build_repair_cases,
    declip_case,
    load_clips_of_kind,
    score_repair,
)
from evaluation.repair_methods import residual_detector
from evaluation.synthetic import synthetic_music
from tests.evaluation.corpus import write_corpus


def clip(seed: int = 0) -> np.ndarray:
    return synthetic_music(2.0, seed)[None]


@pytest.mark.parametrize("target", [3.0, 7.0])
def test_declip_case_has_the_asked_input_sdr(target):
    case = declip_case(clip(), 0, target, "music")
    values = score_repair(case, case.degraded)
    assert values["sdr"] == pytest.approx(target, abs=0.01)
    assert values["sdr_gain"] == 0.0 and values["unclipped_change"] == 0.0
    assert np.max(np.abs(case.degraded)) == pytest.approx(case.params["level"], rel=1e-6)


def test_unclipped_change_sees_any_touched_sample():
    case = declip_case(clip(), 0, 7.0, "music")
    touched = case.degraded.copy()
    index = np.flatnonzero(np.abs(touched[0]) < 0.5 * case.params["level"])[0]
    touched[0, index] += 1e-4
    assert score_repair(case, touched)["unclipped_change"] == pytest.approx(1e-4, rel=1e-3)


def test_clicks_follow_the_documented_rates_and_peaks():
    reference = np.zeros((1, 48_000 * 20), dtype=np.float32)
    for kind, (per_second, _lengths, (low, high)) in CLICK_KINDS.items():
        damaged, clicks = add_clicks(reference, kind, np.random.default_rng(0))
        assert abs(len(clicks) / 20 - per_second) < 4 * np.sqrt(per_second * 20) / 20
        peaks = np.array([np.max(np.abs(damaged[0, start:end])) for start, end, _ in clicks])
        isolated = peaks <= high + 1e-6  # overlapping clicks may add up
        assert isolated.mean() > 0.9 and peaks[isolated].min() >= low - 1e-6


def test_declick_metrics():
    reference = clip()
    case = Case("declick", "sparse", 0, reference,
                *add_clicks(reference, "sparse", np.random.default_rng(3))[:1],
                params={"clicks": add_clicks(reference, "sparse",
                                             np.random.default_rng(3))[1]})
    untouched = score_repair(case, case.degraded)
    assert untouched["far_change_db"] == -120.0 and untouched["far_damaged"] == 0.0
    assert untouched["clicks_found"] == 0.0 and untouched["snr_gain"] == 0.0
    perfect = score_repair(case, reference)
    assert perfect["clicks_found"] == 1.0 and perfect["far_damaged"] == 0.0
    damaged_far = reference.copy()
    damaged_far[0, :] += 0.01  # every sample changed, far ones too
    assert score_repair(case, damaged_far)["far_damaged"] == 1.0


def test_textbook_detector_flags_a_click():
    audio = clip(4)
    audio[0, 30_000] += 0.5
    mask = residual_detector(audio)
    assert mask[30_000] and mask.sum() < 2000


@pytest.mark.slow
def test_run_reports_the_issue_12_bars(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=2)
    report = evaluate(None, corpus, tmp_path / "report",
                      plan=Plan(clips=1, clip_seconds=2.0, tasks=("declip", "declick")))
    assert set(report["tasks"]) == {"declip", "declick"}
    assert report["tasks"]["declip"]["methods"] == ["input", "restore", "spline"]
    bars = [row for row in report["bars"] if row["task"] in ("declip", "declick")]
    assert bars and {row["method"] for row in bars} == {"restore"}
    exact = [row for row in bars if row["bar"] == "unclipped_change <= 0"]
    assert exact and all(row["passed"] for row in exact)
    json.loads((tmp_path / "report" / "report.json").read_text())
    assert check_bars(report) == report["bars"]


def test_cases_cover_music_and_speech():
    cases = build_repair_cases([clip(0)], [clip(1)], seed=0)
    names = {case.condition for case in cases}
    assert {"music_sdr3dB", "speech_sdr7dB", "sparse", "crackle"} <= names


def test_clips_of_another_split_for_tuning(tmp_path):
    # the cases come from the test split; tuning reads train or valid clips the same way
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=2, clip_seconds=2.0)
    test = load_clips_of_kind(corpus, 2, 2.0, seed=0, speech=False)
    train = load_clips_of_kind(corpus, 2, 2.0, seed=0, speech=False, split="train")
    assert len(test) == len(train) == 2
    assert not any(np.array_equal(a, b) for a in test for b in train)
    assert load_clips_of_kind(corpus, 2, 2.0, seed=0, speech=False, split="valid") == []
