"""``restore inpaint | upsample | transition``: a thin layer over the task pipelines.

The commands parse and report; the work is the same pipeline the Python API runs
(:mod:`restore.tasks`), over file sources and sinks (:mod:`restore.tasks.source`) instead of
arrays.

Every command takes many inputs and folders (``--recursive``), mirrors the input tree in an
output folder, skips finished outputs with ``--skip-existing``, keeps going when one file fails,
writes a sidecar history (``<output>.restore.json``) listing every generated region, and can
write those regions as an Audacity label track (``--mark-labels``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import click

from restore.analysis import analyze_blocks, file_reader
from restore.cli import cli
from restore.cli.batch import (
    InputItem,
    check_outputs,
    collect_inputs,
    command_line,
    device_option,
    output_for,
    output_option,
    overwrite_option,
    plan_outputs,
    progress,
    recursive_option,
    require_device,
    run_batch,
    select_shard,
    shard_option,
    subtype_option,
)
from restore.diffusion.precision import resolved_name
from restore.errors import RestoreError
from restore.io import check_output_path
from restore.io.atomic import StagedFiles
from restore.io.sidecar import write_sidecar
from restore.tasks import inpaint as inpaint_task
from restore.tasks import transition as transition_task
from restore.tasks.bandwidth import extend_bandwidth
from restore.tasks.gaps import parse_gap, read_labels, write_labels
from restore.tasks.provenance import Region, label_rows
from restore.tasks.sampler import SamplingOptions, task_method
from restore.tasks.source import FileSink, FileSource

SEED_MAX = 2**63 - 1  # torch seeds are 64-bit; SEED + variant must stay below 2**64


def model_options(function: Callable) -> Callable:
    """--method, --model, --steps, --seed, --batch-size, --precision, --compile, --device."""
    options = [
        click.option("--method", type=click.Choice(["auto", "diffusion", "classical"]),
                     default="auto", show_default=True,
                     help="diffusion model, the classical method (no model needed), or auto: "
                          "for inpaint, AR interpolation for gaps under 75 ms (where it "
                          "measured better) and the model for longer ones; for declick and "
                          "declip the classical method (no model knows them yet); elsewhere "
                          "the model."),
        click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
                     help="Model file (default: the model shipped with restore)."),
        click.option("--steps", type=click.IntRange(1, 1000), default=None,
                     help="Sampler steps (default: the model's)."),
        click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True,
                     help="Random seed: the same seed gives the same output."),
        click.option("--batch-size", type=click.IntRange(1, 4096), default=None,
                     help="Windows sampled together (more is faster on a GPU, needs memory; "
                          "default: 4 on a CPU, 32 on CUDA)."),
        click.option("--precision", type=click.Choice(["fp32", "bf16", "auto"]), default="fp32",
                     show_default=True,
                     help="Arithmetic of the network (the sampler stays fp32). bf16 is faster "
                          "on a CPU with native bf16 and costs a little quality on bandwidth "
                          "extension (docs/results.md, 'Inference precision'; "
                          "docs/performance.md, 'bf16 on CPUs'); auto = bf16 on CUDA and on CPUs "
                          "with native bf16 (AVX512-BF16/AMX), else fp32."),
        click.option("--compile", "compile_network", is_flag=True,
                     help="torch.compile the network: faster on long inputs, the first batch "
                          "waits for compilation (about a minute on a CPU, which needs a C++ "
                          "compiler such as g++; ignored without one). docs/performance.md."),
        click.option("--skip-existing", is_flag=True,
                     help="Skip inputs whose output and its sidecar both exist (resume a "
                          "batch)."),
        click.option("--mark-labels", type=click.Path(path_type=Path), default=None,
                     help="Write the generated regions as an Audacity label file (a folder "
                          "when there are several inputs)."),
        device_option, subtype_option, overwrite_option, output_option,
    ]
    for option in reversed(options):
        function = option(function)
    return function


class Job:
    """What the commands share: the sampling options (the model loaded once), sidecars,
    labels, progress."""

    def __init__(self, ctx: click.Context, command: str, parameters: dict) -> None:
        self.quiet = bool(ctx.obj and ctx.obj.get("quiet"))
        self.command, self.parameters = command, parameters
        self.skip_existing = bool(ctx.params.get("skip_existing"))
        self._loaded: SamplingOptions | None = None
        if self.method != "classical":
            require_device(parameters["device"])

    @property
    def method(self) -> str:
        return task_method(self.parameters["method"], self.command.removeprefix("restore "))

    def options(self) -> SamplingOptions:
        """The run's sampling options; the model is loaded on the first call that needs it."""
        if self._loaded is not None:
            return self._loaded
        keys = ("model", "steps", "seed", "device", "precision", "compile", "batch_size")
        options = SamplingOptions(**{key: self.parameters[key] for key in keys})
        if self.method == "classical":
            return options
        self._loaded = options.loaded()
        return self._loaded

    def writer_options(self, staging: StagedFiles) -> dict:
        """AudioWriter options; outputs are staged and renamed together with their sidecars by
        :meth:`finish`."""
        return {"subtype": self.parameters["subtype"], "overwrite": self.parameters["overwrite"],
                "history": f"{self.command} (restore, method={self.method})",
                "widen_8_bit": True, "staging": staging}

    def finish(self, output: Path, inputs: list[Path], regions: list[Region], started: float,
               labels: Path | None, level: dict | None = None, *,
               staging: StagedFiles) -> None:
        """Write the output's sidecar, rename the staged output and its sidecar into place
        together, write the labels, report."""
        model = None
        if self._loaded is not None:
            loaded, device = self._loaded.model, self._loaded.model.device
            model = {"id": loaded.model_id, "sha256": loaded.sha256, "card": loaded.card,
                     "device": str(device),
                     "precision": resolved_name(self.parameters["precision"], device)}
        sidecar = write_sidecar(output, command=command_line(), parameters=self.parameters,
                                inputs=[str(path) for path in inputs], model=model,
                                timings={"total": round(time.perf_counter() - started, 3)},
                                generated_regions=regions, level=level, staging=staging)
        staging.commit(output, sidecar)
        if labels is not None:
            check_output_path(labels, inputs, self.parameters["overwrite"])
            write_labels(labels, label_rows(regions))
        if not self.quiet:
            gain = ""
            if level is not None and "b_gain_db" in level:
                gain = f", B's gain {level['b_gain_db']:+.2f} dB to stay within full scale"
            elif level is not None:
                gain = (f", {level['limited_seconds']:.3f} s limited by up to "
                        f"{level['max_reduction_db']:.2f} dB to stay within full scale")
            click.echo(f"{inputs[0]} -> {output} ({len(regions)} generated "
                       f"region{'s' if len(regions) != 1 else ''}{gain})")

    def produce(self, inputs: list[Path], outputs: list[Path], labels: Path | None,
                work: Callable[[list[FileSink], Callable[[dict], None]],
                               tuple[list[Region], dict | None]]) -> list[FileSink]:
        """Unless the outputs are complete and skipped (or refused, before any work):
        ``work(sinks, progress) -> (regions, level)`` into staged sinks for ``outputs`` with a
        progress bar over windows, then each output's sidecar (``labels`` with the first).
        Returns the sinks (none when skipped)."""
        if check_outputs(outputs, inputs, skip_existing=self.skip_existing,
                         overwrite=self.parameters["overwrite"], quiet=self.quiet):
            return []
        started = time.perf_counter()
        bar = progress(total=None, desc=inputs[0].name, quiet=self.quiet, unit="window")

        def advance(event: dict) -> None:
            bar.total = event["windows"]
            bar.update(event["windows_done"] - bar.n)

        with bar, StagedFiles() as staging:
            sinks = [FileSink(path, **self.writer_options(staging)) for path in outputs]
            regions, level = work(sinks, advance)
            for index, path in enumerate(outputs):  # every variant fills the same regions
                self.finish(path, inputs, regions, started, labels if index == 0 else None,
                            level, staging=staging)
        return sinks

    def run_each(self, ctx: click.Context, inputs: Iterable[Path], recursive: bool,
                 shard: tuple[int, int] | None, output: Path | None, default_suffix: str,
                 work: Callable[[InputItem, Path, bool], None]) -> None:
        """``work(item, output, several)`` for every input of this shard, outputs planned for
        all inputs first; exits with :func:`run_batch`'s code."""
        items = collect_inputs(inputs, recursive)
        several = len(items) > 1  # decided before sharding: every shard maps outputs alike
        planned = dict(zip(items, plan_outputs(items, output, default_suffix=default_suffix),
                           strict=True))
        ctx.exit(run_batch(select_shard(items, shard),
                           lambda item: work(item, planned[item], several), quiet=self.quiet,
                           of_total=len(items) if shard else None))


