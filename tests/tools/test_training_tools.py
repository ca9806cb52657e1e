"""The training tools in tools/: step profiler and loss-curve plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from restore.config import ModelConfig, RunConfig, TrainConfig, to_dict
from tools.profile_step import profile


def test_profile_step_reports_every_stage_on_cpu(tmp_path: Path) -> None:
    run = RunConfig(model=ModelConfig.tiny(), train=TrainConfig(batch_size=2, clip_samples=1024))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model": to_dict(run.model), "train": to_dict(run.train)}))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a busy shared CPU runs tiny convs far faster on one thread
    try:
        result = profile(config, torch.device("cpu"), repeats=1)
    finally:
        torch.set_num_threads(threads)
    for key in ("make_batch_inpaint_s", "make_batch_bandwidth_s", "train_step_plain_s",
                "inference_x_realtime_per_call_plain"):
        assert result[key] > 0, key


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib (a dev extra) is not installed")
    from tools.plot_runs import plot, split_offset

    run = tmp_path / "run"
    run.mkdir()
    (run / "train_log.csv").write_text("step,loss\n10,1.0\n20,0.5\n")
    records = [{"event": "val", "step": 0, "val_loss": 1.0, "lsd_inpaint": 2.0},
               {"event": "val", "step": 20, "val_loss": 0.5, "lsd_inpaint": 1.5}]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    # a run continued by another run that counts its steps from 0 again
    assert split_offset(f"{run}@20") == (run, 20) and split_offset(str(run)) == (run, 0)
    plot([(run, 0), (run, 20)], tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
