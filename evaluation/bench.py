"""Speed benchmark: x real time, peak RSS and GPU memory by task, step count and input length.

Every measurement runs the public API (``restore.upsample`` / ``inpaint`` / ``transition``) on
synthetic programme material, so chunking, batching and I/O-free overheads are all included:

* upsample: 16 kHz mono input of the given length to 48 kHz;
* inpaint: 48 kHz mono input with 20 dropouts of 100 ms spread evenly (issue 8's case);
* transition: clips A and B of half the length each, a 1 s bridge (``bridge_only``); its x real
  time counts the bridge's seconds.

Each case can be run at several network precisions (``fp32`` / ``bf16``, ``auto`` = bf16 where
the hardware has it), batch sizes (windows per batch; None = the device's default) and with or
without ``torch.compile`` (CUDA, or a CPU with a C++ compiler). On CUDA, and for a compiled
setting on a CPU, every setting is warmed up first on two short inputs (CUDA context, cuDNN,
compilation for a fixed and then a symbolic batch size); the warm-up's wall time is reported as
``warmup_seconds`` and not counted in x real time.

FLOPs per second of audio come from ``torch.utils.flop_counter.FlopCounterMode`` around one
``generate`` call on 1 s of audio at each step count; the hardware peak is a measured dense
matmul (bf16 on CUDA, float32 on CPU), so ``fraction_of_peak`` says how close to the hardware
limit the achieved FLOP/s (FLOPs per audio second x real-time factor, best setting) come.
"""

from __future__ import annotations

import itertools
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

import restore
from evaluation.measure import Measure
from evaluation.repair_cases import add_clicks
from evaluation.synthetic import tiled
from restore.config import MODEL_RATE, TASK_ID
from restore.diffusion import generate
from restore.diffusion.precision import compile_supported, resolved_name
from restore.tasks.sampler import resolve_batch_size

TASKS = ("upsample", "inpaint", "transition", "declick")
MODEL_FREE_TASKS = ("declick",)  # benchmarked with --method classical (what auto ships)
UPSAMPLE_INPUT_RATE = 16000
DROPOUTS, DROPOUT_SECONDS = 20, 0.1
BRIDGE_SECONDS = 1.0
WARMUP_SECONDS = (2.0, 3.0)  # two short inputs: different batch shapes, so a compiled network
# is compiled for a fixed and then for a symbolic batch size before the timed runs


@dataclass(frozen=True)
class Setting:
    """How the network runs in one bench case."""

    precision: str = "fp32"  # "fp32", "bf16" or "auto" (restore.diffusion.precision)
    batch_size: int | None = None  # windows per batch; None = the device's default
    compile: bool = False  # torch.compile the network (where compile_supported)

    def options(self) -> dict[str, Any]:
        """Keyword arguments of the public API."""
        return {"precision": self.precision, "batch_size": self.batch_size,
                "compile": self.compile}

    def resolved(self, device: str) -> dict[str, Any]:
        """What actually ran: ``precision`` fp32/bf16, the batch size, compiled or not."""
        return {"precision": resolved_name(self.precision, torch.device(device)),
                "batch_size": resolve_batch_size(self.batch_size, device),
                "compile": self.compile and compile_supported(torch.device(device))}


def settings(precisions: Sequence[str] = ("fp32",), batch_sizes: Sequence[int | None] = (None,),
             compile_modes: Sequence[bool] = (False,)) -> list[Setting]:
    """Every combination of the given precisions, batch sizes and compile modes."""
    return [Setting(precision, batch, compiled) for precision, compiled, batch
            in itertools.product(precisions, compile_modes, batch_sizes)]


def dropouts(seconds: float) -> list[tuple[float, float]]:
    """``DROPOUTS`` gaps of ``DROPOUT_SECONDS`` evenly spread over ``seconds`` (fewer if short)."""
    count = min(DROPOUTS, int(seconds / (4 * DROPOUT_SECONDS)))
    spacing = seconds / (count + 1)
    return [(spacing * (i + 1), spacing * (i + 1) + DROPOUT_SECONDS) for i in range(count)]


