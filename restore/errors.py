"""Exceptions that the CLI turns into one-line messages: ``restore: error: <path>: <reason>``."""

from __future__ import annotations

from pathlib import Path


class RestoreError(Exception):
    """An expected failure tied to one file (bad input, unwritable output, ...).

    The CLI prints ``restore: error: <path>: <reason>`` and goes on with the next file.
    """

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class ModelError(RestoreError):
    """A model file that is missing, corrupt, of an unknown format version or of wrong shapes."""
