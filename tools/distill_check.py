"""Research: has a distilled student learnt its teacher? Both sample the same training-style
pairs of the corpus's valid split (never the test split) from the same initial noise, Euler
on the nested grid: the student in N steps, the teacher in N and 2N (with
``--teacher-sigma-min``, the teacher's 2N on its grid that ends at sigma_min, as a stage with
``teacher_sigma_min`` trains towards: :attr:`restore.training.distill.Distillation.teacher_grid`).
Prints each output's relative squared error and LSD against the teacher's 2N-step samples (what
the student was trained to reach) and its LSD against the clean audio.

    python -m tools.distill_check corpus runs/distill2/model.safetensors --teacher default --steps 2

docs/model.md, "Distillation", reports its use. The product-path verdict on a student is
`python -m evaluation run` on the test split (issue 14's 3 % bar), not this.
"""

from __future__ import annotations

import click
import torch

from data_prep.dataset import ClipDataset
from data_prep.pairs import make_batch
from restore.checkpoint import LoadedModel, load_model
from restore.diffusion.sampling import get_sigmas_nested
from restore.training.distill import Distillation
from restore.training.validation import Validator, log_spectral_distance, relative_squared_error


def euler_nested(validator: Validator, model: LoadedModel, steps: int) -> torch.Tensor:
    config = model.diffusion
    sigmas = get_sigmas_nested(steps, config.sigma_min, config.sigma_max, config.rho)
    return validator.samples(model.denoiser, "euler", sigmas=sigmas)


@click.command()
@click.argument("corpus")
@click.argument("student_file")
@click.option("--teacher", "teacher_file", default="default",
              help="The teacher's model file ('default': the shipped model).")
@click.option("--steps", default=2, type=int, show_default=True, help="The student's steps.")
@click.option("--clips", default=24, type=int, show_default=True)
@click.option("--clip-samples", default=32768, type=int, show_default=True)
@click.option("--tasks", default="inpaint,bandwidth,transition", show_default=True)
@click.option("--seed", default=0, type=int, show_default=True)
@click.option("--teacher-sigma-min", is_flag=True,
              help="The reference is the teacher's grid ending at sigma_min (teacher_sigma_min).")
def main(corpus, student_file, teacher_file, steps, clips, clip_samples, tasks, seed,
         teacher_sigma_min) -> None:
    torch.set_grad_enabled(False)
    stream = iter(ClipDataset(corpus, "valid", clip_samples, seed))
    clean = torch.stack([next(stream) for _ in range(clips)])
    pairs = make_batch(clean, torch.Generator().manual_seed(seed + 1), tasks=tasks.split(","))
    teacher = load_model(None if teacher_file == "default" else teacher_file)
    student = load_model(student_file)
    validator = Validator(clean, pairs, teacher.diffusion, seed + 2)  # one initial noise for all
    grid = Distillation(teacher.denoiser, steps, final_sigma_min=teacher_sigma_min).teacher_grid
    reference = validator.samples(teacher.denoiser, "euler", sigmas=grid)
    rows = (("teacher", steps, euler_nested(validator, teacher, steps)),
            ("student", steps, euler_nested(validator, student, steps)),
            ("teacher", 2 * steps, reference))
    click.echo(f"{clips} clips of {clip_samples} samples ({tasks}), Euler on the nested grid"
               f"{' (the reference ending at sigma_min)' if teacher_sigma_min else ''}")
    for name, count, output in rows:
        error = relative_squared_error(output, reference)
        click.echo(f"{name} {count} steps: relative squared error to the teacher's {2 * steps} "
                   f"steps {error:.5f}, LSD to them "
                   f"{log_spectral_distance(output, reference).mean().item():.3f}, LSD to the "
                   f"clean audio {log_spectral_distance(output, pairs.clean).mean().item():.3f}")


if __name__ == "__main__":
    main()
