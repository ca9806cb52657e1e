"""Shared machinery of the file-processing commands: inputs, outputs, per-file errors, options.

A command collects its inputs with :func:`collect_inputs`, maps them all to outputs with
:func:`plan_outputs` before any work (names never collide), and hands a per-file function to
:func:`run_batch`, which reports a failing file in one line and goes on with the next, then
prints a summary and returns the exit code. :func:`check_outputs` decides, before a file's work,
whether its outputs are complete (skipped with ``--skip-existing``) or may be written.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import torch
from tqdm import tqdm

from restore.cli import workers
from restore.errors import RestoreError
from restore.io import READABLE_EXTENSIONS, check_output_path
from restore.io.formats import CONTAINER_BY_EXTENSION
from restore.io.sidecar import sidecar_path

# Extensions picked up when a folder is given: everything libsndfile or PyAV reads.
AUDIO_EXTENSIONS: tuple[str, ...] = READABLE_EXTENSIONS
DEFAULT_SUFFIX = "_restored"  # output name beside the input when no --output is given
FALLBACK_EXTENSION = ".wav"  # for inputs whose container is not written (MP3, OGG, ...)


@dataclass(frozen=True)
class InputItem:
    """One input file and its path relative to the command-line argument it came from."""

    path: Path
    relative: Path


def collect_inputs(paths: Iterable[str | Path], recursive: bool,
                   extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[InputItem]:
    """Expand arguments into input files, in a stable order, without duplicates.

    A folder contributes the audio files in it (``recursive``: in its whole tree). A folder
    without ``recursive``, or a missing path, stays an item so that :func:`run_batch` reports it.
    """
    items: list[InputItem] = []
    seen: set[Path] = set()
    for argument in paths:
        path = Path(argument)
        if path.is_dir() and recursive:
            found = sorted(file for file in path.rglob("*") if file.is_file()
                           and file.suffix.lower() in extensions and not file.name.startswith("."))
            candidates = [InputItem(file, file.relative_to(path)) for file in found]
            if not candidates:  # kept, so that run_batch reports the empty folder
                candidates = [InputItem(path, Path(path.name))]
        else:
            candidates = [InputItem(path, Path(path.name))]
        for item in candidates:
            key = item.path.resolve()
            if key not in seen:
                seen.add(key)
                items.append(item)
    return items


def output_for(item: InputItem, output: Path | None, several: bool, suffix: str = "", *,
               default_suffix: str = DEFAULT_SUFFIX, tag: bool = False) -> Path:
    """Output path of ``item``.

    ``output`` is a file for one input, a folder for several (sub-folders mirrored from
    ``item.relative``). With no ``output`` the result goes beside the input, named
    ``<stem><suffix or default_suffix><ext>``. Inputs in a container this tool does not write
    (MP3, OGG, M4A, ...) get a ``.wav`` output. ``tag`` puts the input's extension in the name
    (``song_mp3.wav``), for inputs that would otherwise share an output.
    """
    extension = item.path.suffix.lower()
    if extension not in CONTAINER_BY_EXTENSION:
        extension = FALLBACK_EXTENSION
    label = f"_{item.path.suffix.lstrip('.').lower()}" if tag and item.path.suffix else ""
    if output is None:
        return item.path.with_name(f"{item.path.stem}{label}{suffix or default_suffix}"
                                   f"{extension}")
    output = Path(output)
    if several or output.is_dir():
        relative = item.relative.with_name(f"{item.relative.stem}{label}{suffix}{extension}")
        return output / relative
    return output


def plan_outputs(items: Sequence[InputItem], output: Path | None, suffix: str = "", *,
                 default_suffix: str = DEFAULT_SUFFIX) -> list[Path]:
    """Outputs of all ``items`` (before sharding), decided before any work.

    Inputs that would share an output (``song.mp3`` and ``song.ogg`` -> ``song.wav``) get their
    extension in the name (``song_mp3.wav``, ``song_ogg.wav``); names that still collide, and
    ``-o FILE`` with several inputs, are refused with a RestoreError.
    """
    several = len(items) > 1
    if (several and output is not None and not output.is_dir()
            and (output.is_file() or output.suffix.lower() in CONTAINER_BY_EXTENSION)):
        raise RestoreError(output, f"-o names one file but there are {len(items)} inputs; "
                                   "give a folder")
    paths = [output_for(item, output, several, suffix, default_suffix=default_suffix)
             for item in items]
    for index in _clashing(paths):
        paths[index] = output_for(items[index], output, several, suffix,
                                  default_suffix=default_suffix, tag=True)
    clashes = _clashing(paths)
    if clashes:
        first, second = (items[index].path for index in clashes[:2])
        raise RestoreError(paths[clashes[0]], f"{first} and {second} would both be written "
                                              "here; rename one or process them separately")
    return paths


def _clashing(paths: Sequence[Path]) -> list[int]:
    """Indexes of the paths that occur more than once."""
    seen: dict[Path, list[int]] = {}
    for index, path in enumerate(paths):
        seen.setdefault(path.absolute(), []).append(index)
    return sorted(index for group in seen.values() if len(group) > 1 for index in group)


def check_outputs(outputs: Sequence[Path], inputs: Sequence[Path], *, skip_existing: bool,
                  overwrite: bool, quiet: bool) -> bool:
    """Before a file's work: True when its outputs are complete and ``skip_existing`` skips them.

    Complete means the output and its sidecar both exist (they are renamed into place together).
    Otherwise every output is checked as :func:`restore.io.check_output_path` does (not an
    input, not existing unless ``overwrite``), so nothing is computed for a refused output.
    """
    complete = all(path.is_file() and sidecar_path(path).is_file() for path in outputs)
    if skip_existing and complete:
        if not quiet:
            click.echo(f"skipped (exists): {outputs[0]}", err=True)
        return True
    for path in outputs:
        if skip_existing and not overwrite and path.exists():
            raise RestoreError(path, "output exists without its sidecar (an incomplete run or "
                                     "another program's file); pass --overwrite to redo it")
        check_output_path(path, inputs, overwrite)
    return False


def command_line() -> str:
    """The command line as run, for sidecars (``restore`` and its arguments, shell-quoted)."""
    return shlex.join(["restore", *sys.argv[1:]])


def _folder_reason(path: Path) -> str:
    if any(file.suffix.lower() in AUDIO_EXTENSIONS for file in path.rglob("*")):
        return "is a directory, not an audio file (pass --recursive to process the files in it)"
    return "is a directory with no audio files in it"


def _debug() -> bool:
    context = click.get_current_context(silent=True)
    root = context.find_root() if context else None
    return bool(root and root.obj and root.obj.get("debug"))


def run_batch(items: Sequence[InputItem], process: Callable[[InputItem], None], *,
              quiet: bool, of_total: int | None = None) -> int:
    """Run ``process`` on each item; one error line per failure; summary; exit code 0 or 1.

    ``of_total``: the items are one shard of a batch of that many. A shard with nothing to do
    succeeds; under torchrun the worker then waits for the others (:mod:`restore.cli.workers`).
    """
    failed: list[Path] = []
    for item in progress(items, desc="files", quiet=quiet or len(items) < 2, unit="file"):
        try:
            if item.path.is_dir():
                raise RestoreError(item.path, _folder_reason(item.path))
            process(item)
        except RestoreError as error:
            if _debug():
                raise
            click.echo(f"restore: error: {error}", err=True)
            failed.append(item.path)
        except (KeyboardInterrupt, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # unexpected: still one line per file unless --debug
            if _debug():
                raise
            click.echo(f"restore: error: {item.path}: {type(error).__name__}: {error}", err=True)
            failed.append(item.path)
    code = _summarise(items, failed, of_total, quiet)
    if of_total is not None:
        workers.wait_for_other_workers(quiet=quiet)
    return code


def _summarise(items: Sequence[InputItem], failed: list[Path], of_total: int | None,
               quiet: bool) -> int:
    if not items and of_total:
        if not quiet:
            click.echo(f"restore: this shard has none of the {of_total} input files", err=True)
        return 0
    if not items:
        click.echo("restore: error: no input files", err=True)
        return 1
    if len(items) > 1 or of_total is not None:
        done = len(items) - len(failed)
        summary = f"restore: {done} of {len(items)} files done"
        if of_total is not None and of_total != len(items):
            summary += f" (this shard of {of_total})"
        if failed:
            summary += f", {len(failed)} failed: " + ", ".join(str(path) for path in failed)
        click.echo(summary, err=True)
    return 1 if failed else 0


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
             quiet: bool = False, unit: str = "it") -> tqdm:
    """A tqdm bar on stderr, shown only after one second and only when stdout is a terminal."""
    disable = quiet or not sys.stdout.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, unit_scale=True, disable=disable,
                delay=1.0, leave=False, file=sys.stderr)


# -- reusable options ---------------------------------------------------------------------------
def output_option(function: Callable) -> Callable:
    return click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
                        help="Output file, or folder when there are several inputs "
                             "(sub-folders mirrored with --recursive; inputs that would share "
                             "a name get their extension in it: song_mp3.wav).")(function)


def overwrite_option(function: Callable) -> Callable:
    return click.option("--overwrite", is_flag=True,
                        help="Replace existing output files (inputs are never replaced).")(function)


def recursive_option(function: Callable) -> Callable:
    return click.option("-r", "--recursive", is_flag=True,
                        help="Process the audio files in folders given as inputs, "
                             "sub-folders included.")(function)


def subtype_option(function: Callable) -> Callable:
    return click.option("--subtype", default=None, metavar="SUBTYPE",
                        callback=lambda _ctx, _param, value: value.upper() if value else None,
                        help="Output sample format, e.g. PCM_16, PCM_24, FLOAT "
                             "(default: same as the input).")(function)


def _check_device(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
        raise click.BadParameter("must be auto, cpu, cuda or cuda:N")
    return value


def require_device(device: str) -> None:
    """Refuse, before any work, a ``--device cuda[:N]`` that this machine does not have."""
    if not device.startswith("cuda"):
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.partition(":")[2] or 0)
    if count == 0:
        raise click.BadParameter("no usable CUDA GPU here (no GPU, or no NVIDIA driver); use "
                                 "--device cpu or auto", param_hint="'--device'")
    if index >= count:
        raise click.BadParameter(f"{device}: this machine has {count} CUDA GPU(s), "
                                 f"cuda:0 to cuda:{count - 1}", param_hint="'--device'")


def device_option(function: Callable) -> Callable:
    return click.option("--device", default="auto", show_default=True, callback=_check_device,
                        metavar="auto|cpu|cuda[:N]", help="Where the model runs.")(function)


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``"K/N"`` -> ``(K, N)``; ``"auto"`` -> ``(RANK, WORLD_SIZE)`` as set by ``torchrun`` (None
    when the process was not started by it); None -> None (no sharding)."""
    if value is None:
        return None
    if value == "auto":
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            return None
        value = f"{os.environ['RANK']}/{os.environ['WORLD_SIZE']}"
    match = re.fullmatch(r"(\d+)/(\d+)", value)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise click.BadParameter(f"{value!r}: expected K/N with 0 <= K < N, or auto")
    return int(match[1]), int(match[2])


def select_shard(items: Sequence[InputItem], shard: tuple[int, int] | None) -> list[InputItem]:
    """The items of shard ``(K, N)``: every N-th item starting at K (all items for None).

    Items come in a stable order (:func:`collect_inputs`), so N processes given the same
    arguments split the work with each file processed exactly once.
    """
    if shard is None:
        return list(items)
    index, count = shard
    return list(items[index::count])


def shard_option(function: Callable) -> Callable:
    return click.option(
        "--shard", default=None, metavar="K/N|auto",
        callback=lambda _ctx, _param, value: parse_shard(value),
        help="Process only every N-th input starting at K (0-based), so N processes or "
             "machines share a batch; auto: K and N from torchrun's RANK and WORLD_SIZE.")(function)
