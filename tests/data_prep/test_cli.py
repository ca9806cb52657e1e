"""python -m data_prep: one-line errors for bad input, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it


def run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "data_prep", *arguments], capture_output=True,
                          text=True, timeout=120)


def test_stats_of_a_folder_without_corpus(tmp_path):
    result = run("stats", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == (f"data_prep: error: {tmp_path / 'manifest.json'}: no corpus "
                                      "manifest here (build one with python -m data_prep corpus)")


def test_corpus_from_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("corpus", "--out", str(tmp_path / "out"), "--folder", str(tmp_path / "empty"))
    assert result.returncode == 2 and "no source tracks found" in result.stderr
    assert "Traceback" not in result.stderr
