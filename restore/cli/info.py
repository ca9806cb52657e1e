"""``restore info``: format, levels, loudness, bandwidth, dropouts; ``restore convert``."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import click

from restore import io
from restore.analysis import CLIP_LEVEL, analyze_file
from restore.cli import cli
from restore.cli.batch import (
    InputItem,
    check_outputs,
    collect_inputs,
    command_line,
    output_option,
    overwrite_option,
    plan_outputs,
    progress,
    recursive_option,
    run_batch,
    subtype_option,
)
from restore.errors import RestoreError
from restore.io import check_output_path
from restore.io.atomic import StagedFiles, write_bytes
from restore.io.sidecar import write_sidecar
from restore.tasks.repair import damage_report
from restore.tasks.source import FileSource

CONVERT_BLOCK_FRAMES = 1 << 16  # frames per read/write block: memory is bounded by this


def format_time(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:06.3f}"


def _level(value: float | None, unit: str) -> str:
    return f"{value:.2f} {unit}" if value is not None else f"-inf {unit} (digital silence)"


def bandwidth_text(report: dict[str, Any]) -> str:
    """The bandwidth line with its evidence: the drop at the edge and the floor above it."""
    cutoff, nyquist = report["cutoff_hz"], report["nyquist_hz"]
    evidence = report.get("bandwidth") or {}
    drop, floor = evidence.get("drop_db"), evidence.get("floor_dbfs")
    if cutoff < nyquist:
        return (f"{cutoff / 1000:.1f} kHz of {nyquist / 1000:.1f} kHz (band-limited: drops "
                f"{drop:.0f} dB within {evidence['cliff_hz'] / 1000:.1f} kHz to a floor at "
                f"{floor:.0f} dBFS in every stretch)")
    text = f"full band ({nyquist / 1000:.1f} kHz"
    if drop is not None:
        text += (f"; content fades out near {evidence['edge_hz'] / 1000:.1f} kHz without a "
                 f"cliff: {drop:.0f} dB over {evidence['cliff_hz'] / 1000:.1f} kHz")
    return text + ")"


def clipping_lines(report: dict[str, Any]) -> list[str]:
    """Two shares of clipped samples, each named by what it counts: samples at full scale
    (:mod:`restore.analysis`) and samples at the clip levels ``restore declip`` detects, which
    may lie below full scale (:func:`restore.tasks.repair.damage_report`)."""
    full_scale = (f"  full scale {100 * report['clipped_share']:.4f} % of samples at or above "
                  f"{20 * math.log10(CLIP_LEVEL):.3f} dBFS")
    levels = [f"ch{index + 1} " + " / ".join("-" if value is None else f"{value:.2f}"
                                               for value in pair)
              for index, pair in enumerate(report["clip_levels_dbfs"])
              if any(value is not None for value in pair)]
    if not levels:
        return [full_scale, "  clipping   no clip level found"]
    return [full_scale, f"  clipping   {100 * report['clipped_at_level_share']:.4f} % of "
                        "samples at the detected clip levels: " + ", ".join(levels)
                        + " dBFS (+ / -)"]


def render(report: dict[str, Any]) -> str:
    """Human-readable block for one file."""
    bandwidth = bandwidth_text(report)
    dropouts = report["dropouts"]
    lines = [
        report["path"],
        f"  format     {report['container']} {report['subtype']}, {report['sample_rate']} Hz, "
        f"{report['channels']} channel{'s' if report['channels'] != 1 else ''}",
        f"  duration   {format_time(report['duration_seconds'])} ({report['frames']} frames)",
        f"  peak       {_level(report['peak_dbfs'], 'dBFS')}",
        f"  loudness   {_level(report['loudness_lufs'], 'LUFS')}",
        f"  bandwidth  {bandwidth}",
        *clipping_lines(report),
        f"  clicks     {report['clicks']}",
        f"  dropouts   {len(dropouts)} candidate{'s' if len(dropouts) != 1 else ''}",
    ]
    if report["metadata"]:
        tags = ", ".join(f"{key}={value!r}" for key, value in sorted(report["metadata"].items()))
        lines.insert(3, f"  tags       {tags}")
    lines += [f"             {format_time(item['start'])} - {format_time(item['end'])}"
              for item in dropouts[:20]]
    if len(dropouts) > 20:
        lines.append(f"             ... {len(dropouts) - 20} more (see --json or --labels)")
    return "\n".join(lines)


def labels_text(report: dict[str, Any]) -> str:
    """Audacity label track: ``start<TAB>end<TAB>label`` per line, seconds."""
    return "".join(f"{item['start']:.6f}\t{item['end']:.6f}\tdropout candidate\n"
                   for item in report["dropouts"])


def write_text_atomically(path: Path, text: str, overwrite: bool, inputs: list[Path]) -> None:
    check_output_path(path, inputs, overwrite)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RestoreError(path, f"cannot write: {error.strerror or error}") from error
    write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def labels_path(item: InputItem, labels: Path, several: bool) -> Path:
    if several or labels.is_dir():
        return labels / item.relative.with_name(item.relative.stem + ".labels.txt")
    return labels


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per file.")
@click.option("--labels", type=click.Path(path_type=Path), default=None,
              help="Write dropout candidates as an Audacity label file (a folder when several "
                   "files are given).")
@recursive_option
@overwrite_option
@click.pass_context
def info(ctx: click.Context, files: tuple[Path, ...], as_json: bool, labels: Path | None,
         recursive: bool, overwrite: bool) -> None:
    """Describe audio FILES: format, peak, loudness, bandwidth, dropouts, clipping."""
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    items = collect_inputs(files, recursive)
    several = len(items) > 1
    reports: list[dict[str, Any]] = []

    def process(item: InputItem) -> None:
        io.read_info(item.path)  # bad files fail here, before any analysis
        with progress(total=None, desc=item.path.name, quiet=quiet, unit="frame") as bar:
            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            report = analyze_file(item.path, callback=advance)
        report.update(damage_report(FileSource(item.path)))
        if labels is not None:
            write_text_atomically(labels_path(item, labels, several), labels_text(report),
                                  overwrite, [item.path])
        reports.append(report)
        if not as_json:
            click.echo(render(report))

    code = run_batch(items, process, quiet=quiet)
    if as_json:
        click.echo(json.dumps(reports, indent=2))
    ctx.exit(code)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option
@subtype_option
@recursive_option
@overwrite_option
@click.pass_context
def convert(ctx: click.Context, files: tuple[Path, ...], output: Path | None,
            subtype: str | None, recursive: bool, overwrite: bool) -> None:
    """Copy FILES into WAV/FLAC (by the output's extension) block by block, with a sidecar.

    Broadcast WAV chunks are carried; the samples are unchanged unless --subtype asks for a
    different bit depth. Useful to move MP3/OGG/AIFF material into WAV, or WAV into FLAC.
    """
    quiet = bool(ctx.obj and ctx.obj.get("quiet"))
    items = collect_inputs(files, recursive)
    planned = dict(zip(items, plan_outputs(items, output, default_suffix="_converted"),
                       strict=True))

    def process(item: InputItem) -> None:
        target = planned[item]
        check_outputs([target], [item.path], skip_existing=False, overwrite=overwrite,
                      quiet=quiet)
        started = time.perf_counter()
        source = io.read_info(item.path)
        exact = "float64" if source.subtype in ("PCM_32", "DOUBLE") else "float32"
        with StagedFiles() as staging:
            with io.AudioWriter(target, source.sample_rate, source.channels, like=source,
                                subtype=subtype, overwrite=overwrite, inputs=[item.path],
                                history="converted", frames=source.frames,
                                staging=staging) as writer, \
                    progress(total=source.frames, desc=item.path.name, quiet=quiet,
                             unit="frame") as bar:
                for block in io.iter_blocks(item.path, CONVERT_BLOCK_FRAMES, dtype=exact):
                    writer.write(block)
                    bar.update(block.shape[1])
            write_sidecar(target, command=command_line(),
                          parameters={"subtype": writer.subtype, "container": writer.container},
                          inputs=[item.path],
                          timings={"total": round(time.perf_counter() - started, 3)},
                          staging=staging)
            staging.commit()
        if not quiet:
            click.echo(f"{item.path} -> {target}")

    ctx.exit(run_batch(items, process, quiet=quiet))
