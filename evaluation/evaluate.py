"""One evaluation run: cases from a corpus, the model and every baseline, report, listening page."""

from __future__ import annotations

import datetime
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import restore
from evaluation import cases as case_builder
from evaluation.html import write_listening_page
from evaluation.methods import BASELINES, ModelMethod, baseline, has_task_api
from evaluation.repair_cases import load_repair_cases
from evaluation.repair_methods import REPAIR_BASELINES, RepairModelMethod, repair_baseline
from evaluation.report import summarise, write_report
from evaluation.runner import run_methods
from restore import checkpoint
from restore.checkpoint import LoadedModel
from restore.errors import RestoreError
from restore.tasks.repair import model_knows


@dataclass(frozen=True)
class Plan:
    """What to evaluate: how many clips, how long, which conditions (defaults: the full run)."""

    clips: int = 16  # clips of the test split per condition
    clip_seconds: float = 4.0  # length of each clip (data_prep's clips are 4 s; fits a 2 s bridge)
    gap_ms: tuple[float, ...] = case_builder.GAP_MS
    bandwidth_rates: tuple[int, ...] = case_builder.BANDWIDTH_RATES
    mp3: bool = True
    transition_seconds: tuple[float, ...] = case_builder.TRANSITION_SECONDS
    seed: int = 0  # picks the clips, places the gaps, seeds the model's noise
    long_gap_ms: tuple[float, ...] = case_builder.LONG_GAP_MS  # issue 13, on long clips
    long_transition_seconds: tuple[float, ...] = case_builder.LONG_TRANSITION_SECONDS
    long_clip_seconds: float = case_builder.LONG_CLIP_SECONDS  # stretches of consecutive clips
    tasks: tuple[str, ...] | None = None  # only these tasks (None: all)
    conditions: tuple[str, ...] | None = None  # only these conditions (None: all)
    baselines: bool = True  # False: the model only (two models' reports side by side, no bars)

    @classmethod
    def quick(cls) -> Plan:
        """CI-sized: 2 clips of 4 s per condition, every condition."""
        return cls(clips=2, clip_seconds=4.0)


def _selected(plan: Plan, task: str, condition: str) -> bool:
    return ((plan.tasks is None or task in plan.tasks)
            and (plan.conditions is None or condition in plan.conditions))


def plan_cases(plan: Plan, corpus_dir: Path) -> list:
    """The plan's cases after its task and condition filters: 4 s clips, long clips (issue 13)
    and the declip / declick cases (issue 12)."""
    wanted = set(plan.tasks or [*BASELINES, *REPAIR_BASELINES])
    long_conditions = [("inpaint", f"gap_{ms:g}ms") for ms in plan.long_gap_ms]
    long_conditions += [("transition", f"bridge_{s:g}s_long") for s in plan.long_transition_seconds]
    cases = []
    try:
        if wanted & set(BASELINES):
            clips = case_builder.load_test_clips(corpus_dir, plan.clips, plan.clip_seconds,
                                                 plan.seed)
            cases = case_builder.build_cases(
                clips, plan.seed, gap_ms=plan.gap_ms, bandwidth_rates=plan.bandwidth_rates,
                mp3=plan.mp3, transition_seconds=plan.transition_seconds,
            )
        if any(_selected(plan, task, condition) for task, condition in long_conditions):
            long_clips = case_builder.load_long_test_clips(
                corpus_dir, plan.clips, plan.long_clip_seconds, plan.seed)
            cases += case_builder.build_long_cases(
                long_clips, plan.seed, gap_ms=plan.long_gap_ms,
                transition_seconds=plan.long_transition_seconds)
    except ValueError as error:
        raise RestoreError(corpus_dir, str(error)) from None
    if wanted & set(REPAIR_BASELINES):
        cases += load_repair_cases(corpus_dir, plan.clips, plan.clip_seconds, plan.seed)
    cases = [case for case in cases if _selected(plan, case.task, case.condition)]
    if not cases:
        raise RestoreError(corpus_dir, "no case left after the task and condition filters")
    return cases


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_model_for_evaluation(spec: str, device: str) -> LoadedModel | None:
    """``spec``: a model file, ``default`` (the shipped model), ``random`` (untrained tiny) or
    ``none`` (no model: baselines only)."""
    if spec == "none":
        return None
    if spec == "random":
        model = checkpoint.random_model()
        model.denoiser.to(device)
        return model
    return checkpoint.load_model(None if spec == "default" else spec, device=device)


