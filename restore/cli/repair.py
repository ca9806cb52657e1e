"""``restore declick | declip``: find clicks or clipping, re-estimate those samples only.

Same contract as ``restore inpaint``: many inputs and folders (``--recursive``), outputs in the
input's format written atomically, ``--skip-existing``, one line per failed file, a sidecar
listing every repaired region, ``--mark-labels``. Every sample that was not found damaged is
the input's, bit for bit.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from restore.cli import cli
from restore.cli.batch import (
    InputItem,
    collect_inputs,
    plan_outputs,
    recursive_option,
    run_batch,
    select_shard,
    shard_option,
)
from restore.cli.restoration import Job, _parameters, labels_for, model_options
from restore.io.atomic import StagedFiles

DEFAULT_SUFFIX = {"declick": "_declicked", "declip": "_declipped"}  # names beside the input


class RepairJob(Job):
    """A :class:`Job` whose ``auto`` method is the classical one unless the model measured
    better on the task (:func:`restore.tasks.repair.repair_method`)."""

    def __init__(self, ctx: click.Context, task: str, parameters: dict) -> None:
        self.task = task  # before Job's constructor, which may ask for the method
        super().__init__(ctx, f"restore {task}", parameters)

    @property
    def method(self) -> str:
        from restore.tasks.repair import repair_method

        return repair_method(self.parameters["method"], self.task)

    def check_model(self) -> None:
        """One clear error before any file is touched when the model lacks the task."""
        if self.method != "diffusion":
            return
        from restore.checkpoint import default_model_path
        from restore.tasks.repair import check_model_knows

        path = self.parameters["model"] or default_model_path()
        check_model_knows(self.model(), self.task, path)

    def run(self, item: InputItem, output: Path, plan, labels: Path | None) -> None:
        from restore.tasks.repair_files import repair_file

        started = time.perf_counter()
        bar, advance = self.bar(item.path.name)
        with bar, StagedFiles() as staging:
            result = repair_file(item.path, output, plan, sampling=self.sampling(),
                                 batch_size=self.batch_size,
                                 writer_options=self.writer_options(staging), callback=advance)
            self.finish(output, [item.path], result.regions, started, labels, staging=staging)
        if result.over_full_scale:
            click.echo(f"restore: warning: {output}: {result.over_full_scale} restored samples "
                       "exceed full scale and were limited to it; write --subtype FLOAT to keep "
                       "them", err=True)


def _run(ctx: click.Context, job: RepairJob, inputs, recursive: bool, shard, options: dict,
         make_plan) -> None:
    items = collect_inputs(inputs, recursive)
    several = len(items) > 1  # decided before sharding: every shard maps outputs alike
    planned = dict(zip(items, plan_outputs(items, options["output"],
                                           default_suffix=DEFAULT_SUFFIX[job.task]),
                       strict=True))
    shard_items = select_shard(items, shard)
    job.check_model()

    def process(item: InputItem) -> None:
        output = planned[item]
        if job.check([output], [item.path]):
            return
        job.run(item, output, make_plan(item), labels_for(options["mark_labels"], item,
                                                          several))

    ctx.exit(run_batch(shard_items, process, quiet=job.quiet,
                       of_total=len(items) if shard else None))


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
    from restore.tasks.repair import RepairPlan

    job = RepairJob(ctx, "declick", {**_parameters(options), "sensitivity": sensitivity})
    _run(ctx, job, inputs, recursive, shard, options,
         lambda _item: RepairPlan("declick", job.method, sensitivity=sensitivity))


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
    from restore import io
    from restore.classical.clip_detect import fixed_levels
    from restore.tasks.repair import RepairPlan
    from restore.tasks.repair_files import scan_clipping

    level = _parse_level(level_text)
    job = RepairJob(ctx, "declip", {**_parameters(options), "level": level_text})

    def make_plan(item: InputItem) -> RepairPlan:
        if level is None:
            levels = scan_clipping(item.path)
        else:
            levels = fixed_levels(io.read_info(item.path).channels, level)
        if not any(channel.clipped for channel in levels) and not job.quiet:
            click.echo(f"{item.path}: no hard clipping found", err=True)
        return RepairPlan("declip", job.method, levels=levels)

    _run(ctx, job, inputs, recursive, shard, options, make_plan)

