"""``restore declick | declip``: find clicks or clipping, re-estimate those samples only.

Same contract as ``restore inpaint``: many inputs and folders (``--recursive``), outputs in the
input's format written atomically, ``--skip-existing``, one line per failed file, a sidecar
listing every repaired region, ``--mark-labels``. Every sample that was not found damaged is
the input's, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from restore.checkpoint import default_model_path
from restore.classical.clip_detect import fixed_levels
from restore.cli import cli
from restore.cli.batch import InputItem, recursive_option, shard_option
from restore.cli.restoration import Job, _parameters, labels_for, model_options
from restore.tasks.repair import (
    RepairPlan,
    check_model_knows,
    repair,
    repair_method,
    scan_clipping,
)
from restore.tasks.source import FileSink, FileSource

DEFAULT_SUFFIX = {"declick": "_declicked", "declip": "_declipped"}  # names beside the input


class RepairJob(Job):
    """A :class:`Job` whose ``auto`` method is the classical one unless the model measured
    better on the task (:func:`restore.tasks.repair.repair_method`)."""

    def __init__(self, ctx: click.Context, task: str, parameters: dict) -> None:
        self.task = task  # before Job's constructor, which may ask for the method
        super().__init__(ctx, f"restore {task}", parameters)

    @property
    def method(self) -> str:
        return repair_method(self.parameters["method"], self.task)

    def check_model(self) -> None:
        """One clear error before any file is touched when the model lacks the task."""
        if self.method == "diffusion":
            path = self.parameters["model"] or default_model_path()
            check_model_knows(self.options().model, self.task, path)

    def run_all(self, ctx: click.Context, inputs: tuple[Path, ...], recursive: bool,
                shard: tuple[int, int] | None, options: dict,
                make_plan: Callable[[FileSource], RepairPlan]) -> None:
        """Repair every input of this shard with ``make_plan(source)``."""
        self.check_model()

        def process(item: InputItem, output: Path, several: bool) -> None:
            def work(sinks: list[FileSink], progress: Callable[[dict], None]) -> tuple[list, None]:
                source = FileSource(item.path)
                return repair(source, sinks[0], make_plan(source), options=self.options(),
                              callback=progress, workers=None), None

            for sink in self.produce([item.path], [output],
                                     labels_for(options["mark_labels"], item, several), work):
                if sink.over_full_scale:
                    click.echo(f"restore: warning: {output}: {sink.over_full_scale} restored "
                               "samples exceed full scale and were limited to it; write "
                               "--subtype FLOAT to keep them", err=True)

        self.run_each(ctx, inputs, recursive, shard, options["output"],
                      DEFAULT_SUFFIX[self.task], process)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sensitivity", type=click.FloatRange(0.1, 10.0), default=1.0,
              show_default=True,
              help="Click detector sensitivity: the threshold is divided by it (2 finds fainter "
                   "clicks and risks touching clean transients; 0.5 only the loudest).")
@recursive_option
@shard_option
@model_options
@click.pass_context
def declick(ctx: click.Context, inputs, sensitivity, recursive, shard, **options) -> None:
    """Find clicks and crackle in INPUTS and re-estimate those samples; the rest is kept."""
    job = RepairJob(ctx, "declick", {**_parameters(options), "sensitivity": sensitivity})
    job.run_all(ctx, inputs, recursive, shard, options,
                lambda _source: RepairPlan("declick", job.method, sensitivity=sensitivity))


def _parse_level(value: str) -> float | None:
    if value == "auto":
        return None
    try:
        level = float(value)
    except ValueError:
        raise click.BadParameter(f"expected auto or a level in dBFS, got {value!r}") from None
    if not -60.0 <= level <= 0.0:
        raise click.BadParameter(f"a clip level in dBFS between -60 and 0, got {value!r}")
    return level


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--level", "level_text", default="auto", show_default=True, metavar="auto|DBFS",
              help="Clip level: auto (each channel's and polarity's own, measured) or a level "
                   "in dBFS applied to both polarities of every channel, e.g. -0.1.")
@recursive_option
@shard_option
@model_options
@click.pass_context
def declip(ctx: click.Context, inputs, level_text, recursive, shard, **options) -> None:
    """Find hard clipping in INPUTS and re-estimate the clipped samples (same sign, at least the
    clip level); unclipped samples are kept exactly."""
    level = _parse_level(level_text)
    job = RepairJob(ctx, "declip", {**_parameters(options), "level": level_text})

    def make_plan(source: FileSource) -> RepairPlan:
        levels = (scan_clipping(source) if level is None
                  else fixed_levels(source.channels, level))
        if not any(channel.clipped for channel in levels) and not job.quiet:
            click.echo(f"{source.path}: no hard clipping found", err=True)
        return RepairPlan("declip", job.method, levels=levels)

    job.run_all(ctx, inputs, recursive, shard, options, make_plan)
