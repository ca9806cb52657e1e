"""The one way restore puts a file in place: write a hidden temporary file in the target folder,
fsync it, rename it over the final name, fsync the folder.

:class:`StagedFiles` renames several temporaries together, for an output that is complete only
with its sidecar: both are written first, then the sidecar is renamed into place, then the audio.
A crash between the two renames leaves a sidecar without its audio (rewritten by the next run),
never audio without its record. Any failure before the renames removes every temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from restore.errors import RestoreError
from restore.io.formats import default_file_mode, describe_error, sync_directory

TEMP_SUFFIX = ".restore-part"


def new_temp(target: Path) -> Path:
    """An empty hidden ``.<name>.<random>.restore-part`` file beside ``target`` (usual mode).

    Raises OSError (the caller words it: the folder is not writable, the disk is full, ...).
    """
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX,
                                        dir=target.parent)
    os.close(descriptor)
    os.chmod(name, default_file_mode())  # mkstemp makes 0600; outputs get the usual mode
    return Path(name)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def write_with(target: str | Path, write: Callable[[Path], None], *,
               overwrite: bool = True) -> Path:
    """Put a file at ``target`` atomically: ``write(temp)`` fills a temporary beside it, which is
    then renamed over ``target`` (the folder is created if missing). Returns ``target``.

    ``write`` may not rely on the temporary's suffix (pass the format explicitly). An OSError
    becomes a RestoreError; anything else ``write`` raises passes through, the temporary removed.
    """
    target = Path(target)
    with StagedFiles() as staged:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = new_temp(target)
            staged.add(temp, target, replace=overwrite)
            write(temp)
        except OSError as error:
            raise RestoreError(target, f"cannot write: {describe_error(error)}") from error
        staged.commit()
    return target


def write_bytes(target: str | Path, payload: bytes, *, overwrite: bool = True) -> Path:
    """Write ``payload`` to ``target`` atomically; raises RestoreError on failure."""
    return write_with(target, lambda temp: temp.write_bytes(payload), overwrite=overwrite)


def write_text(target: str | Path, text: str, *, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically; raises RestoreError on failure."""
    return write_bytes(target, text.encode("utf-8"), overwrite=overwrite)


class StagedFiles:
    """Temporary files waiting to be renamed into place together.

    ``with StagedFiles() as staged: ...; staged.add(temp, final); ...; staged.commit()``.
    Leaving the block without :meth:`commit` (an error, Ctrl-C, SIGTERM) deletes the temporaries.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path, bool]] = []  # (temporary, final, may replace)

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        self.abort()
        return False

    def add(self, temp: Path, final: Path, *, replace: bool) -> None:
        """Stage ``temp`` to become ``final``; ``replace``: it may replace an existing file."""
        self._pending.append((Path(temp), Path(final), replace))

    def temp_for(self, final: Path) -> Path | None:
        """The staged temporary file that will become ``final``, if any."""
        return next((temp for temp, target, _ in self._pending if target == Path(final)), None)

    def commit(self, *finals: Path) -> None:
        """fsync the temporaries of ``finals`` (all when none are named), then rename them into
        place, last staged first."""
        wanted = {Path(final) for final in finals}
        chosen = [entry for entry in self._pending if not wanted or entry[1] in wanted]
        try:
            for temp, final, replace in chosen:
                fsync_file(temp)
                if not replace and final.exists():
                    raise RestoreError(final, "output appeared while writing; not replaced")
            for temp, final, replace in reversed(chosen):
                os.replace(temp, final)
                self._pending.remove((temp, final, replace))
        except OSError as error:
            raise RestoreError(chosen[-1][1], f"write failed: {describe_error(error)}") from error
        for folder in {final.parent for _, final, _ in chosen}:
            sync_directory(folder)

    def abort(self) -> None:
        """Delete the temporaries not yet renamed."""
        for temp, _, _ in self._pending:
            temp.unlink(missing_ok=True)
        self._pending.clear()
