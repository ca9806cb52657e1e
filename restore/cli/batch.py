"""Shared machinery of the file-processing commands: inputs, outputs, per-file errors, options.

A command collects its inputs with :func:`collect_inputs`, maps each to an output with
:func:`output_for` and hands a per-file function to :func:`run_batch`, which reports a failing
file in one line and goes on with the next, then prints a summary and returns the exit code.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click
from tqdm import tqdm

from restore.errors import RestoreError
from restore.io_format import CONTAINER_BY_EXTENSION

# Extensions picked up when a folder is given (libsndfile reads all of these).
AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".aif",
                                     ".aiff", ".aifc", ".ogg", ".oga", ".mp3", ".au", ".caf")
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


def output_for(item: InputItem, output: Path | None, several: bool, suffix: str = "") -> Path:
    """Output path of ``item``.

    ``output`` is a file for one input, a folder for several (sub-folders mirrored from
    ``item.relative``). With no ``output`` the result goes beside the input, named
    ``<stem><suffix or _restored><ext>``. Inputs in a container this tool does not write
    (MP3, OGG, ...) get a ``.wav`` output.
    """
    extension = item.path.suffix.lower()
    if extension not in CONTAINER_BY_EXTENSION:
        extension = FALLBACK_EXTENSION
    if output is None:
        return item.path.with_name(f"{item.path.stem}{suffix or DEFAULT_SUFFIX}{extension}")
    output = Path(output)
    if several or output.is_dir():
        relative = item.relative.with_name(f"{item.relative.stem}{suffix}{extension}")
        return output / relative
    return output


def _folder_reason(path: Path) -> str:
    if any(file.suffix.lower() in AUDIO_EXTENSIONS for file in path.rglob("*")):
        return "is a directory, not an audio file (pass --recursive to process the files in it)"
    return "is a directory with no audio files in it"


def _debug() -> bool:
    context = click.get_current_context(silent=True)
    root = context.find_root() if context else None
    return bool(root and root.obj and root.obj.get("debug"))


def run_batch(items: Sequence[InputItem], process: Callable[[InputItem], None], *,
              quiet: bool) -> int:
    """Run ``process`` on each item; one error line per failure; summary; exit code 0 or 1."""
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
    if not items:
        click.echo("restore: error: no input files", err=True)
        return 1
    if len(items) > 1:
        done = len(items) - len(failed)
        summary = f"restore: {done} of {len(items)} files done"
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
                             "(sub-folders mirrored with --recursive).")(function)


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
