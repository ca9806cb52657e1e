"""Run-directory logs: ``train_log.csv`` (one row per log interval) and ``metrics.jsonl``
(every record: training, validation, checkpoints)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from restore.config import TASKS

CSV_FIELDS = ("step", "seconds", "loss", "lr", "grad_norm", "steps_per_s", "samples_per_s",
              "gpu_memory_gib", *(f"loss_{task}" for task in TASKS))


class RunLog:
    """Appends to the run's logs (rank 0 only; other ranks get ``enabled=False``)."""

    def __init__(self, out_dir: Path, enabled: bool) -> None:
        self.enabled = enabled
        self.csv_path = out_dir / "train_log.csv"
        self.jsonl_path = out_dir / "metrics.jsonl"

    def clear(self) -> None:
        if self.enabled:
            self.csv_path.unlink(missing_ok=True)
            self.jsonl_path.unlink(missing_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.jsonl_path, "a") as stream:
            stream.write(json.dumps(record) + "\n")
        if record.get("event") != "log":
            return
        new = not self.csv_path.exists()
        with open(self.csv_path, "a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(record)


def read_losses(out_dir: Path) -> list[tuple[int, float]]:
    """(step, loss) rows of a run's CSV log, e.g. for plotting the loss curve."""
    path = Path(out_dir) / "train_log.csv"
    with open(path, newline="") as stream:
        return [(int(row["step"]), float(row["loss"])) for row in csv.DictReader(stream)]
