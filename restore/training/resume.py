"""Starting a run, or continuing one from its exact state or from the compact one."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from restore.checkpoint import load_model
from restore.config import TASK_ID, RunConfig, to_dict
from restore.errors import ModelError, RestoreError
from restore.training.state import (
    MODEL_FILE,
    RESUME_FILE,
    STATE_FILE,
    load_compact,
    load_state,
    restore_state,
)


def resume_or_start(out_dir: Path, resume: bool, run: RunConfig, *, network, ema, optimizer,
                    scheduler, device) -> tuple[int, dict[str, Any]]:
    """Returns ``(step, extra)``: 0 and {} for a fresh run.

    With ``resume``: ``train_state.pt`` gives an exact continuation; without it, the compact
    ``resume.safetensors`` + ``model.safetensors`` (small enough to carry between machines)
    restore weights, EMA, step and learning rate, with fresh optimizer moments.
    """
    state_path, compact_path = out_dir / STATE_FILE, out_dir / RESUME_FILE
    if (state_path.exists() or compact_path.exists()) and not resume:
        raise RestoreError(out_dir, "run directory already holds a training run: pass "
                           "--resume to continue it or choose another --out")
    if state_path.exists():
        path, reader = state_path, load_state
    elif resume and compact_path.exists():
        path, reader = compact_path, load_compact
    else:
        return 0, {}
    try:
        state = reader(path, device)
    except (OSError, RuntimeError, ValueError) as error:
        raise RestoreError(path, f"cannot read training state: {error}") from None
    saved = RunConfig.from_json_dict(state["run_config"])
    if (saved.model, saved.diffusion) != (run.model, run.diffusion):
        raise RestoreError(path, "the config's model/diffusion sections differ from the run "
                           "being resumed")
    if path == state_path:
        step = restore_state(state, network=network, ema=ema, optimizer=optimizer,
                             scheduler=scheduler)
        return step, {**state["extra"], "exact": True}
    return _restore_compact(out_dir, state, network, ema, scheduler)


def _restore_compact(out_dir: Path, state, network, ema, scheduler):
    try:
        ema_weights = load_model(out_dir / MODEL_FILE).denoiser.network.state_dict()
    except ModelError as error:
        raise RestoreError(out_dir / MODEL_FILE, f"compact resume needs the run's EMA model: "
                           f"{error.reason}") from None
    network.load_state_dict({name: tensor.float() if tensor.is_floating_point() else tensor
                             for name, tensor in state["network"].items()})
    ema.network.load_state_dict(ema_weights)
    step = state["step"]
    scheduler.last_epoch = step - 1
    with warnings.catch_warnings():  # "scheduler.step() before optimizer.step()": intended
        warnings.simplefilter("ignore")
        scheduler.step()  # sets the learning rate of step `step`
    return step, {**state["extra"], "exact": False}


def initialise_from(path: Path, run: RunConfig, *, network, ema) -> dict[str, Any]:
    """Start a fresh run from a trained model's (EMA) weights, e.g. the shipped default.

    The model file must have the run's architecture, except that the run may know more tasks
    (task ids are only ever appended): the new rows of the task embedding start as copies of the
    inpainting row, the nearest existing task (declick and declip fill masked samples too).
    Network and EMA both start at the given weights; optimizer and schedule start fresh.
    Returns what the model card should remember: the base model's steps, clips seen, data.
    """
    try:
        base = load_model(path)
    except ModelError as error:
        raise RestoreError(path, f"--init-from: {error.reason}") from None
    old, new = to_dict(base.config), to_dict(run.model)
    if {**old, "num_tasks": 0} != {**new, "num_tasks": 0} or old["num_tasks"] > new["num_tasks"]:
        raise RestoreError(path, "--init-from: the model's architecture differs from the config's "
                           "(only more tasks are allowed)")
    weights = base.denoiser.network.state_dict()
    table = network.state_dict()["embedding.task.weight"].clone()
    known = weights["embedding.task.weight"]
    table[: known.shape[0]] = known
    table[known.shape[0]:] = known[TASK_ID["inpaint"]]
    weights["embedding.task.weight"] = table
    weights = {name: tensor.float() for name, tensor in weights.items()}
    network.load_state_dict(weights)
    ema.network.load_state_dict(weights)
    card = base.card
    return {"init_from": {"path": str(path), "sha256": base.sha256, "steps": card.get("steps"),
                          "samples_seen": card.get("samples_seen", 0), "tasks": card.get("tasks"),
                          "training_data": card.get("training_data", [])}}
