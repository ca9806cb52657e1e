"""The blind A/B page for transitions between two recordings (``python -m evaluation abpage``)."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from data_prep import shards
from evaluation import __main__ as evaluation_cli
from evaluation.abpage import blind_orders, draw_pairs
from restore import io
from tests.helpers import tiny_model_file

sys.path.insert(0, str(Path(__file__).parent))
from corpus import write_corpus  # noqa: E402


def _run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``python -m evaluation ARGS`` in this process through its entry point (which turns a
    RestoreError into one line); returns the exit status, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["evaluation", *args])
    status = 0
    try:
        evaluation_cli.entry()
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_page_is_blind_and_versions_differ_only_in_the_bridge(tmp_path, monkeypatch, capsys):
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=4, clip_seconds=1.5)
    model = tiny_model_file(tmp_path)
    out = tmp_path / "page"
    status, stdout, stderr = _run(
        monkeypatch, capsys, "abpage", "--model", str(model), "--data", str(corpus),
        "--out", str(out), "--pairs", "2", "--length", "0.5", "--steps", "2", "--device", "cpu")
    assert status == 0, stderr
    key = json.loads((out / "key.json").read_text())
    assert [entry["pair"] for entry in key["pairs"]] == [1, 2]
    for entry in key["pairs"]:
        assert sorted(entry["versions"].values()) == ["crossfade", "model"]
        assert entry["a"]["track"] != entry["b"]["track"]
        start, end = entry["bridge_frames"]
        assert end - start == 24000
        (first, _), (second, _) = (io.load(out / entry["files"][v]) for v in ("1", "2"))
        assert first.shape == second.shape == (1, 72000 + 24000 + 72000)
        assert np.array_equal(first[:, :start], second[:, :start])
        assert np.array_equal(first[:, end:], second[:, end:])
        assert not np.array_equal(first[:, start:end], second[:, start:end])
    page = (out / "index.html").read_text()
    assert page.count("<audio") == 4
    assert set(re.findall(r"<td>(.*?)</td><td><audio", page)) == {"version 1", "version 2"}
    assert not re.search(r"model|crossfade|key\.json|<script", page, re.IGNORECASE)
    assert (out / "answers.csv").read_text().splitlines() == ["pair,preferred,comment", "1,,",
                                                               "2,,"]


def test_pairs_are_seeded_and_from_different_recordings(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", clips_per_split=6, clip_seconds=1.5)
    drawn = draw_pairs(corpus, 3, 1.0, seed=5)
    again = draw_pairs(corpus, 3, 1.0, seed=5)
    ids = [(pair.a_entry["offset"], pair.b_entry["offset"]) for pair in drawn]
    assert ids == [(pair.a_entry["offset"], pair.b_entry["offset"]) for pair in again]
    tracks = [entry["track"] for pair in drawn for entry in (pair.a_entry, pair.b_entry)]
    assert len(set(tracks)) == 6  # no recording in two pairs
    assert drawn[0].case.degraded.shape == (1, 72000 + 48000 + 72000)
    orders = blind_orders(10, seed=0)
    assert orders == blind_orders(10, seed=0)
    assert sum(order == ("model", "crossfade") for order in orders) == 5
    assert set(orders) == {("model", "crossfade"), ("crossfade", "model")}


@pytest.mark.parametrize("problem", ["missing", "one_recording"])
def test_bad_corpus_is_one_error_line(tmp_path, monkeypatch, capsys, problem):
    corpus = tmp_path / "nowhere"
    if problem == "one_recording":
        corpus = write_corpus(tmp_path / "corpus", clips_per_split=4, clip_seconds=1.5)
        manifest = shards.read_manifest(corpus)
        for clip in manifest["clips"]:
            clip["track"] = "one/track"
        shards.write_json_atomic(corpus / shards.MANIFEST, manifest)
    status, _, stderr = _run(monkeypatch, capsys, "abpage", "--model",
                             str(tiny_model_file(tmp_path)), "--data", str(corpus), "--out",
                             str(tmp_path / "page"), "--pairs", "1", "--device", "cpu")
    assert status == 1
    assert len(stderr.strip().splitlines()) == 1
    assert stderr.startswith("evaluation: error:")
    expected = "manifest" if problem == "missing" else "only 1 different recordings"
    assert expected in stderr
    assert not (tmp_path / "page").exists()