def _make_job(task: str, seconds: float, model, steps: int, device: str,
              setting: Setting = Setting()) -> tuple[Callable, float]:
    """A zero-argument callable running ``task`` once, and the audio seconds it counts."""
    options = {"model": model, "steps": steps, "seed": 0, "device": device, **setting.options()}
    if task == "transition":
        options.pop("batch_size")  # one bridge: nothing to batch
    if task == "upsample":
        audio = tiled(seconds, UPSAMPLE_INPUT_RATE)
        return (lambda: restore.upsample(audio, UPSAMPLE_INPUT_RATE, rate=MODEL_RATE,
                                         cutoff_hz=UPSAMPLE_INPUT_RATE / 2, **options)), seconds
    if task == "inpaint":
        audio, gaps = tiled(seconds, MODEL_RATE), dropouts(seconds)
        for start, end in gaps:
            audio[:, int(start * MODEL_RATE) : int(end * MODEL_RATE)] = 0.0
        return (lambda: restore.inpaint(audio, MODEL_RATE, gaps, **options)), seconds
    if task == "declick":  # issue 12: crackly 48 kHz stereo, the classical detector and repair
        clean = np.concatenate([tiled(seconds, MODEL_RATE, seed=0), tiled(seconds, MODEL_RATE,
                                                                          seed=1)])
        audio, _ = add_clicks(clean, "crackle", np.random.default_rng(0))
        return (lambda: restore.declick(audio, MODEL_RATE, method="classical")), seconds
    if task == "transition":
        a, b = tiled(seconds / 2, MODEL_RATE, seed=1), tiled(seconds / 2, MODEL_RATE, seed=2)
        return (lambda: restore.transition(a, b, MODEL_RATE, BRIDGE_SECONDS, bridge_only=True,
                                           **options)), BRIDGE_SECONDS
    raise ValueError(f"unknown task {task!r}; choose from {TASKS}")


def time_task(task: str, seconds: float, model, steps: int, device: str,
              setting: Setting = Setting()) -> dict[str, Any]:
    """Run one (task, length, steps, setting) case once inside a :class:`Measure`."""
    job, audio_seconds = _make_job(task, seconds, model, steps, device, setting)
    with Measure() as measured:
        job()
    return {
        "task": task, "input_seconds": seconds, "steps": steps,
        "audio_seconds": audio_seconds, "wall_seconds": measured.wall_seconds,
        "x_realtime": audio_seconds / max(measured.wall_seconds, 1e-9),
        "peak_rss_mb": measured.peak_rss_mb, "peak_gpu_mb": measured.peak_gpu_mb,
        **setting.resolved(device),
    }


def warm_up(task: str, model, steps: int, device: str, setting: Setting) -> float:
    """Run ``task`` on the ``WARMUP_SECONDS`` inputs (untimed cases); their wall seconds."""
    began = time.perf_counter()
    for seconds in WARMUP_SECONDS:
        _make_job(task, seconds, model, steps, device, setting)[0]()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - began


