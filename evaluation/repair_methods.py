"""Methods compared on the declip and declick cases.

* ``input``: the degraded clip itself (what doing nothing scores);
* ``restore``: what ``restore declip`` / ``restore declick`` ship with ``--method classical``
  (clip levels measured + A-SPADE; the click detector of :mod:`restore.classical.declick`
  + the click-aware LSAR repair);
* baselines: ``spline`` (declip: the same measured clip levels, a cubic spline through the
  unclipped samples held at the clip level) and ``ar_residual`` (declick: the textbook
  detector of Vaseghi & Rayner, a one-sided AR(32) prediction error per 1024-sample block above
  4 times the block's standard deviation, each detection widened by 4 samples on each side,
  then :func:`restore.classical.ar_inpaint`);
* ``model``: ``restore.declip`` / ``restore.declick`` with ``method="diffusion"``, only when
  the model knows the task.
"""

from __future__ import annotations

import numpy as np

import restore
from evaluation.cases import Case
from restore import classical
from restore.checkpoint import LoadedModel
from restore.classical.ar_blocks import block_autocorrelation, block_filter, levinson
from restore.classical.clip_detect import clipped_mask, detect_clipping
from restore.classical.declick import runs_of
from restore.classical.declip import spline_declip
from restore.config import MODEL_RATE

REPAIR_BASELINES = {"declip": ("input", "restore", "spline"),
                    "declick": ("input", "restore", "ar_residual")}
BASELINE_ORDER, BASELINE_BLOCK = 32, 1024
BASELINE_THRESHOLD = 4.0  # x the block's residual standard deviation
BASELINE_MARGIN = 4  # samples added on each side of a detection


def residual_detector(audio: np.ndarray) -> np.ndarray:
    """``bool [frames]``: the textbook AR-residual detector on ``audio [channels, frames]``
    (any channel flags a sample)."""
    mask = np.zeros(audio.shape[-1], dtype=bool)
    for row in audio.astype(np.float64):
        coefficients = levinson(block_autocorrelation(row, BASELINE_BLOCK, BASELINE_ORDER))
        error = block_filter(row, coefficients, BASELINE_BLOCK)
        blocks = -(-error.shape[0] // BASELINE_BLOCK)
        padded = np.zeros(blocks * BASELINE_BLOCK)
        padded[:error.shape[0]] = error
        deviation = np.repeat(padded.reshape(blocks, -1).std(axis=1), BASELINE_BLOCK)
        mask |= np.abs(error) > BASELINE_THRESHOLD * deviation[:error.shape[0]]
    for start, end in runs_of(mask.copy()):
        mask[max(0, start - BASELINE_MARGIN):end + BASELINE_MARGIN] = True
    return mask


def repair_baseline(task: str, name: str):
    """The method ``name`` of ``REPAIR_BASELINES[task]`` as ``case -> output``."""
    if name == "input":
        return lambda case: case.degraded
    if name == "restore":
        function = restore.declip if task == "declip" else restore.declick
        return lambda case: function(case.degraded, MODEL_RATE, method="classical")
    if task == "declip" and name == "spline":
        def spline(case: Case) -> np.ndarray:
            mask = clipped_mask(case.degraded, detect_clipping(case.degraded))
            return spline_declip(case.degraded, mask)
        return spline
    if task == "declick" and name == "ar_residual":
        return lambda case: classical.ar_inpaint(case.degraded, residual_detector(case.degraded),
                                                 MODEL_RATE)
    raise ValueError(f"no method {name!r} for task {task!r}")


class RepairModelMethod:
    """The model through ``restore.declip`` / ``restore.declick`` (method diffusion)."""

    def __init__(self, model: LoadedModel, steps: int, seed: int = 0,
                 device: str = "cpu") -> None:
        self.model, self.steps, self.seed, self.device = model, steps, seed, device

    def __call__(self, case: Case) -> np.ndarray:
        function = restore.declip if case.task == "declip" else restore.declick
        return function(case.degraded, MODEL_RATE, method="diffusion", model=self.model,
                        steps=self.steps, seed=self.seed, device=self.device)
