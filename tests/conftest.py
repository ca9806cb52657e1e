"""Shared fixtures: synthetic audio generated in the test, never committed WAVs."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread per test: on a busy 2-core CPU, two OpenMP threads ran tiny convs
    up to 70x slower than one. Subprocesses started by tests are not affected."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def sine(freq_hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    """Mono sine ``[1, frames]`` float32."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)[None, :]