def labels_for(labels: Path | None, item: InputItem, several: bool) -> Path | None:
    """Label file of one input: ``labels`` itself, or a file in the ``labels`` folder."""
    if labels is None:
        return None
    if several or labels.is_dir():
        return labels / item.relative.with_name(f"{item.relative.stem}.labels.txt")
    return labels


def _variant_paths(output: Path, variants: int) -> list[Path]:
    if variants == 1:
        return [output]
    return [output.with_name(f"{output.stem}_v{index + 1}{output.suffix}")
            for index in range(variants)]


def _gaps_for(item: InputItem, gap_values: tuple[str, ...], gaps_file: Path | None,
              detect: bool, write_labels_to: Path | None, several: bool,
              overwrite: bool) -> list[tuple[float, float]]:
    gaps = []
    for value in gap_values:
        try:
            gaps.append(parse_gap(value))
        except ValueError as error:
            raise RestoreError(item.path, str(error)) from None
    if gaps_file is not None:
        label_file = gaps_file
        if gaps_file.is_dir():
            label_file = gaps_file / item.relative.with_name(f"{item.relative.stem}.labels.txt")
            if not label_file.exists():
                label_file = label_file.with_name(f"{item.relative.stem}.txt")
        gaps += read_labels(label_file)
    if detect:
        found = analyze_blocks(item.path)[1].dropouts(read=file_reader(item.path))
        if write_labels_to is not None:
            target = labels_for(write_labels_to, item, several)
            check_output_path(target, [item.path], overwrite)
            write_labels(target, [(start, end, "dropout") for start, end in found])
        gaps += found
    return gaps


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--gap", "gap_values", multiple=True, metavar="START:END",
              help="A gap to fill, seconds (12.5:12.75) or clock times "
                   "(0:01:02.5-0:01:02.75). Repeatable.")
