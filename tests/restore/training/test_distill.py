"""Progressive distillation: nested grids, the student's target, a distillation run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from restore.checkpoint import load_model
from restore.config import DiffusionConfig
from restore.diffusion import Denoiser
from restore.diffusion.sampling import SAMPLERS, get_sigmas_karras, get_sigmas_nested
from restore.errors import RestoreError
from restore.training.distill import Distillation
from restore.training.loop import TrainOptions, train
from tests.restore.training.test_train import factory, tiny_run


def test_nested_grids_halve_exactly():
    for steps in (1, 2, 4, 8):
        coarse = get_sigmas_nested(steps, 0.002, 20.0)
        fine = get_sigmas_nested(2 * steps, 0.002, 20.0)
        assert len(coarse) == steps + 1 and coarse[-1] == 0 and coarse[0] == pytest.approx(20.0)
        assert torch.allclose(coarse, fine[::2])
        assert torch.all(coarse[:-1] > coarse[1:])
    # the Karras grid ends at sigma_min before 0, the nested one does not: not the same schedule
    assert not torch.allclose(get_sigmas_nested(8, 0.002, 20.0), get_sigmas_karras(8, 0.002, 20.0))


class _Nonlinear(torch.nn.Module):
    """A stand-in denoiser network: any fixed non-linear function of x and sigma will do."""

    def forward(self, x, c_noise, **conditioning):
        return torch.tanh(3 * x) * (1 + c_noise[:, None, None]) + conditioning["degraded"]


@pytest.mark.parametrize("final_sigma_min", [False, True])
@pytest.mark.parametrize("sampler", ["euler", "heun", "dpmpp_2m"])
def test_one_student_step_to_the_target_lands_where_two_teacher_steps_land(sampler,
                                                                          final_sigma_min):
    teacher = Denoiser(_Nonlinear(), DiffusionConfig())
    distillation = Distillation(teacher, student_steps=4, teacher_sampler=sampler,
                                final_sigma_min=final_sigma_min)
    clean = torch.randn(16, 1, 64, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(16, 1, 64, generator=torch.Generator().manual_seed(1))
    degraded = 0.1 * clean
    known = torch.zeros(1, 1, 64)
    known[..., :16] = 1

    def project(estimate):  # the first 16 samples are known, as in inpainting
        return estimate * (1 - known) + 0.1 * known
    sigma, target = distillation.targets(clean, noise, torch.Generator().manual_seed(2), project,
                                         {"degraded": degraded})
    grid, teacher_grid = distillation.grid.tolist(), distillation.teacher_grid.tolist()
    assert {grid.index(value) % 2 for value in sigma.tolist()} == {0}  # student levels only
    assert 0.0 in [grid[grid.index(value) + 2] for value in sigma.tolist()]  # a last step drawn
    for item in range(16):
        start = grid.index(sigma[item].item())
        end = grid[start + 2]
        # the teacher's own levels: with final_sigma_min a last step ends on sigma_min and a
        # denoise there (three calls), as the teacher samples on its grid
        levels = teacher_grid[start:start + (4 if end == 0 and final_sigma_min else 3)]
        x = clean[item:item + 1] + noise[item:item + 1] * sigma[item]
        teacher_steps = SAMPLERS[sampler](teacher, x, torch.tensor(levels),
                                          extra_args={"degraded": degraded[item:item + 1]},
                                          project=project)
        one_step = target[item] + end / grid[start] * (x[0] - target[item])
        # the sampler projects its last result once more
        assert torch.allclose(project(one_step), teacher_steps[0], atol=1e-5)
    if final_sigma_min:
        assert teacher_grid[-2:] == [pytest.approx(0.002), 0.0] and teacher_grid[:-2] == grid[:-1]


def test_the_loss_trains_towards_the_given_target_under_a_projection():
    # the first GPU run of distillation trained on project(clean) instead: it never learnt
    denoiser = Denoiser(_Nonlinear(), DiffusionConfig())
    generator = torch.Generator().manual_seed(3)
    clean, noise, target = (torch.randn(4, 1, 64, generator=generator) for _ in range(3))
    sigma = torch.tensor([0.1, 0.5, 2.0, 10.0])
    degraded = 0.1 * clean
    known = torch.zeros(1, 1, 64)
    known[..., :16] = 1

    def project(estimate):
        return estimate * (1 - known) + degraded * known
    loss = denoiser.loss(clean, noise, sigma, project=project, target=target, degraded=degraded)
    denoised = project(denoiser(clean + noise * sigma[:, None, None], sigma, degraded=degraded))
    expected = denoiser.loss_weight(sigma) * (denoised - project(target)).square().mean(dim=(1, 2))
    torch.testing.assert_close(loss, expected)
    plain = denoiser.loss(clean, noise, sigma, project=project, degraded=degraded)
    assert not torch.allclose(loss, plain)


def test_a_distillation_run_trains_a_student_that_samples_with_its_own_schedule(tmp_path: Path):
    teacher_run = tiny_run()
    train(teacher_run, factory, TrainOptions(out_dir=tmp_path / "teacher", device="cpu",
                                             max_steps=2))
    teacher_file = tmp_path / "teacher" / "model.safetensors"
    student_diffusion = dataclasses.replace(DiffusionConfig(), default_steps=2,
                                            default_sampler="euler", schedule="nested")
    student_run = dataclasses.replace(
        tiny_run(distill_steps=2, teacher=str(teacher_file), val_every=2, val_steps=2),
        diffusion=student_diffusion)
    train(student_run, factory, TrainOptions(out_dir=tmp_path / "student", device="cpu",
                                             max_steps=2, init_from=teacher_file))
    records = [json.loads(line)
               for line in (tmp_path / "student" / "metrics.jsonl").read_text().splitlines()]
    assert any(record.get("event") == "val" and record["step"] == 2 for record in records)
    # the student's distance to its teacher's samples is validated; plain runs have none
    errors = [record["teacher_error"] for record in records if record.get("event") == "val"]
    assert len(errors) == 2 and all(0 < error < 10 for error in errors)
    teacher_records = (tmp_path / "teacher" / "metrics.jsonl").read_text().splitlines()
    assert not any("teacher_error" in json.loads(line) for line in teacher_records)
    assert all(torch.isfinite(torch.tensor(record["loss"]))
               for record in records if "loss" in record)
    student = load_model(tmp_path / "student" / "model.safetensors")
    assert (student.default_steps, student.default_sampler) == (2, "euler")
    assert student.diffusion.schedule == "nested"
    with pytest.raises(RestoreError, match="teacher"):
        train(tiny_run(distill_steps=2), factory,
              TrainOptions(out_dir=tmp_path / "orphan", device="cpu", max_steps=1))
