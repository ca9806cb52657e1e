"""The training tools in tools/: step profiler and loss-curve plot."""

from __future__ import annotations

import dataclasses
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


def test_average_models_writes_the_weighted_mean(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from restore import checkpoint
    from tools.average_models import main

    paths = []
    for seed in (1, 2):
        model = checkpoint.random_model(seed=seed)
        paths.append(checkpoint.save_model(tmp_path / f"m{seed}.safetensors", model.denoiser,
                                           model.config, step=seed, card={"name": f"m{seed}"}))
    out = tmp_path / "mix.safetensors"
    result = CliRunner().invoke(main, [str(paths[0]), str(paths[1]), "--weight", "0.25",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    first, second, mixed = (checkpoint.load_model(path) for path in (*paths, out))
    for key, value in mixed.denoiser.network.state_dict().items():
        expected = 0.75 * first.denoiser.network.state_dict()[key].float() \
            + 0.25 * second.denoiser.network.state_dict()[key].float()
        assert torch.allclose(value.float(), expected, atol=2e-3, rtol=2e-3), key
    assert mixed.card["weight_average"]["weights"] == [0.75, 0.25]
    assert mixed.card["name"] == "m2"

    tiny = ModelConfig.tiny()
    other = checkpoint.random_model(dataclasses.replace(tiny, embed_dim=tiny.embed_dim * 2))
    odd = checkpoint.save_model(tmp_path / "odd.safetensors", other.denoiser, other.config, step=0)
    refused = CliRunner().invoke(main, [str(paths[0]), str(odd), "--out", str(tmp_path / "x")])
    assert refused.exit_code != 0 and "different configs" in refused.output