@click.option("--gaps", "gaps_file", type=click.Path(path_type=Path), default=None,
              help="Audacity label file of gaps (start<TAB>end[<TAB>label], seconds); a folder "
                   "of <name>.labels.txt files when there are several inputs.")
@click.option("--detect", is_flag=True,
              help="Find dropouts (digital silence, sudden drops inside programme) and fill them.")
@click.option("--write-labels", type=click.Path(path_type=Path), default=None,
              help="With --detect: save the dropouts found as an Audacity label file.")
@click.option("--variants", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Write N alternative fills (seeds SEED..SEED+N-1) as <name>_v1 ... _vN.")
@recursive_option
@shard_option
@model_options
@click.pass_context
def inpaint(ctx: click.Context, inputs, gap_values, gaps_file, detect, write_labels,
            variants, recursive, shard, **options) -> None:
    """Fill gaps (dropouts) in INPUTS; samples outside gaps (+2 ms margins) are kept exactly."""
    if not (gap_values or gaps_file or detect):
        raise click.UsageError("give the gaps: --gap START:END, --gaps LABELS.txt or --detect")
    job = Job(ctx, "restore inpaint", {**_parameters(options), "variants": variants,
                                       "gaps": list(gap_values), "detect": detect})

    def process(item: InputItem, output: Path, several: bool) -> None:
        def work(sinks: list[FileSink], progress: Callable[[dict], None]) -> tuple[list, None]:
            gaps = _gaps_for(item, gap_values, gaps_file, detect, write_labels, several,
                             options["overwrite"])
            return inpaint_task.inpaint(FileSource(item.path), sinks, gaps, method=job.method,
                                        options=job.options(), callback=progress), None

        job.produce([item.path], _variant_paths(output, variants),
                    labels_for(options["mark_labels"], item, several), work)

    job.run_each(ctx, inputs, recursive, shard, options["output"], "_inpainted", process)


def _parameters(options: dict) -> dict:
    keys = ("method", "steps", "seed", "batch_size", "precision", "device", "subtype",
            "overwrite")
    parameters = {key: options[key] for key in keys}
    parameters["compile"] = options["compile_network"]
    parameters["model"] = None if options["model_path"] is None else str(options["model_path"])
    return parameters


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rate", type=click.IntRange(8000, 384_000), default=48_000, show_default=True,
              help="Output sample rate (the model works at 48 kHz; 44100 and 48000 are native).")
