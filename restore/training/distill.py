"""Progressive distillation (Salimans & Ho 2022, "Progressive Distillation for Fast Sampling of
Diffusion Models", Algorithm 2) in EDM's terms: a student learns to do in one deterministic
Euler (DDIM) step what its teacher does in two, on nested noise grids
(:func:`restore.diffusion.sampling.get_sigmas_nested`). Repeating it with the student as the
next teacher halves the sampler steps each time. docs/model.md, "Distillation", says how to run it.

The student starts from the teacher's weights (``restore train --init-from``) and trains with
the usual loss (:meth:`restore.diffusion.Denoiser.loss`), the teacher's two-step result
standing in for the clean target.
"""

from __future__ import annotations

import torch

from restore.diffusion import Denoiser
from restore.diffusion.sampling import Projection, get_sigmas_nested

TEACHER_SAMPLERS = ("euler", "heun", "dpmpp_2m")


class Distillation:
    """Noise levels and targets of a student of ``student_steps`` steps (Euler, nested grid).

    ``teacher`` is a frozen :class:`Denoiser`; it takes ``teacher_sampler`` steps on the grid
    of ``2 * student_steps``: "euler", as every distilled student samples; "heun", EDM's
    second-order steps; or "dpmpp_2m", DPM-Solver++(2M), whose second step extrapolates from
    the first's clean estimate (the product's default sampler, for a first stage whose teacher
    is best sampled that way: docs/model.md, "Distillation").
    ``compile``: the targets' teacher calls go through ``torch.compile`` (``teacher`` itself
    stays as given: validation samples it). ``final_sigma_min``: the teacher's grid ends at
    ``sigma_min`` and a last denoise there instead of stepping to 0 (as the Karras grid the
    product samples on does), and the student's last step learns all three calls' result;
    the student keeps its plain nested grid of ``student_steps`` calls.
    """

    def __init__(self, teacher: Denoiser, student_steps: int, teacher_sampler: str = "euler",
                 compile: bool = False, final_sigma_min: bool = False) -> None:
        if student_steps < 1:
            raise ValueError("student_steps must be >= 1")
        if teacher_sampler not in TEACHER_SAMPLERS:
            raise ValueError(f"teacher_sampler must be one of {TEACHER_SAMPLERS}, "
                             f"got {teacher_sampler!r}")
        config = teacher.config
        self.teacher = teacher.eval().requires_grad_(False)  # as loaded: validation samples it
        # the targets' calls, compiled on CUDA like the student (parameters shared)
        self.compiled = Denoiser(torch.compile(teacher.network), config) if compile else teacher
        self.student_steps = int(student_steps)
        self.sampler = teacher_sampler
        self.heun = teacher_sampler == "heun"
        self.grid = get_sigmas_nested(2 * student_steps, config.sigma_min, config.sigma_max,
                                      config.rho)
        self.final_sigma_min = bool(final_sigma_min)
        self.sigma_min = float(config.sigma_min)

    @property
    def teacher_grid(self) -> torch.Tensor:
        """The noise levels the teacher samples on: ``grid``, or with ``final_sigma_min``
        ``grid`` with ``sigma_min`` before its final 0."""
        if not self.final_sigma_min:
            return self.grid
        return torch.cat([self.grid[:-1], self.grid.new_tensor([self.sigma_min, 0.0])])

    def to(self, device: torch.device) -> Distillation:
        self.teacher.to(device)
        self.grid = self.grid.to(device)
        return self

    @torch.no_grad()
    def targets(self, clean: torch.Tensor, noise: torch.Tensor, generator: torch.Generator,
                project: Projection | None, conditioning: dict[str, torch.Tensor],
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sigma [batch], target [batch, 1, time])`` for a student step from ``sigma``.

        Each item gets one of the student's steps, uniformly; ``x = clean + sigma * noise`` is
        its noisy input. The teacher takes two steps from ``x`` (``sigma -> s1 -> s2``, its
        clean estimates projected onto the known data as in sampling), and the target is
        the clean estimate that takes the student from ``x`` to the same ``x2`` in one step:
        ``x2 = D + (s2 / sigma) (x - D)``, solved for ``D`` (Algorithm 2's x-target).
        """
        batch = clean.shape[0]
        step = torch.randint(self.student_steps, (batch,), generator=generator,
                             device=generator.device).to(clean.device)
        sigma, middle, end = (self.grid[2 * step + k] for k in range(3))
        x = clean + noise * sigma[:, None, None]
        # the teacher's own end of this step: sigma_min instead of 0 with final_sigma_min
        stop = torch.where(end > 0, end, self.sigma_min) if self.final_sigma_min else end
        if self.sampler == "dpmpp_2m":
            current = self._dpmpp_2m(x, sigma, middle, stop, project, conditioning)
        else:
            current = x
            for now, after in ((sigma, middle), (middle, stop)):
                current = self._step(current, now, after, project, conditioning)
        if self.final_sigma_min:  # the denoise at sigma_min (a call for every item: one graph)
            last = self._denoise(current, stop, project, conditioning)
            current = torch.where(end[:, None, None] > 0, current, last)
        ratio = (end / sigma)[:, None, None]
        return sigma, (current - ratio * x) / (1 - ratio)

    def _denoise(self, x, sigma, project, conditioning) -> torch.Tensor:
        denoised = self.compiled(x, sigma, **conditioning).float()
        return project(denoised) if project is not None else denoised

    def _step(self, x, sigma, after, project, conditioning) -> torch.Tensor:
        """One teacher step ``sigma -> after`` per item: Euler (DDIM in sigma), or Heun with an
        Euler last step to 0 (EDM Algorithm 1)."""
        now, then = sigma[:, None, None], after[:, None, None]
        slope = (x - self._denoise(x, sigma, project, conditioning)) / now
        euler = x + (then - now) * slope
        if not self.heun:
            return euler
        safe = torch.where(after > 0, after, sigma)  # the last step's second call is unused
        second = (euler - self._denoise(euler, safe, project, conditioning)) / safe[:, None, None]
        return torch.where(then > 0, x + (then - now) * (slope + second) / 2, euler)

    def _dpmpp_2m(self, x, sigma, middle, end, project, conditioning) -> torch.Tensor:
        """Two DPM-Solver++(2M) steps ``sigma -> middle -> end`` per item, as
        :func:`restore.diffusion.sampling.sample_dpmpp_2m` takes them from ``x`` with no
        history: the first is DPM-Solver++(1S) (= Euler), the second extrapolates the clean
        estimate from both calls' (Lu et al. 2022, Alg. 2); a step to 0 ends on the estimate."""
        first = self._denoise(x, sigma, project, conditioning)
        now, mid = sigma[:, None, None], middle[:, None, None]
        x_mid = first + (mid / now) * (x - first)
        second = self._denoise(x_mid, middle, project, conditioning)
        safe_end = torch.where(end > 0, end, middle / 2)[:, None, None]  # unused where end == 0
        r = torch.log(now / mid) / torch.log(mid / safe_end)  # previous step / this step (lambda)
        estimate = (1 + 1 / (2 * r)) * second - (1 / (2 * r)) * first
        x_end = (safe_end / mid) * x_mid + (1 - safe_end / mid) * estimate
        return torch.where(end[:, None, None] > 0, x_end, second)
