"""Helpers shared by test modules: the small untrained model the task and command tests run,
and ``restore`` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from restore.checkpoint import random_model, save_model
from restore.config import ModelConfig


def fast_config() -> ModelConfig:
    """Tiny and without attention, so long windows stay fast on a CPU (fills are noise)."""
    return ModelConfig(channels=(8, 8, 16, 16), strides=(4, 4, 4), blocks=(1, 1, 1, 1),
                       kernel_size=3, dilations=(1,), bottleneck_attention=0, attention_heads=2,
                       embed_dim=16, noise_fourier=8, cutoff_fourier=4, groups=4)


def tiny_model_file(folder: Path) -> Path:
    """An untrained :func:`fast_config` model saved as ``folder/tiny.safetensors``."""
    model = random_model(fast_config())
    path = folder / "tiny.safetensors"
    save_model(path, model.denoiser, model.config, step=0)
    return path


def restore_process(*args, timeout: int = 300, **options) -> subprocess.CompletedProcess:
    """``python -m restore ARGS`` in a fresh process on the CPU, text output captured."""
    return subprocess.run([sys.executable, "-m", "restore", *map(str, args)], text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, **options)
