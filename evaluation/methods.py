"""The methods under comparison: the diffusion model and the classical baselines.

A method maps a :class:`evaluation.cases.Case` to the restored audio ``[channels, frames]`` at
48 kHz, the reference's shape. The model goes through the public Python API
(``restore.inpaint`` / ``restore.upsample`` / ``restore.transition``) when it exists, otherwise
straight through ``restore.diffusion.generate`` on the whole clip (``via`` says which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import restore
from evaluation.cases import Case
from restore import classical
from restore.checkpoint import LoadedModel
from restore.config import MODEL_RATE, TASK_ID
from restore.diffusion import generate

Method = Callable[[Case], np.ndarray]

# Baselines per task, in report order.
BASELINES: dict[str, tuple[str, ...]] = {
    "inpaint": ("zero_fill", "linear", "ar", "neighbour", "similarity"),
    "bandwidth": ("sinc",),
    "transition": ("crossfade", "ar", "neighbour", "similarity"),
}
LONG_FILL_BASELINES = ("neighbour", "similarity")  # issue 13: reusing the recording's own audio


def _gap_mask(case: Case) -> np.ndarray:
    mask = np.zeros(case.reference.shape[-1], dtype=bool)
    start, end = case.region
    mask[start:end] = True
    return mask


def _sides(case: Case) -> tuple[np.ndarray, np.ndarray]:
    start, end = case.region
    return case.degraded[:, :start], case.degraded[:, end:]


def baseline(task: str, name: str) -> Method:
    """The classical method ``name`` for ``task`` as a :data:`Method`."""
    if task == "bandwidth" and name == "sinc":
        return lambda case: classical.sinc_upsample(case.degraded, case.input_rate, MODEL_RATE)
    if task in ("inpaint", "transition"):
        if name == "zero_fill":
            return lambda case: classical.zero_fill(case.degraded, _gap_mask(case))
        if name == "linear":
            return lambda case: classical.linear_interpolate(case.degraded, _gap_mask(case))
        if name == "ar":
            return lambda case: classical.ar_inpaint(case.degraded, _gap_mask(case), MODEL_RATE)
    if task == "transition" and name == "crossfade":
        def crossfade(case: Case) -> np.ndarray:
            a, b = _sides(case)
            bridge = classical.equal_power_bridge(a, b, case.region[1] - case.region[0])
            return np.concatenate([a, bridge, b], axis=1)
        return crossfade
    if task in ("inpaint", "transition") and name in LONG_FILL_BASELINES:
        return long_fill_baseline(task, name)
    raise ValueError(f"no baseline {name!r} for task {task!r}")


def has_task_api() -> bool:
    """True once the restoration API (``restore.inpaint`` etc.) is importable."""
    return all(hasattr(restore, name) for name in ("inpaint", "upsample", "transition"))


@dataclass
class ModelMethod:
    """The diffusion model at ``steps`` sampler steps; the noise seed is fixed per case."""

    model: LoadedModel
    steps: int
    seed: int = 0
    device: str = "cpu"
    via: str = "generate"  # "api": restore.inpaint/upsample/transition; "generate": direct

    def __call__(self, case: Case) -> np.ndarray:
        if self.via == "api":
            return self._through_api(case)
        return self._through_generate(case)

    def _through_api(self, case: Case) -> np.ndarray:
        options = {"model": self.model, "steps": self.steps, "seed": self.seed,
                   "device": self.device}
        if case.task == "inpaint":
            # a hundredth of a sample inside the gap's frame edges: the API rounds seconds
            # outwards, and float seconds of an exact 2.0 s gap would come back 96001 frames
            gap = [((case.region[0] + 0.01) / MODEL_RATE, (case.region[1] - 0.01) / MODEL_RATE)]
            return restore.inpaint(case.degraded, MODEL_RATE, gap, **options)
        if case.task == "bandwidth":
            return restore.upsample(case.degraded, case.input_rate, rate=MODEL_RATE,
                                    cutoff_hz=case.input_band_hz, **options)
        a, b = _sides(case)
        length = (case.region[1] - case.region[0]) / MODEL_RATE
        bridge = restore.transition(a, b, MODEL_RATE, length, bridge_only=True, **options)
        return np.concatenate([a, bridge, b], axis=1)

    def _through_generate(self, case: Case) -> np.ndarray:
        if case.task == "bandwidth":
            degraded = classical.sinc_upsample(case.degraded, case.input_rate, MODEL_RATE)
            mask = np.ones_like(degraded)
        else:
            degraded = case.degraded
            mask = (~_gap_mask(case)).astype(np.float32)[None].repeat(degraded.shape[0], 0)
        channels = degraded.shape[0]
        device = torch.device(self.device)
        generator = torch.Generator(device).manual_seed(self.seed)
        output = generate(
            self.model.denoiser,
            torch.from_numpy(np.ascontiguousarray(degraded))[:, None].to(device),
            torch.from_numpy(np.ascontiguousarray(mask))[:, None].to(device),
            torch.full((channels,), TASK_ID[case.task], dtype=torch.long, device=device),
            torch.full((channels,), float(case.input_band_hz), device=device),
            steps=self.steps,
            sampler=self.model.default_sampler,
            generator=generator,
        )
        return output[:, 0].float().cpu().numpy()


def long_fill_baseline(task: str, name: str) -> Method:
    """Issue 13's baselines: ``neighbour`` (equal-power crossfade of the gap-length audio just
    before and just after the gap or bridge) and ``similarity`` (the segment of the clip whose
    surroundings best match the gap's, pasted; see ``restore.classical.similarity``)."""
    fill = {"neighbour": classical.neighbour_crossfade, "similarity": classical.similarity_copy}[
        name]
    bridge = {"neighbour": classical.neighbour_bridge, "similarity": classical.similarity_bridge}[
        name]
    if task == "inpaint":
        return lambda case: fill(case.degraded, _gap_mask(case), MODEL_RATE)

    def transition(case: Case) -> np.ndarray:
        a, b = _sides(case)
        middle = bridge(a, b, case.region[1] - case.region[0], MODEL_RATE)
        return np.concatenate([a, middle, b], axis=1)
    return transition
