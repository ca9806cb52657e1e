"""``restore train`` end to end on a tiny synthetic corpus, and its error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from data_prep import shards
from restore.checkpoint import load_model
from restore.cli import cli
from restore.config import ModelConfig, RunConfig, TrainConfig

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it


def synthetic_music(seconds: float, seed: int, rate: int = 48_000) -> np.ndarray:
    """Notes of random pitch with decaying harmonics up to 20 kHz, plus a noise floor."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(seconds * rate))
    note = int(0.25 * rate)
    time = np.arange(note) / rate
    for start in range(0, len(audio) - note, note // 2):
        pitch = 55.0 * 2 ** (rng.integers(0, 48) / 12)
        harmonics = np.arange(1, int(20_000 / pitch) + 1)
        tone = (np.sin(2 * np.pi * pitch * harmonics[:, None] * time + rng.uniform(0, 6, (
            len(harmonics), 1))) / harmonics[:, None] ** 1.2).sum(0)
        audio[start:start + note] += 0.15 * tone * np.exp(-time * rng.uniform(3, 12))
    audio += 0.003 * rng.standard_normal(len(audio))
    return audio / max(1.0, np.abs(audio).max() / 0.9)


def write_synthetic_corpus(corpus: Path, train_seconds: float, valid_seconds: float) -> Path:
    """A corpus folder in data_prep's format (npy shards) holding :func:`synthetic_music`."""
    corpus.mkdir(parents=True, exist_ok=True)
    manifest = {"format": shards.FORMAT, "version": shards.VERSION, "sample_rate": 48_000,
                "clip_seconds": 4.0, "shards": [], "clips": [], "skipped": []}
    for seed, (split, seconds) in enumerate([("train", train_seconds), ("valid", valid_seconds)]):
        samples = (synthetic_music(seconds, seed) * 32767).astype(np.int16)
        name = f"{split}-00000.npy"
        shards.write_shard(corpus / name, samples, 48_000)
        manifest["shards"].append({"file": name, "split": split, "frames": len(samples)})
        clip = 4 * 48_000
        for offset in range(0, len(samples) - clip + 1, clip):
            manifest["clips"].append({"shard": name, "offset": offset, "frames": clip,
                                      "split": split, "track": f"synthetic-{split}"})
    shards.write_json_atomic(corpus / shards.MANIFEST, manifest)
    return corpus


def test_cli_trains_resumes_and_writes_a_loadable_model(tmp_path: Path) -> None:
    corpus = write_synthetic_corpus(tmp_path / "corpus", 8.0, 4.0)
    run = RunConfig(model=ModelConfig.tiny(), train=TrainConfig(
        batch_size=2, clip_samples=2048, log_every=1, val_every=100,
        ckpt_every=2, val_clips=2, val_steps=2, task_weights=(1.0, 0.0, 1.0, 1.0, 1.0)))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(run.to_json_dict()))
    out = tmp_path / "run"
    arguments = ["train", "--data", str(corpus), "--config", str(config), "--out", str(out),
                 "--device", "cpu"]
    result = CliRunner().invoke(cli, [*arguments, "--max-steps", "2"])
    assert result.exit_code == 0, result.output
    assert "trained to step 2" in result.output
    again = CliRunner().invoke(cli, [*arguments, "--max-steps", "3"])
    assert again.exit_code == 1 and "--resume" in again.output
    resumed = CliRunner().invoke(cli, [*arguments, "--max-steps", "3", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    model = load_model(out / "model.safetensors")
    assert model.card["steps"] == 3
    assert len(model.card["training_data"]) == 1
    assert model.card["training_data"][0].startswith("sha256:")
    assert (out / "train_log.csv").read_text().count("\n") == 4  # header + 3 steps


def test_cli_reports_bad_config_and_missing_corpus_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"model": {"no_such_key": 1}}))
    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path), "--config", str(config),
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "bad training config" in result.output and "Traceback" not in result.output
    good = tmp_path / "good.json"
    good.write_text("{}")
    result = CliRunner().invoke(cli, ["train", "--data", str(tmp_path / "none"), "--config",
                                      str(good), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "manifest" in result.output


def test_ctrl_c_writes_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    corpus = write_synthetic_corpus(tmp_path / "corpus", 8.0, 4.0)
    run = RunConfig(model=ModelConfig.tiny(), train=TrainConfig(
        batch_size=2, clip_samples=2048, log_every=1, val_every=10_000,
        ckpt_every=10_000, total_steps=10_000, val_clips=1, val_steps=1,
        task_weights=(1.0, 0.0, 1.0, 1.0, 1.0)))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(run.to_json_dict()))
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "restore", "-q", "train", "--data", str(corpus), "--config",
         str(config), "--out", str(out), "--device", "cpu"],
        env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    log = out / "train_log.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "interrupted" in output
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == "stop" and records[-1]["reason"] == "interrupted"
    assert load_model(out / "model.safetensors").card["steps"] == records[-1]["step"] >= 2
    assert (out / "train_state.pt").exists()


def test_shipped_training_configs_parse() -> None:
    from restore.cli.train import read_run_config

    folder = Path(__file__).resolve().parents[3] / "restore" / "configs"
    default = read_run_config(folder / "default.json")
    assert default.model == ModelConfig() and default.train.bf16
    assert read_run_config(folder / "tiny.json").model == ModelConfig.tiny()
