"""Plot runs' loss curves and validation metrics into one PNG (needs matplotlib, a dev extra).

``python -m tools.plot_runs RUN_DIR[@STEP] [RUN_DIR[@STEP] ...] --out curve.png``

``@STEP`` shifts a run that continued another one from that run's step STEP (a new run started
with ``--init-from`` counts its steps from 0).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from matplotlib.figure import Figure  # the object API: no pyplot, no GUI backend

from restore.config import TASKS
from restore.training.logs import read_losses


def split_offset(argument: str) -> tuple[Path, int]:
    """``RUN_DIR@STEP`` -> (RUN_DIR, STEP); a plain RUN_DIR starts at step 0."""
    folder, _, step = argument.rpartition("@")
    return (Path(folder), int(step)) if folder and step.isdigit() else (Path(argument), 0)


def plot(runs: list[tuple[Path, int]], out: Path) -> None:
    figure = Figure(figsize=(16, 4))
    loss_axis, lsd_axis, level_axis = figure.subplots(1, 3)
    for run_dir, offset in runs:
        steps, losses = zip(*read_losses(run_dir), strict=True)
        steps = [step + offset for step in steps]
        loss_axis.plot(steps, losses, label=f"{run_dir.name} (train, mean per log interval)")
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().split("\n")
                   if line]
        validation = [r for r in records if r["event"] == "val"]
        if validation:
            val_steps = [r["step"] + offset for r in validation]
            loss_axis.plot(val_steps, [r["val_loss"] for r in validation], "o--",
                           label=f"{run_dir.name} (validation)")
            for key in (f"lsd_{task}" for task in TASKS):
                lsd_axis.plot(val_steps, [r.get(key, float("nan")) for r in validation], "o-",
                              label=f"{run_dir.name} {key}")
            for key in ("level_inpaint", "level_transition"):
                if any(key in r for r in validation):
                    level_axis.plot(val_steps, [r.get(key, float("nan")) for r in validation],
                                    "o-", label=f"{run_dir.name} {key}")
    loss_axis.set(xlabel="step", ylabel="EDM-weighted loss", yscale="log", title="loss")
    lsd_axis.set(xlabel="step", ylabel="LSD (whole clip)", title="validation LSD")
    level_axis.set(xlabel="step", ylabel="dB against the true audio",
                   title="level of the generated part (runs that log it)")
    for axis in (loss_axis, lsd_axis, level_axis):
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:  # runs before stretch 4 log no fill levels
            axis.legend(fontsize=7)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=split_offset)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    plot(arguments.runs, arguments.out)


if __name__ == "__main__":
    main()
