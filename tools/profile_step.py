"""Measure where a training step's time goes, and the model's inference throughput.

``python -m tools.profile_step --config restore/configs/default.json --device cuda``
prints one JSON object: seconds per ``make_batch`` for each task, per compiled/plain training
step (forward + backward, bf16 on CUDA), and model calls per second at inference (in seconds
of 48 kHz audio per second of wall time). Numbers in docs/model.md (training record) and
docs/runs/README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from data_prep.pairs import make_batch
from restore.checkpoint import build_denoiser
from restore.cli.train import read_run_config
from restore.config import MODEL_RATE, TASKS


def _timed(function, device: torch.device, repeats: int) -> float:
    function()  # warm-up (compilation, allocator)
    function()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats


def profile(config_path: Path, device: torch.device, repeats: int) -> dict:
    run = read_run_config(config_path)
    batch, length = run.train.batch_size, run.train.clip_samples
    clean = torch.randn(batch, 1, length, device=device) * 0.1
    generator = torch.Generator(device).manual_seed(0)
    result: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda"
                    else "cpu", "batch": batch, "clip_samples": length}
    for index, task in enumerate(TASKS):
        weights = [1.0 if i == index else 0.0 for i in range(len(TASKS))]
        result[f"make_batch_{task}_s"] = _timed(
            lambda w=weights: make_batch(clean, generator, task_weights=w), device, repeats)
    denoiser = build_denoiser(run.model, run.diffusion).to(device)
    conditioning = {"degraded": clean, "mask": torch.ones_like(clean),
                    "task_id": torch.zeros(batch, dtype=torch.long, device=device),
                    "cutoff_hz": torch.full((batch,), 8000.0, device=device)}
    sigma = torch.ones(batch, device=device)
    bf16 = device.type == "cuda"
    for name, network in [("plain", denoiser.network), ("compiled", torch.compile(
            denoiser.network) if device.type == "cuda" else None)]:
        if network is None:
            continue
        wrapped = type(denoiser)(network, run.diffusion)

        def step(wrapped=wrapped):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                wrapped.loss(clean, clean, sigma, **conditioning).mean().backward()

        def call(wrapped=wrapped):
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                wrapped(clean, sigma, **conditioning)

        try:
            seconds = _timed(step, device, repeats)
            result[f"inference_x_realtime_per_call_{name}"] = (
                batch * length / MODEL_RATE / _timed(call, device, repeats))
        except Exception as error:  # e.g. torch.compile missing a compiler: report, go on
            result[f"error_{name}"] = f"{type(error).__name__}: {error}"[:300]
            continue
        result[f"train_step_{name}_s"] = seconds
        result[f"train_samples_per_s_{name}"] = batch / seconds
    if device.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("restore/configs/default.json"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=10)
    arguments = parser.parse_args()
    result = profile(arguments.config, torch.device(arguments.device), arguments.repeats)
    print(json.dumps(result, indent=1))  # noqa: T201 - a command-line tool's output


if __name__ == "__main__":
    main()
