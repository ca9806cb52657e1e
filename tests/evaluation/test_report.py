import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluation import cases as case_builder
from evaluation import metrics
from evaluation.evaluate import Plan, evaluate
from restore.checkpoint import random_model
from restore.classical import sinc_upsample
from restore.errors import RestoreError

sys.path.insert(0, str(Path(__file__).parent))
from corpus import synthetic_music, write_corpus  # noqa: E402

RATE = 48000


def test_cases_are_seeded_and_degrade_as_documented():
    clip = synthetic_music(4.0, 0)[None]
    first = case_builder.build_cases([clip], seed=3)
    again = case_builder.build_cases([clip], seed=3)
    assert [c.region for c in first] == [c.region for c in again]
    conditions = [c.condition for c in first]
    assert conditions == ["gap_10ms", "gap_50ms", "gap_100ms", "gap_200ms", "gap_400ms",
                          "gap_800ms", "from_8000Hz", "from_16000Hz", "from_22050Hz",
                          "mp3_44100Hz", "bridge_0.5s", "bridge_1s", "bridge_2s"]
    for case in first:
        if case.task == "bandwidth":
            assert case.degraded.shape[1] == math.ceil(clip.shape[1] * case.input_rate / RATE)
            expected = 16000.0 if case.condition.startswith("mp3") else case.input_rate / 2
            assert case.cutoff_hz == expected and case.input_band_hz < case.cutoff_hz
            # below the input's intact band the sinc baseline is (nearly) exact
            upsampled = sinc_upsample(case.degraded, case.input_rate, RATE)
            assert metrics.lsd_lf(upsampled, clip, RATE, case.input_band_hz) < 0.1
            continue
        start, end = case.region
        assert np.all(case.degraded[:, start:end] == 0)
        np.testing.assert_array_equal(case.degraded[:, :start], clip[:, :start])
        seconds = case.params.get("gap_ms", 0) / 1000 or case.params["seconds"]
        assert end - start == round(seconds * RATE)
        assert 0.2 * clip.shape[1] <= start and end <= 0.8 * clip.shape[1] + 1 or (
            case.task == "transition")


def test_test_clips_come_from_the_test_split_only(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=2, clip_seconds=1.0)
    clips = case_builder.load_test_clips(corpus, 2, 1.0, seed=0)
    test_split = [synthetic_music(1.0, 100 + index) for index in range(2)]  # see corpus.py
    for clip in clips:
        assert clip.shape == (1, RATE) and clip.dtype == np.float32
        errors = [np.max(np.abs(clip[0] - audio)) for audio in test_split]
        assert min(errors) < 1e-4  # 16-bit rounding only
    assert not np.array_equal(clips[0], clips[1])
    with pytest.raises(RestoreError, match="usable"):
        case_builder.load_test_clips(corpus, 3, 1.0, seed=0)


def _finite_numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _finite_numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _finite_numbers(item)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value]
    return []


def _markdown_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


@pytest.mark.slow
def test_report_on_tiny_corpus(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=1, clip_seconds=1.0)
    plan = Plan(clips=1, clip_seconds=0.5, gap_ms=(10,), bandwidth_rates=(16000,), mp3=False,
                transition_seconds=(0.2,), long_gap_ms=(), long_transition_seconds=(),
                tasks=("inpaint", "bandwidth", "transition"))  # declip/declick: test_repair_cases
    out = tmp_path / "report"
    report = evaluate(random_model(), corpus, out, plan=plan, steps=[2], device="cpu")
    for name in ("report.md", "report.json", "index.html"):
        assert (out / name).stat().st_size > 0
    data = json.loads((out / "report.json").read_text())
    assert data == json.loads(json.dumps(report))  # what was returned is what was written
    assert set(data["tasks"]) == {"inpaint", "bandwidth", "transition"}
    inpaint = data["tasks"]["inpaint"]["conditions"]["gap_10ms"]
    assert set(inpaint["values"]) == {"model", "zero_fill", "linear", "ar", "neighbour",
                                      "similarity"}
    assert set(inpaint["versus"]) == {"model vs zero_fill", "model vs linear", "model vs ar",
                                      "model vs neighbour", "model vs similarity",
                                      "model vs better reuse"}
    better = min(inpaint["values"]["neighbour"]["lsd_gap"],
                 inpaint["values"]["similarity"]["lsd_gap"])
    assert inpaint["versus"]["model vs better reuse"]["lsd_gap"]["ratio"] == pytest.approx(
        inpaint["values"]["model"]["lsd_gap"] / better)
    ratio = inpaint["versus"]["model vs ar"]["lsd_gap"]["ratio"]
    assert ratio == pytest.approx(inpaint["values"]["model"]["lsd_gap"]
                                  / inpaint["values"]["ar"]["lsd_gap"])
    numbers = _finite_numbers(data["tasks"])
    assert numbers and all(math.isfinite(n) for n in numbers)
    assert "null" not in json.dumps(data["tasks"])  # no non-finite value was nulled
    speed = data["tasks"]["bandwidth"]["speed"]["model"]
    assert speed["x_realtime"] > 0 and speed["peak_rss_mb"] > 0
    assert len(data["per_case"]) == 6 + 2 + 5  # one case per task x its methods
    bars = data["bars"]  # issue 7's bars that apply to these conditions
    assert {(row["condition"], row["bar"]) for row in bars} == {
        ("gap_10ms", "snr_gap >= ar -1 dB"), ("from_16000Hz", "lsd <= 0.8 x sinc"),
        ("from_16000Hz", "lsd_hf <= 0.7 x sinc"), ("from_16000Hz", "lsd_lf <= 0.1")}
    snr_bar = next(row for row in bars if row["condition"] == "gap_10ms")
    assert snr_bar["threshold"] == pytest.approx(inpaint["values"]["ar"]["snr_gap"] - 1)
    assert snr_bar["passed"] == (inpaint["values"]["model"]["snr_gap"] >= snr_bar["threshold"])
    bars_table, *tables = _markdown_tables((out / "report.md").read_text())
    assert len(bars_table) == 2 + len(bars)
    assert len(tables) == 6 + 7 + 4 + 3  # one per metric per task, plus a speed table per task
    for table in tables:
        assert len({len(row) for row in table}) == 1  # every row has the header's width
        for row in table[2:]:
            for cell in row[1:]:
                assert math.isfinite(float(cell))
    page = (out / "index.html").read_text()
    assert page.count("<audio") == (2 + 6) + (2 + 2) + (2 + 5)
    for reference in (out / "spectrograms").iterdir():
        assert reference.read_bytes()[:4] == b"\x89PNG"
        assert f"spectrograms/{reference.name}" in page
    assert len(list((out / "audio").glob("*.wav"))) == 8 + 4 + 7


@pytest.mark.slow
def test_cli_error_for_a_missing_corpus_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "evaluation", "run", "--model", "random", "--data",
         str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--device", "cpu"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("evaluation: error:") and "manifest" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