def flops_per_audio_second(model, steps: int, task: str, device: str) -> float:
    """Model FLOPs of one ``generate`` call on 1 s of 48 kHz mono audio at ``steps`` steps."""
    x = torch.from_numpy(tiled(1.0, MODEL_RATE))[None].to(device)
    task_name = "bandwidth" if task == "upsample" else task
    mask = torch.ones_like(x)
    if task_name != "bandwidth":
        mask[..., MODEL_RATE // 4 : MODEL_RATE // 2] = 0.0
    cutoff = UPSAMPLE_INPUT_RATE / 2 if task_name == "bandwidth" else MODEL_RATE / 2
    with FlopCounterMode(display=False) as counter:
        generate(model.denoiser, x * mask, mask, torch.tensor([TASK_ID[task_name]], device=device),
                 torch.tensor([cutoff], device=device), steps=steps,
                 sampler=model.default_sampler, generator=torch.Generator(device).manual_seed(0))
    return float(counter.get_total_flops())


def measured_peak_flops(device: str) -> float:
    """Dense matmul FLOP/s of this device (bf16 8192^2 on CUDA, float32 2048^2 on CPU)."""
    size, dtype = (8192, torch.bfloat16) if device.startswith("cuda") else (2048, torch.float32)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    repeats = 20 if device.startswith("cuda") else 3
    a @ b  # warm-up (cuBLAS handles, CPU thread pool)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - began)


def _machine(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    return f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads"


def run_bench(
    model,
    *,
    device: str,
    steps: Sequence[int],
    lengths_seconds: Sequence[float],
    tasks: Sequence[str] = TASKS,
    setting_list: Sequence[Setting] = (Setting(),),
    warmup: bool | None = None,
    callback: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Every (task, steps, setting, length) once, plus FLOPs per audio second and the device's
    peak. ``warmup`` (default: on CUDA, and for compiled settings) runs :func:`warm_up` before
    each setting's rows."""
    rows = []
    for task, count, setting in itertools.product(tasks, steps, setting_list):
        warm = (device.startswith("cuda") or setting.resolved(device)["compile"]
                if warmup is None else warmup)
        warmup_seconds = warm_up(task, model, count, device, setting) if warm else 0.0
        for seconds in lengths_seconds:
            rows.append({**time_task(task, seconds, model, count, device, setting),
                         "warmup_seconds": warmup_seconds})
            if callback is not None:
                callback(rows[-1])
    peak = measured_peak_flops(device)
    flops = []
    for task in tasks:
        if task in MODEL_FREE_TASKS:
            continue
        for count in steps:
            per_second = flops_per_audio_second(model, count, task, device)
            best = max(r["x_realtime"] for r in rows if r["task"] == task and r["steps"] == count)
            flops.append({"task": task, "steps": count, "flops_per_audio_second": per_second,
                          "achieved_flops_per_second": per_second * best,
                          "fraction_of_peak": per_second * best / peak})
    meta = {"device": device, "machine": _machine(device), "torch": torch.__version__,
            "model_id": getattr(model, "model_id", "?"), "restore_version": restore.__version__,
            "peak_flops_per_second": peak, "upsample_input_rate": UPSAMPLE_INPUT_RATE,
            "dropouts": f"{DROPOUTS} x {DROPOUT_SECONDS} s", "bridge_seconds": BRIDGE_SECONDS}
    return {"meta": meta, "rows": rows, "flops": flops}


def markdown_table(bench: dict[str, Any]) -> str:
    """The benchmark as markdown: the run's facts, the timing table, the FLOPs table."""
    meta = bench["meta"]
    lines = ["# restore benchmark", ""] + [f"- {key}: `{value}`" for key, value in meta.items()]
    lines += ["", "| task | steps | input s | audio s | wall s | x real time | peak RSS MB | "
              "peak GPU MB | precision | batch | compiled | warm-up s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in bench["rows"]:
        lines.append(f"| {row['task']} | {row['steps']} | {row['input_seconds']:g} | "
                     f"{row['audio_seconds']:g} | {row['wall_seconds']:.2f} | "
                     f"{row['x_realtime']:.2f} | {row['peak_rss_mb']:.0f} | "
                     f"{row['peak_gpu_mb']:.0f} | {row['precision']} | {row['batch_size']} | "
                     f"{'yes' if row['compile'] else 'no'} | {row['warmup_seconds']:.1f} |")
    lines += ["", "| task | steps | GFLOP per audio s | achieved GFLOP/s | fraction of peak |",
              "|---|---|---|---|---|"]
    for row in bench["flops"]:
        lines.append(f"| {row['task']} | {row['steps']} | "
                     f"{row['flops_per_audio_second'] / 1e9:.2f} | "
                     f"{row['achieved_flops_per_second'] / 1e9:.2f} | "
                     f"{row['fraction_of_peak']:.4f} |")
    return "\n".join(lines) + "\n"

