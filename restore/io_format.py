"""Shared pieces of the audio I/O modules: :class:`AudioInfo`, format choice, error wording."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

from restore.errors import RestoreError


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: container ("WAV", "FLAC", ...), subtype ("PCM_24", ...), shape, tags."""

    path: str
    container: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def describe_error(error: BaseException) -> str:
    """Short human reason for an OS or libsndfile error."""
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return "disk full (no space left on device)"
        if error.errno == errno.EFBIG:
            return "file too large for this file system or limit"
        if error.errno in (errno.EACCES, errno.EPERM):
            return "permission denied"
        if error.errno == errno.EROFS:
            return "read-only file system"
        return error.strerror or str(error)
    text = getattr(error, "error_string", None) or str(error)
    return text.strip().rstrip(".")


def sync_directory(folder: Path) -> None:
    """fsync a folder so that a rename inside it is durable (no-op where unsupported)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# Output containers this tool writes (lossless only), by file extension.
CONTAINER_BY_EXTENSION = {".wav": "WAV", ".wave": "WAV", ".bwf": "WAV", ".rf64": "RF64",
                          ".w64": "W64", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF"}
WRITABLE_CONTAINERS = ("WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF")
WAV_FAMILY = ("WAV", "WAVEX", "RF64")
DEFAULT_SUBTYPE = "PCM_24"  # used when the input's subtype cannot be kept (lossy or float->FLAC)
# Lossy encodings libsndfile can read (and claims for WAV) but this tool never writes.
LOSSY_SUBTYPES = ("MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS",
                  "GSM610", "G721_32", "G723_24", "G723_40", "IMA_ADPCM", "MS_ADPCM",
                  "VOX_ADPCM", "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32")
BYTES_PER_SAMPLE = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
                    "FLOAT": 4, "DOUBLE": 8, "ULAW": 1, "ALAW": 1}


def choose_container(path: Path, container: str | None, like: AudioInfo | None) -> str:
    """Output container: explicit ``container``, else the extension (WAV keeps WAVEX/RF64 of
    a WAV-family input)."""
    if container is not None:
        name = container.upper()
        if name not in WRITABLE_CONTAINERS:
            raise RestoreError(path, f"cannot write {container} files; writable: "
                                     + ", ".join(WRITABLE_CONTAINERS))
        return name
    extension = path.suffix.lower()
    name = CONTAINER_BY_EXTENSION.get(extension)
    if name is None:
        raise RestoreError(path, f"cannot write '{extension or 'no extension'}' files; use "
                                 ".wav or .flac (also .aiff, .w64, .rf64)")
    if name == "WAV" and like is not None and like.container in WAV_FAMILY:
        return like.container
    return name


def choose_subtype(path: Path, container: str, subtype: str | None,
                   like: AudioInfo | None) -> str:
    """Output subtype: explicit ``subtype``, else the input's when the container allows it."""
    if subtype is not None:
        name = subtype.upper()
        if name in LOSSY_SUBTYPES or not sf.check_format(container, name):
            valid = ", ".join(sorted(set(sf.available_subtypes(container)) - set(LOSSY_SUBTYPES)))
            raise RestoreError(path, f"subtype {subtype} is not valid for {container} "
                                     f"(valid: {valid})")
        return name
    if (like is not None and like.subtype not in LOSSY_SUBTYPES
            and sf.check_format(container, like.subtype)):
        return like.subtype
    if like is not None and like.subtype == "PCM_U8" and sf.check_format(container, "PCM_S8"):
        return "PCM_S8"
    return DEFAULT_SUBTYPE


def default_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file: 0o666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
