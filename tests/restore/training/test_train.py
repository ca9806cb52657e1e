"""The training loop on CPU: the loss drops, resume is exact, the CLI runs a tiny corpus."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from data_prep.dataset import ClipDataset
from restore.checkpoint import load_model
from restore.config import ModelConfig, RunConfig, TrainConfig
from restore.errors import RestoreError
from restore.training.logs import read_losses
from restore.training.loop import TrainOptions, lr_factor, train

CLIP = 2048


def synthetic_clips(count: int = 4, seconds: float = 0.5) -> list[torch.Tensor]:
    """Harmonic tones with a little noise ``[1, T]``: easy, learnable audio."""
    generator = torch.Generator().manual_seed(0)
    time = torch.arange(int(48_000 * seconds)) / 48_000
    clips = []
    for index in range(count):
        pitch = 110.0 * (index + 1)
        tone = sum(0.3 / k * torch.sin(2 * math.pi * k * pitch * time) for k in (1, 2, 3))
        clips.append((tone + 0.01 * torch.randn(time.shape, generator=generator))[None])
    return clips


def tiny_run(**train_changes) -> RunConfig:
    train_config = TrainConfig(batch_size=4, clip_samples=CLIP, warmup_steps=5, total_steps=60,
                               learning_rate=3e-3, log_every=1, val_every=1000,
                               ckpt_every=3, val_clips=2, val_steps=2,
                               task_weights=(1.0, 0.0, 1.0, 0.0, 0.0))  # bandwidth is slow on CPU
    return RunConfig(model=ModelConfig.tiny(),
                     train=dataclasses.replace(train_config, **train_changes))


def factory(split: str, seed: int) -> ClipDataset:
    return ClipDataset.from_tensors(synthetic_clips(), CLIP, seed)


def test_lr_schedule_warms_up_then_decays_to_the_floor() -> None:
    assert lr_factor(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(100, 10, 100, 0.1) == pytest.approx(0.1)
    assert lr_factor(55, 10, 100, 0.1) == pytest.approx(0.55)


@pytest.mark.slow
def test_tiny_model_learns_in_60_cpu_steps(tmp_path: Path) -> None:
    run = tiny_run(total_steps=60, val_every=60, log_every=10, ckpt_every=60)
    train(run, factory, TrainOptions(out_dir=tmp_path, device="cpu"))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    validation = [r for r in records if r["event"] == "val"]
    assert [r["step"] for r in validation] == [0, 60]
    assert validation[1]["val_loss"] < 0.8 * validation[0]["val_loss"]
    losses = read_losses(tmp_path)
    assert len(losses) == 6 and losses[-1][1] < losses[0][1]
    last_log = [r for r in records if r["event"] == "log"][-1]
    assert math.isfinite(last_log["loss_inpaint"]) and math.isfinite(last_log["loss_transition"])
    assert math.isnan(last_log["loss_bandwidth"])  # weight 0: no bandwidth pairs drawn
    model = load_model(tmp_path / "model.safetensors")
    assert model.card["steps"] == 60 and model.card["validation"]["step"] == 60


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path: Path) -> None:
    run = tiny_run(total_steps=7)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(run, factory, TrainOptions(out_dir=whole, device="cpu"))
    train(run, factory, TrainOptions(out_dir=parts, device="cpu", max_steps=4))  # mid-segment
    assert read_losses(parts)[-1][0] == 4
    train(run, factory, TrainOptions(out_dir=parts, device="cpu", resume=True))
    expected, resumed = dict(read_losses(whole)), dict(read_losses(parts))
    assert sorted(resumed) == list(range(1, 8))
    for step in (5, 6, 7):
        assert resumed[step] == pytest.approx(expected[step], rel=1e-6, abs=1e-9), step
    first = load_file(str(whole / "model.safetensors"))
    second = load_file(str(parts / "model.safetensors"))
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_compact_state_resumes_on_a_fresh_machine(tmp_path: Path) -> None:
    run = tiny_run(total_steps=6)
    train(run, factory, TrainOptions(out_dir=tmp_path, device="cpu", max_steps=4))
    assert (tmp_path / "resume.safetensors").stat().st_size < 16 * 2**20
    (tmp_path / "train_state.pt").unlink()  # what a fresh machine gets: the small files only
    ema_before = load_file(str(tmp_path / "model.safetensors"))
    train(run, factory, TrainOptions(out_dir=tmp_path, device="cpu", resume=True))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    resume = next(r for r in records if r["event"] == "resume")
    assert resume["step"] == 4 and resume["exact"] is False
    assert [step for step, _ in read_losses(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(loss) for _, loss in read_losses(tmp_path))
    ema_after = load_file(str(tmp_path / "model.safetensors"))
    # the EMA continued from the saved one: two more small steps, not a fresh start
    change = max((ema_after[k].float() - ema_before[k].float()).abs().max() for k in ema_after)
    assert 0 < change < 0.05


def test_existing_run_needs_resume_and_matching_model(tmp_path: Path) -> None:
    from restore.errors import RestoreError

    train(tiny_run(total_steps=1), factory, TrainOptions(out_dir=tmp_path, device="cpu"))
    with pytest.raises(RestoreError, match="--resume"):
        train(tiny_run(total_steps=2), factory, TrainOptions(out_dir=tmp_path, device="cpu"))
    other = dataclasses.replace(tiny_run(total_steps=2),
                                model=dataclasses.replace(ModelConfig.tiny(), embed_dim=16))
    with pytest.raises(RestoreError, match="differ"):
        train(other, factory, TrainOptions(out_dir=tmp_path, device="cpu", resume=True))


def test_max_minutes_stops_with_a_checkpoint(tmp_path: Path) -> None:
    train(tiny_run(total_steps=1000), factory,
          TrainOptions(out_dir=tmp_path, device="cpu", max_minutes=0.0))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert records[-1] == {"event": "stop", "step": 0, "reason": "max-minutes"}
    assert (tmp_path / "train_state.pt").exists() and (tmp_path / "model.safetensors").exists()


def test_init_from_a_model_with_fewer_tasks_keeps_its_weights(tmp_path: Path) -> None:
    older = RunConfig(model=dataclasses.replace(ModelConfig.tiny(), num_tasks=3),
                      train=tiny_run(task_weights=(1.0, 0.0, 1.0)).train)
    train(older, factory, TrainOptions(out_dir=tmp_path / "old", device="cpu", max_steps=3))
    base = load_model(tmp_path / "old" / "model.safetensors")
    train(tiny_run(), factory, TrainOptions(out_dir=tmp_path / "new", device="cpu", max_steps=0,
                                            init_from=tmp_path / "old" / "model.safetensors"))
    grown = load_model(tmp_path / "new" / "model.safetensors")
    old_weights = base.denoiser.network.state_dict()
    new_weights = grown.denoiser.network.state_dict()
    table = new_weights.pop("embedding.task.weight")
    assert table.shape[0] == 5
    assert torch.equal(table[:3], old_weights.pop("embedding.task.weight"))
    assert torch.equal(table[3], table[0]) and torch.equal(table[4], table[0])
    assert all(torch.equal(new_weights[name], tensor) for name, tensor in old_weights.items())
    card = json.loads((tmp_path / "new" / "model.json").read_text())
    assert card["samples_seen"] == base.card["samples_seen"] == 3 * 4
    assert card["init_from"]["steps"] == 3


def test_init_from_refuses_another_architecture(tmp_path: Path) -> None:
    other = RunConfig(model=dataclasses.replace(ModelConfig.tiny(), embed_dim=16),
                      train=tiny_run().train)
    train(other, factory, TrainOptions(out_dir=tmp_path / "old", device="cpu", max_steps=1))
    with pytest.raises(RestoreError, match="architecture differs"):
        train(tiny_run(), factory, TrainOptions(out_dir=tmp_path / "new", device="cpu",
                                                init_from=tmp_path / "old" / "model.safetensors"))


def test_fill_level_db_measures_the_masked_part_only():
    from restore.training.validation import fill_level_db

    clean = torch.ones(2, 1, 100)
    mask = torch.ones(2, 1, 100)
    mask[:, :, 40:60] = 0
    restored = clean.clone()
    restored[0, :, 40:60] = 0.5  # 6 dB too quiet in the gap
    restored[1, :, :40] = 9.0  # louder outside the gap: not counted
    levels = fill_level_db(restored, clean, mask)
    assert levels[0].item() == pytest.approx(-6.02, abs=0.01)
    assert levels[1].item() == pytest.approx(0.0, abs=1e-6)


def test_targets_far_louder_than_their_known_audio_are_left_out_of_the_loss():
    from data_prep.pairs import make_batch
    from restore.config import DiffusionConfig
    from restore.diffusion.conditioning import level_scale
    from restore.training.validation import predictable

    config = DiffusionConfig()
    clean = 0.1 * torch.randn(3, 1, 48_000, generator=torch.Generator().manual_seed(0))
    clean[1, :, :20_000] = 0  # sound only late in the clip: a gap over it sees silence
    clean[1, :, 28_000:] = 0
    clean[2] *= 1e-3  # quiet but predictable: the level scale brings it up
    pairs = make_batch(clean, torch.Generator().manual_seed(0), tasks=["inpaint"])
    pairs.mask[1, :, 15_000:35_000] = 0  # the gap holds item 1's only sound
    scale = level_scale(clean * pairs.mask, pairs.mask, config)
    assert predictable(clean / scale, config).tolist() == [1.0, 0.0, 1.0]