@click.option("--cutoff", type=click.FloatRange(min=100.0), default=None, metavar="HZ",
              help="Effective bandwidth of the input (default: detected).")
@recursive_option
@shard_option
@model_options
@click.pass_context
def upsample(ctx: click.Context, inputs, rate, cutoff, recursive, shard, **options) -> None:
    """Extend the bandwidth of INPUTS to --rate; the band the input has is kept."""
    job = Job(ctx, "restore upsample", {**_parameters(options), "rate": rate, "cutoff": cutoff})

    def process(item: InputItem, output: Path, several: bool) -> None:
        notes: list[str] = []
        job.produce([item.path], [output], labels_for(options["mark_labels"], item, several),
                    lambda sinks, progress: extend_bandwidth(
                        FileSource(item.path), sinks[0], rate, cutoff_hz=cutoff,
                        method=job.method, options=job.options(), callback=progress,
                        notes=notes))
        for note in notes if not job.quiet else ():
            click.echo(f"restore: note: {item.path}: {note}", err=True)

    job.run_each(ctx, inputs, recursive, shard, options["output"], "_upsampled", process)


@cli.command()
@click.argument("first", type=click.Path(path_type=Path))
@click.argument("second", type=click.Path(path_type=Path))
@click.option("--length", "length_seconds", type=click.FloatRange(0.0, 4.0), required=True,
              help="Bridge length in seconds.")
@click.option("--bridge-only", is_flag=True, help="Write only the generated bridge.")
@click.option("--match-loudness", is_flag=True,
              help="Scale B to A's integrated loudness (pyloudnorm) before bridging.")
@model_options
@click.pass_context
def transition(ctx: click.Context, first, second, length_seconds, bridge_only, match_loudness,
               **options) -> None:
    """Join FIRST and SECOND with a generated bridge: OUT = A + bridge + B (at A's format)."""
    job = Job(ctx, "restore transition", {**_parameters(options), "length": length_seconds,
                                          "bridge_only": bridge_only,
                                          "match_loudness": match_loudness})
    item = InputItem(first, Path(first.name))

    def process(_item: InputItem) -> None:
        b = FileSource(second)  # a bad B is reported before any work
        suffix = "_bridge" if bridge_only else "_transition"
        job.produce([first, second], [output_for(item, options["output"], False, suffix)],
                    options["mark_labels"], lambda sinks, progress: transition_task.transition(
                        FileSource(first), b, sinks[0], length_seconds, bridge_only=bridge_only,
                        match_loudness=match_loudness, method=job.method,
                        options=job.options(), callback=progress))

    ctx.exit(run_batch([item], process, quiet=job.quiet))
