"""The training loop, top to bottom: setup, (resume), step, log, validate, checkpoint, exit.

Exactness of resume: every random draw of step ``k`` (which clips, where they are cut, the
pairs, sigmas and noise) comes from a generator seeded by (seed, rank, k), so a run stopped
and resumed at any step continues exactly as an uninterrupted one.

The training split lives on the training device (``ClipDataset.to``) and clips are cut there
(``ClipDataset.draw``): no DataLoader, no per-step host work beyond launching kernels.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from data_prep.dataset import ClipDataset
from data_prep.pairs import make_batch
from restore.checkpoint import LoadedModel, build_denoiser, load_model, save_model
from restore.config import MODEL_RATE, TASKS, RunConfig
from restore.diffusion import Denoiser
from restore.diffusion.conditioning import known_data_projection, level_scale
from restore.errors import RestoreError
from restore.io.atomic import write_bytes
from restore.training import distributed
from restore.training.distill import Distillation
from restore.training.logs import RunLog
from restore.training.resume import initialise_from, resume_or_start
from restore.training.state import (
    EMA,
    MODEL_FILE,
    RESUME_FILE,
    STATE_FILE,
    save_compact,
    save_state,
    step_generator,
)
from restore.training.validation import Validator, predictable, unknown_fraction

DatasetFactory = Callable[[str, int], ClipDataset]  # (split, seed) -> the split's clips
COMPILE_CACHE_FILE = "compile_cache.bin"  # torch.compile artefacts, carried between machines
STOP_CHECK_EVERY = 10  # steps between the ranks' agreement on stopping (DDP only)


@dataclass(frozen=True)
class TrainOptions:
    """Run-level settings (not part of the model's config)."""

    out_dir: Path  # run directory: model, state, logs
    resume: bool = False  # continue from out_dir's state file if there is one
    max_minutes: float | None = None  # stop (with a checkpoint) after this wall time
    max_steps: int | None = None  # stop (with a checkpoint) at this step
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:N"
    data_id: str = ""  # hash of the training data's manifest, for the model card
    init_from: Path | None = None  # a fresh run starts from this model file's weights


class _Objective(nn.Module):
    """The loss as a module, so that DistributedDataParallel sees the forward pass."""

    def __init__(self, denoiser: Denoiser, spectral_weight: float = 0.0) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.spectral_weight = spectral_weight

    def forward(self, clean, noise, sigma, project, fraction, target=None, **conditioning):
        return self.denoiser.loss(clean, noise, sigma, project=project,
                                  unknown_fraction=fraction, target=target,
                                  spectral_weight=self.spectral_weight, **conditioning)


def lr_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """Linear warm-up to 1, then cosine decay to ``floor`` at ``total`` steps."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def train(run: RunConfig, make_dataset: DatasetFactory, options: TrainOptions,
          callback: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train (or resume) a run; returns the last log record. Checkpoints on every exit path."""
    processes = distributed.start(options.device)
    try:
        return Trainer(run, make_dataset, options, processes, callback).run()
    finally:
        distributed.stop()


class Trainer:
    """One training run on one process (rank) of possibly several."""

    def __init__(self, run, make_dataset, options, processes, callback) -> None:
        self.run_config, self.options, self.processes = run, options, processes
        self.train_config, self.device = run.train, processes.device
        self.callback = callback or (lambda record: None)
        self.make_dataset = make_dataset
        self.out_dir = Path(options.out_dir)
        self.log = RunLog(self.out_dir, processes.is_main)
        self.stop_reason: str | None = None
        self.last_record: dict[str, Any] = {}
        self.last_validation: dict[str, Any] = {}
        self.started = time.monotonic()
        self._build()

    # ---- setup ------------------------------------------------------------------------------
    def _build(self) -> None:
        config = self.train_config
        if len(config.task_weights) > self.run_config.model.num_tasks:
            raise RestoreError(None, f"task_weights name {len(config.task_weights)} tasks, the "
                               f"model has {self.run_config.model.num_tasks}")
        torch.manual_seed(config.seed)  # identical initial weights on every rank
        denoiser = build_denoiser(self.run_config.model, self.run_config.diffusion)
        self.network = denoiser.network.to(self.device)
        self.ema = EMA(self.network, config.ema_decay)
        self.use_cuda = self.device.type == "cuda"
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=config.learning_rate,
                                           betas=tuple(config.betas),
                                           weight_decay=config.weight_decay,
                                           fused=self.use_cuda or None)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: lr_factor(
            step, config.warmup_steps, config.total_steps, config.min_lr_ratio))
        network = self.network
        if self.use_cuda:  # fixed shapes: let cuDNN pick the fastest conv algorithms once
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")  # TF32 for what autocast leaves in fp32
        if config.compile and self.use_cuda:
            self._load_compile_cache()
            network = torch.compile(network)  # parameters stay shared with self.network
        self.denoiser = Denoiser(network, self.run_config.diffusion)
        self.distillation = self._make_distillation() if config.distill_steps else None
        self.teacher_samples: torch.Tensor | None = None  # see _teacher_samples
        objective = _Objective(self.denoiser, config.spectral_weight)
        if self.processes.world > 1:
            ids = [self.device.index] if self.use_cuda else None
            objective = DistributedDataParallel(objective, device_ids=ids)
        self.objective = objective
        if self.processes.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.processes.barrier()
        self.step, resumed = resume_or_start(
            self.out_dir, self.options.resume, self.run_config, network=self.network,
            ema=self.ema, optimizer=self.optimizer, scheduler=self.scheduler, device=self.device)
        self.resumed = {**resumed, "step": self.step} if resumed else {}
        self.lineage = resumed.get("init_from")  # the model this run started from, if any
        if self.step == 0:
            self.log.clear()  # a fresh run does not append to an earlier attempt's logs
            if self.options.init_from is not None:
                self.lineage = initialise_from(self.options.init_from, self.run_config,
                                               network=self.network, ema=self.ema)["init_from"]
        data_ids = list(resumed.get("data_ids", []))
        if self.options.data_id and self.options.data_id not in data_ids:
            data_ids.append(self.options.data_id)
        self.data_ids = data_ids  # every corpus this run has trained on, for the model card
        self.validator = self._make_validator()

    def _make_distillation(self) -> Distillation:
        """The frozen teacher of a distillation run (compiled like the student on CUDA)."""
        config = self.train_config
        if not config.teacher:
            raise RestoreError(None, "distill_steps needs a teacher model file (train.teacher)")
        loaded = load_model(config.teacher, device=self.device)
        if loaded.config.num_tasks < self.run_config.model.num_tasks:
            raise RestoreError(config.teacher, "the teacher knows fewer tasks than the student")
        return Distillation(loaded.denoiser, config.distill_steps, config.teacher_sampler,
                            compile=config.compile and self.use_cuda,
                            final_sigma_min=config.teacher_sigma_min).to(self.device)

    def _make_validator(self) -> Validator:
        config = self.train_config
        try:
            dataset = self.make_dataset("valid", config.seed)
            iterator = iter(dataset)
            clips = [next(iterator) for _ in range(config.val_clips)]
        except RestoreError:  # no validation split: fixed clips from another train stream
            iterator = iter(self.make_dataset("train", config.seed + 7))
            clips = [next(iterator) for _ in range(config.val_clips)]
        clean = torch.stack(clips).to(self.device)
        generator = torch.Generator(self.device).manual_seed(config.seed + 12345)
        # every task the model knows equally, whatever the run's weights: runs stay comparable
        pairs = make_batch(clean, generator, tasks=TASKS[:self.run_config.model.num_tasks])
        return Validator(clean, pairs, self.run_config.diffusion, config.seed)

    # ---- data -------------------------------------------------------------------------------
    def _load_training_clips(self) -> ClipDataset:
        """The train split on the training device, source-balanced as the config asks."""
        clips = self.make_dataset("train", self.train_config.seed).to(self.device)
        clips.balance_sources(self.train_config.source_balance)
        self._emit({"event": "data", "seconds": round(clips.seconds, 1),
                    "source_shares": {k: round(v, 4) for k, v in clips.source_shares().items()}})
        return clips

    # ---- one optimiser step -----------------------------------------------------------------
    def _train_step(self, clips: ClipDataset) -> tuple[torch.Tensor, ...]:
        """One optimiser step; returns ``(loss, grad_norm, per-task loss sums [tasks],
        per-task item counts [tasks])``, all still on the device (no sync)."""
        config = self.train_config
        generator = step_generator(config.seed, self.processes.rank, self.step, self.device)
        pairs = make_batch(clips.draw(generator, config.batch_size), generator,
                           task_weights=config.task_weights, silence_share=config.silence_share)
        scale = level_scale(pairs.degraded, pairs.mask, self.run_config.diffusion)
        clean, degraded = pairs.clean / scale, pairs.degraded / scale
        project = known_data_projection(degraded, pairs.mask, pairs.task_id, pairs.cutoff_hz)
        fraction = unknown_fraction(pairs.mask, pairs.task_id, pairs.cutoff_hz)
        conditioning = {"degraded": degraded, "mask": pairs.mask, "task_id": pairs.task_id,
                        "cutoff_hz": pairs.cutoff_hz}
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.use_cuda and config.bf16):
            target = None
            if self.distillation is None:
                sigma = self.denoiser.sample_sigma(clean.shape[0], generator, self.device)
            noise = torch.randn(clean.shape, generator=generator, device=self.device)
            if self.distillation is not None:
                sigma, target = self.distillation.targets(clean, noise, generator, project,
                                                          conditioning)
            losses = self.objective(clean, noise, sigma, project, fraction, target,
                                    **conditioning)
            kept = predictable(clean, self.run_config.diffusion)
            losses = losses * kept
            loss = losses.sum() / kept.sum().clamp_min(1.0)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.network.parameters(), config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.ema.update(self.network, self.step)
        task_sums = torch.zeros(len(TASKS), device=self.device).index_add_(
            0, pairs.task_id, losses.detach().float())
        task_counts = torch.zeros(len(TASKS), device=self.device).index_add_(
            0, pairs.task_id, kept.float())
        return loss.detach(), grad_norm.detach(), task_sums, task_counts

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        config, options = self.train_config, self.options
        last_step = min(config.total_steps, config.total_steps if options.max_steps is None
                        else options.max_steps)
        deadline = (self.started + 60 * options.max_minutes  # counts setup and compilation
                    if options.max_minutes is not None else math.inf)
        self._emit({"event": "start", "step": self.step, "total": last_step})
        if self.resumed:
            self._emit({"event": "resume", **self.resumed})
        if self.step == 0:
            self.validate()  # the untrained baseline, for the loss curve
        previous = {signal.SIGINT: signal.getsignal(signal.SIGINT),
                    signal.SIGTERM: signal.getsignal(signal.SIGTERM)}
        interrupted = []
        handler = self._interrupt_handler(interrupted)
        for number in previous:
            signal.signal(number, handler)
        try:
            self._loop(last_step, deadline, interrupted)
        finally:
            for number, old in previous.items():
                signal.signal(number, old)
        if self.stop_reason == "interrupted":
            raise KeyboardInterrupt
        return self.last_record

    def _interrupt_handler(self, interrupted: list):
        def handler(number, frame):
            if interrupted:  # second Ctrl-C: stop at once
                raise KeyboardInterrupt
            interrupted.append(number)
        return handler

    def _loop(self, last_step: int, deadline: float, interrupted: list) -> None:
        config = self.train_config
        clips = self._load_training_clips()
        window_loss = torch.zeros((), device=self.device)
        window_tasks = torch.zeros(2, len(TASKS), device=self.device)  # loss sums, item counts
        window_steps, window_start, last_saved = 0, time.monotonic(), self.step
        while self.step < last_step:
            # ranks agree on stopping every few steps only: agreeing is a sync point under DDP
            check = self.processes.world == 1 or self.step % STOP_CHECK_EVERY == 0
            if check and self.processes.agree(bool(interrupted) or time.monotonic() > deadline):
                self.stop_reason = "interrupted" if interrupted else "max-minutes"
                break
            loss, grad_norm, task_sums, task_counts = self._train_step(clips)
            self.step += 1
            window_loss += loss
            window_tasks[0] += task_sums
            window_tasks[1] += task_counts
            window_steps += 1
            self._emit({"event": "step", "step": self.step, "total": last_step})
            if self.step % config.log_every == 0 or self.step == last_step:
                elapsed = time.monotonic() - window_start
                self._log_window(window_loss, window_tasks, window_steps, elapsed, grad_norm)
                window_loss.zero_()
                window_tasks.zero_()
                window_steps, window_start = 0, time.monotonic()
            if self.step % config.val_every == 0:
                self.validate()
                window_start = time.monotonic()  # validation is not training time
            if self.step % config.ckpt_every == 0:
                self.checkpoint()
                last_saved, window_start = self.step, time.monotonic()
        if self.step != last_saved or not (self.out_dir / STATE_FILE).exists():
            self.checkpoint()
        self._save_compile_cache()
        self._emit({"event": "stop", "step": self.step, "reason": self.stop_reason or "done"})

    def _log_window(self, window_loss, window_tasks, steps: int, elapsed: float,
                    grad_norm) -> None:
        loss = window_loss.item() / max(1, steps)  # sync point: only once per log interval
        sums, counts = window_tasks.tolist()
        per_task = {f"loss_{task}": (sums[i] / counts[i] if counts[i] else float("nan"))
                    for i, task in enumerate(TASKS)}
        rate = steps / max(elapsed, 1e-9)
        memory = torch.cuda.max_memory_allocated(self.device) / 2**30 if self.use_cuda else 0.0
        self._emit({
            "event": "log", "step": self.step, "loss": loss, "lr": self.scheduler.get_last_lr()[0],
            "grad_norm": float(grad_norm), "steps_per_s": rate,
            "samples_per_s": rate * self.train_config.batch_size * self.processes.world,
            "seconds": round(time.monotonic() - self.started, 3), "gpu_memory_gib": memory,
            **per_task,
        })

    # ---- validation and checkpoints ---------------------------------------------------------
    def validate(self) -> None:
        if self.processes.is_main:
            denoiser = Denoiser(self.ema.network, self.run_config.diffusion).eval()
            model = LoadedModel(denoiser, self.run_config.model, self.run_config.diffusion)
            record = {"event": "val", "step": self.step, "val_loss": self.validator.loss(denoiser)}
            record.update(self.validator.lsd(model, self.train_config.val_steps,
                                             self._teacher_samples()))
            self.last_validation = record
            self._emit(record)
        self.processes.barrier()

    def _teacher_samples(self) -> torch.Tensor | None:
        """A distillation teacher's samples of the validation pairs on its own grid (made once):
        what the student's samples should approach."""
        if self.distillation is None:
            return None
        if self.teacher_samples is None:
            self.teacher_samples = self.validator.samples(
                self.distillation.teacher, self.distillation.sampler,
                sigmas=self.distillation.teacher_grid)
        return self.teacher_samples

    def checkpoint(self) -> None:
        if self.processes.is_main:
            seen = self.step * self.train_config.batch_size * self.processes.world
            base = self.lineage or {}
            card = {
                "name": self.out_dir.name,
                "train_config": self.run_config.to_json_dict()["train"],
                "training_data": list(base.get("training_data", [])) + self.data_ids,
                "tasks": list(TASKS),
                "sample_rate": MODEL_RATE,
                "samples_seen": seen + int(base.get("samples_seen") or 0),
                "samples_seen_this_run": seen,
                "world_size": self.processes.world,
                "validation": {k: v for k, v in self.last_validation.items() if k != "event"},
            }
            if self.lineage:
                card["init_from"] = self.lineage
            denoiser = Denoiser(self.ema.network, self.run_config.diffusion)
            save_model(self.out_dir / MODEL_FILE, denoiser, self.run_config.model,
                       step=self.step, card=card)
            extra = {"data_ids": self.data_ids, "init_from": self.lineage}
            save_state(self.out_dir / STATE_FILE, network=self.network, ema=self.ema,
                       optimizer=self.optimizer, scheduler=self.scheduler, step=self.step,
                       run_config=self.run_config.to_json_dict(), extra=extra)
            save_compact(self.out_dir / RESUME_FILE, self.network, step=self.step,
                         run_config=self.run_config.to_json_dict(), extra=extra)
            self._emit({"event": "checkpoint", "step": self.step,
                        "path": str(self.out_dir / MODEL_FILE)})
        self.processes.barrier()

    # ---- compilation cache: a fresh machine skips most of torch.compile's start-up ------------
    def _load_compile_cache(self) -> None:
        path = self.out_dir / COMPILE_CACHE_FILE
        if path.is_file():
            try:
                torch.compiler.load_cache_artifacts(path.read_bytes())
            except Exception as error:  # noqa: BLE001 - a stale cache only costs compile time
                self._emit({"event": "compile_cache", "loaded": False, "error": str(error)[:200]})

    def _save_compile_cache(self) -> None:
        if not (self.train_config.compile and self.use_cuda and self.processes.is_main):
            return
        artifacts = torch.compiler.save_cache_artifacts()
        if artifacts is not None:
            write_bytes(self.out_dir / COMPILE_CACHE_FILE, artifacts[0])
        self._emit({"event": "compile_cache", "saved": artifacts is not None,
                    "bytes": 0 if artifacts is None else len(artifacts[0])})

    def _emit(self, record: dict[str, Any]) -> None:
        if record["event"] != "step":
            self.log.write(record)
            self.last_record = record if record["event"] == "log" else self.last_record
        if self.processes.is_main:
            self.callback(record)
