"""Where corpus audio comes from: tracks from folders, Debian packages and archives inside them.

A :class:`Track` is one source recording (the unit of the train/valid/test split). Its audio is
loaded lazily in a worker by ``load()``, which returns ``(samples float32 [frames], rate)``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aif", ".aiff", ".w64", ".rf64",
                  ".caf", ".au")
ARCHIVE_SUFFIXES = (".pk3", ".zip")
DEBIAN_DOC = Path("/usr/share/doc")


@dataclasses.dataclass(frozen=True)
class Track:
    """One source recording: ``track`` is unique in a corpus and decides the split."""

    track: str                      # unique id, e.g. "hyperrogue-music/hr-domina-hunting.ogg"
    source: str                     # recipe or package name
    licence: str                    # as the source states it
    load: Callable[[], tuple[np.ndarray, int]] = dataclasses.field(compare=False, repr=False)
    extra: dict = dataclasses.field(default_factory=dict, compare=False)
    group: str | None = None        # tracks of one group share a split (default: own id)

    @property
    def split_key(self) -> str:
        return self.group or self.track


def read_audio_bytes(data: bytes | str | Path) -> tuple[np.ndarray, int]:
    """Decode a file (path or bytes) with libsndfile into mono float32 ``[frames]`` and rate."""
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    samples, rate = soundfile.read(source, dtype="float32", always_2d=True)
    return samples.mean(axis=1), int(rate)


class _FileLoader:
    """Picklable loader of one file (or one member of a zip archive)."""

    def __init__(self, path: Path, member: str | None = None) -> None:
        self.path, self.member = path, member

    def __call__(self) -> tuple[np.ndarray, int]:
        if self.member is None:
            return read_audio_bytes(self.path)
        with zipfile.ZipFile(self.path) as archive:
            return read_audio_bytes(archive.read(self.member))


def folder_tracks(folder: str | Path, licence: str, source: str | None = None) -> list[Track]:
    """Every audio file under ``folder`` (recursively, plus audio inside .pk3/.zip archives)."""
    folder = Path(folder)
    name = source or folder.name
    tracks = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        suffix = path.suffix.lower()
        if suffix in AUDIO_SUFFIXES and path.is_file():
            tracks.append(Track(f"{name}/{relative}", name, licence, _FileLoader(path)))
        elif suffix in ARCHIVE_SUFFIXES and path.is_file():
            tracks += _archive_tracks(path, f"{name}/{relative}", name, licence)
    return tracks


def _archive_tracks(path: Path, prefix: str, source: str, licence: str) -> list[Track]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(AUDIO_SUFFIXES)]
    except (OSError, zipfile.BadZipFile):
        return [Track(prefix, source, licence, _FileLoader(path))]  # fails later, is counted
    return [Track(f"{prefix}!{m}", source, licence, _FileLoader(path, m)) for m in sorted(members)]


def package_files(package: str) -> list[Path]:
    """Files installed by Debian ``package`` (from dpkg's list), empty when not installed."""
    listing = Path("/var/lib/dpkg/info") / f"{package}.list"
    if not listing.exists():
        return []
    return [Path(line) for line in listing.read_text().splitlines() if line]


def package_tracks(package: str) -> list[Track]:
    """Audio files (and audio inside .pk3/.zip archives) that Debian ``package`` installs."""
    tracks = []
    for path in package_files(package):
        if "/doc/" in path.as_posix() or not path.is_file():
            continue
        suffix = path.suffix.lower()
        track_id = f"{package}/{path.name}"
        if suffix in AUDIO_SUFFIXES:
            licence = package_licence(package, path)
            tracks.append(Track(track_id, package, licence, _FileLoader(path)))
        elif suffix in ARCHIVE_SUFFIXES:
            tracks += _archive_tracks(path, track_id, package, package_licence(package, path))
    return tracks


def package_licence(package: str, path: Path | None = None) -> str:
    """The licence ``package``'s Debian copyright file states (for ``path`` where the file
    is machine-readable and has per-file stanzas), with the file it comes from."""
    copyright_file = DEBIAN_DOC / package / "copyright"
    try:
        text = copyright_file.read_text(errors="replace")
    except OSError:
        return f"unknown (no {copyright_file})"
    stanzas = _dep5_stanzas(text)
    if stanzas:
        licence = _dep5_match(stanzas, path)
    else:
        licence = _free_text_licence(text)
    return f"{licence} (per {copyright_file})"


def _dep5_stanzas(text: str) -> list[tuple[list[str], str]]:
    stanzas = []
    for paragraph in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:(.*(?:\n[ \t].*)*)", paragraph, re.M)
        licence = re.search(r"^License:\s*(.+)$", paragraph, re.M)
        if files and licence:
            stanzas.append((files.group(1).split(), licence.group(1).strip()))
    return stanzas


def _dep5_match(stanzas: list[tuple[list[str], str]], path: Path | None) -> str:
    """Last stanza whose pattern matches a tail of ``path`` (DEP-5: last match wins)."""
    chosen = next((lic for patterns, lic in stanzas if "*" in patterns), stanzas[0][1])
    if path is None:
        return chosen
    parts = path.parts
    tails = ["/".join(parts[-k:]) for k in range(1, min(len(parts), 5))]
    for patterns, licence in stanzas:
        if "*" in patterns:
            continue
        if any(fnmatch.fnmatchcase(tail, pattern) for pattern in patterns for tail in tails):
            chosen = licence
    return chosen


_FREE_TEXT = [
    (r"GNU General Public License[^.]*version 2[^.]*or[^.]*later", "GPL-2+"),
    (r"GNU General Public License[^.]*version 3", "GPL-3"),
    (r"GNU General Public License", "GPL"),
    (r"Attribution,\s*ShareAlike", "CC-BY-SA"),
    (r"Permission is hereby granted, free of charge", "MIT"),
    (r"Creative Commons", "Creative Commons (see file)"),
]


def _free_text_licence(text: str) -> str:
    compact = " ".join(text.split())
    for pattern, name in _FREE_TEXT:
        if re.search(pattern, compact, re.I):
            return name
    return "see copyright file"