def _meta(model: LoadedModel | None, plan: Plan, steps: Sequence[int], device: str, via: str,
          corpus: Path) -> dict:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "restore_version": restore.__version__,
        "model_id": getattr(model, "model_id", "none"),
        "model_sha256": getattr(model, "sha256", "") or "n/a",
        "model_trained": None if model is None else bool(model.card.get("trained", True)),
        "steps": list(steps),
        "sampler": getattr(model, "default_sampler", "n/a"),
        "model_path": via,
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "machine": f"{platform.machine()} {platform.processor() or ''} "
                   f"({torch.get_num_threads()} torch threads)".strip(),
        "corpus": str(corpus),
        "clips_per_condition": plan.clips,
        "clip_seconds": plan.clip_seconds,
        "long_clip_seconds": plan.long_clip_seconds,
        "tasks": "all" if plan.tasks is None else ",".join(plan.tasks),
        "conditions": "all" if plan.conditions is None else ",".join(plan.conditions),
        "seed": plan.seed,
    }


def _model_method_name(count: int, steps: Sequence[int]) -> str:
    """The report's name of the model run at ``count`` steps: "model", or "model@N" when
    several step counts run."""
    return "model" if len(steps) == 1 else f"model@{count}"


def _repair_methods(task: str, model: LoadedModel | None, steps: Sequence[int], seed: int,
                    device: str, baselines: bool) -> dict:
    """Declip / declick methods: the model only where it knows the task."""
    named = {}
    if model is not None and model_knows(model, task):
        for count in steps:
            named[_model_method_name(count, steps)] = RepairModelMethod(model, count, seed=seed,
                                                                       device=device)
    if baselines:
        named.update({name: repair_baseline(task, name) for name in REPAIR_BASELINES[task]})
    return named


def plan_methods(tasks, model: LoadedModel | None, plan: Plan, steps: Sequence[int], device: str,
                 via: str) -> dict[str, dict[str, Any]]:
    """``{task: {method name: method}}``: the model at each step count (where it knows the
    task) and, unless ``plan.baselines`` is off, every baseline of the task."""
    methods = {}
    for task in sorted(tasks, key=[*BASELINES, *REPAIR_BASELINES].index):
        if task in REPAIR_BASELINES:
            methods[task] = _repair_methods(task, model, steps, plan.seed, device,
                                            plan.baselines)
            continue
        named = {}
        for count in steps:
            named[_model_method_name(count, steps)] = ModelMethod(model, count, seed=plan.seed,
                                                                 device=device, via=via)
        if plan.baselines:
            named.update({name: baseline(task, name) for name in BASELINES[task]})
        methods[task] = named
    return methods


def evaluate(
    model: LoadedModel | None,
    corpus_dir: str | Path,
    out_dir: str | Path,
    *,
    plan: Plan = Plan(),
    steps: Sequence[int] = (),
    device: str = "cpu",
    via: str | None = None,
    callback: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` (a ``LoadedModel``) and every baseline on one set of cases.

    ``model=None`` evaluates the baselines only. ``steps``: sampler step counts to run the model
    at (one "model@N" method each; default the model's own). ``via``: "api" or "generate"
    (default: "api" when the restoration API exists). Writes report.json, report.md,
    index.html, audio/ and spectrograms/ into ``out_dir`` and returns the report dict.
    """
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    device = resolve_device(device)
    via = via or ("api" if has_task_api() else "generate")
    if model is None:
        steps = []
    else:
        steps = list(steps) or [int(model.default_steps)]
    cases = plan_cases(plan, corpus_dir)
    methods = plan_methods({case.task for case in cases}, model, plan, steps, device, via)
    results = run_methods(cases, methods, callback=callback)
    meta = _meta(model, plan, steps, device, via, corpus_dir)
    report = summarise(results, meta)
    write_report(report, out_dir)
    write_listening_page(results, out_dir, meta)
    return report
