"""Wall time and peak memory of a block of work (peak RSS by sampling, peak CUDA allocation)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import psutil
import torch

SAMPLE_INTERVAL_SECONDS = 0.005  # RSS polling period: short peaks below this can be missed


class Measure:
    """Context manager: ``wall_seconds``, ``peak_rss_mb`` and ``peak_gpu_mb`` of its body.

    Peak RSS is the largest resident set size of this process seen by a thread polling
    ``psutil`` every ``SAMPLE_INTERVAL_SECONDS`` (the body's own peak, unlike ``ru_maxrss``
    which keeps the whole process's high-water mark). Peak GPU memory is
    ``torch.cuda.max_memory_allocated`` after a reset at entry (0 without CUDA).
    """

    def __init__(self) -> None:
        self.wall_seconds = 0.0
        self.peak_rss_mb = 0.0
        self.peak_gpu_mb = 0.0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = 0

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._peak_rss = max(self._peak_rss, self._process.memory_info().rss)
            self._stop.wait(SAMPLE_INTERVAL_SECONDS)

    def __enter__(self) -> Measure:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self._peak_rss = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        self._began = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # queued kernels belong to the body's time
            self.peak_gpu_mb = torch.cuda.max_memory_allocated() / 2**20
        self.wall_seconds = time.perf_counter() - self._began
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._peak_rss = max(self._peak_rss, self._process.memory_info().rss)
        self.peak_rss_mb = self._peak_rss / 2**20
