"""``restore train``: a thin click layer over :func:`restore.training.loop.train`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click
from tqdm import tqdm

from restore.cli import cli
from restore.config import RunConfig
from restore.errors import RestoreError


def read_run_config(path: Path) -> RunConfig:
    """Parse a training config JSON file; one-line RestoreError when it is bad."""
    try:
        return RunConfig.from_json_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise RestoreError(path, f"bad training config: {error}") from None


def manifest_id(data_dir: Path) -> str:
    """sha256 of the corpus manifest: names the training data in the model card."""
    manifest = Path(data_dir) / "manifest.json"
    if not manifest.is_file():
        raise RestoreError(data_dir, "no manifest.json: not a corpus built by data_prep")
    return "sha256:" + hashlib.sha256(manifest.read_bytes()).hexdigest()


class _ProgressBar:
    """tqdm bar fed by the training callback: loss and steps/s in the postfix."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar = quiet, None

    def __call__(self, record: dict) -> None:
        event = record["event"]
        if event == "start" and not self.quiet:
            self.bar = tqdm(total=record["total"], initial=record["step"], unit="step",
                            dynamic_ncols=True)
        elif self.bar is None:
            return
        elif event == "step":
            self.bar.update(record["step"] - self.bar.n)
        elif event == "log":
            self.bar.set_postfix(loss=f"{record['loss']:.4f}",
                                 steps_s=f"{record['steps_per_s']:.2f}")
        elif event in ("val", "checkpoint"):
            shown = {k: (round(v, 4) if isinstance(v, float) else v)
                     for k, v in record.items() if k != "event"}
            self.bar.write(f"restore: {event} {shown}")
        elif event == "stop":
            self.bar.close()


@cli.command()
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=Path),
              help="Corpus folder built by data_prep (manifest.json + shards).")
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="Training config JSON, e.g. restore/configs/default.json.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Run folder: model.safetensors, train_state.pt, logs.")
@click.option("--resume", is_flag=True, help="Continue the run in --out if it has a state.")
@click.option("--max-minutes", type=float, default=None,
              help="Stop after this many minutes, with a checkpoint.")
@click.option("--max-steps", type=int, default=None, help="Stop at this step, with a checkpoint.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--init-from", type=click.Path(path_type=Path), default=None,
              help="Start a new run from this model file's weights (e.g. the shipped default, "
                   "restore/models/default.safetensors); the config may add tasks.")
@click.pass_context
def train(ctx: click.Context, data_dir: Path, config_path: Path, out_dir: Path, resume: bool,
          max_minutes: float | None, max_steps: int | None, device: str,
          init_from: Path | None) -> None:
    """Train (or resume) a model on a corpus. Multi-GPU: launch with torchrun."""
    # Imported here, not at the top: every command loads this module at start-up, and the
    # inference commands must not import data_prep or the training code (docs/architecture.md)
    from data_prep.dataset import ClipDataset
    from restore.training.loop import TrainOptions
    from restore.training.loop import train as run_training

    run = read_run_config(config_path)
    options = TrainOptions(out_dir=out_dir, resume=resume, max_minutes=max_minutes,
                           max_steps=max_steps, device=device, data_id=manifest_id(data_dir),
                           init_from=init_from)

    def make_dataset(split: str, seed: int) -> ClipDataset:
        return ClipDataset(data_dir, split, run.train.clip_samples, seed)

    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    last = run_training(run, make_dataset, options, callback=_ProgressBar(quiet))
    if last and not quiet:
        click.echo(f"restore: trained to step {last.get('step')}, loss {last.get('loss'):.4f}; "
                   f"model in {out_dir / 'model.safetensors'}")
