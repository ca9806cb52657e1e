"""The pairs command: files on disk match the pair description, same seed -> same files."""

from __future__ import annotations

import json

import numpy as np
import soundfile
from click.testing import CliRunner

from data_prep.__main__ import main


def run_pairs(corpus, out, seed):
    result = CliRunner().invoke(main, ["pairs", "--corpus", str(corpus), "--out", str(out),
                                       "--per-clip", "3", "--seed", str(seed), "--split", "train",
                                       "--max-clips", "3", "--codec-share", "0.5", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "pairs.json").read_text())


def test_pairs_files_and_seed(tiny_corpus, tmp_path):
    first = run_pairs(tiny_corpus, tmp_path / "a", seed=3)
    second = run_pairs(tiny_corpus, tmp_path / "b", seed=3)
    assert len(first["pairs"]) == 9 and first == second
    for pair in first["pairs"]:
        clean, _ = soundfile.read(tmp_path / "a" / pair["clean"], dtype="float32")
        degraded, _ = soundfile.read(tmp_path / "a" / pair["degraded"], dtype="float32")
        mask = np.load(tmp_path / "a" / pair["mask"]).astype(bool)
        again, _ = soundfile.read(tmp_path / "b" / pair["degraded"], dtype="float32")
        assert np.array_equal(degraded, again)
        if pair["task"] in ("inpaint", "transition"):
            assert np.all(degraded[~mask] == 0) and np.array_equal(degraded[mask], clean[mask])
        elif pair["task"] == "declip":
            assert np.array_equal(degraded[mask], clean[mask])
            assert np.all(np.abs(degraded[~mask]) <= np.abs(clean[~mask]))
        elif pair["task"] == "declick":
            assert np.all(degraded[~mask] == 0)
        else:
            assert mask.all() and pair["cutoff_hz"] < 24_000
