"""Helpers shared by test modules: the small untrained model the task and command tests run,
and ``restore`` as a real subprocess."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from restore.checkpoint import random_model, save_model
from restore.cli import cli
from restore.config import ModelConfig


def fast_config() -> ModelConfig:
    """Tiny and without attention, so long windows stay fast on a CPU (fills are noise)."""
    return ModelConfig(channels=(8, 8, 16, 16), strides=(4, 4, 4), blocks=(1, 1, 1, 1),
                       kernel_size=3, dilations=(1,), bottleneck_attention=0, attention_heads=2,
                       embed_dim=16, noise_fourier=8, cutoff_fourier=4, groups=4)


def tiny_model_file(folder: Path, num_tasks: int | None = None) -> Path:
    """An untrained :func:`fast_config` model saved as ``folder/tiny.safetensors`` (with
    ``num_tasks``: only the first tasks, as ``folder/tiny-N.safetensors``)."""
    config = fast_config()
    if num_tasks is not None:
        config = dataclasses.replace(config, num_tasks=num_tasks)
    model = random_model(config)
    path = folder / ("tiny.safetensors" if num_tasks is None else f"tiny-{num_tasks}.safetensors")
    save_model(path, model.denoiser, model.config, step=0)
    return path


def restore_in_process(*args: str, check: bool = True) -> Result:
    """``restore ARGS`` through click in this process (fast); ``check``: fail on a non-zero
    exit, showing its stderr."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if check and result.exit_code != 0:
        raise AssertionError(f"exit {result.exit_code}: {result.stderr}")
    return result


def convert_while_writing(source: Path, target: Path, *options: str,
                          timeout: float) -> subprocess.Popen:
    """Start ``restore convert SOURCE -o TARGET OPTIONS`` and return it once its hidden partial
    output (``.TARGET.*.restore-part``) holds data, to be interrupted; skips the test when the
    conversion finishes first. stderr is a text pipe."""
    process = subprocess.Popen([sys.executable, "-m", "restore", "convert", str(source), "-o",
                                str(target), *options], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    folder = target.parent
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        parts = list(folder.glob(f".{target.name}.*.restore-part")) if folder.exists() else []
        if parts and parts[0].stat().st_size > 0:
            break
        time.sleep(0.002)
    if process.poll() is not None:
        pytest.skip("conversion finished before it could be interrupted")
    return process


def restore_process(*args, timeout: int = 300, **options) -> subprocess.CompletedProcess:
    """``python -m restore ARGS`` in a fresh process on the CPU, text output captured."""
    return subprocess.run([sys.executable, "-m", "restore", *map(str, args)], text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, **options)
