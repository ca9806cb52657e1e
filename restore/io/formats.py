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
    """What a file holds: container ("WAV", "FLAC", "MP4", ...), subtype ("PCM_24", "AAC", ...),
    shape, tags, and how it was read.

    ``frames`` is what can be decoded (a truncated file: the readable part); ``warnings`` says
    when that is less than the header declares. ``lossy`` and ``bits`` (of a lossless integer
    stream that libsndfile cannot write as such, e.g. ALAC) choose the output's bit depth.
    """

    path: str
    container: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int
    metadata: dict[str, str] = field(default_factory=dict)
    decoder: str = "libsndfile"
    lossy: bool = False
    bits: int | None = None
    warnings: tuple[str, ...] = ()

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
LOSSY_SUBTYPES = ("MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS", "AAC",
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


EIGHT_BIT_SUBTYPES = ("PCM_U8", "PCM_S8", "ULAW", "ALAW")
PCM_BY_BITS = {16: "PCM_16", 20: "PCM_24", 24: "PCM_24", 32: "PCM_32"}


def _input_bits(like: AudioInfo) -> int | None:
    """Bit depth of a lossless input whose subtype is not PCM (ALAC_16, a PyAV stream, ...)."""
    if like.bits is not None:
        return like.bits
    for bits in (16, 20, 24, 32):
        if like.subtype.endswith(f"_{bits}") and not like.subtype.startswith("PCM"):
            return bits
    return None


def choose_subtype(path: Path, container: str, subtype: str | None,
                   like: AudioInfo | None, *, widen_8_bit: bool = False) -> str:
    """Output subtype: explicit ``subtype``, else the input's when the container allows it.

    Lossy inputs give PCM_24; ``widen_8_bit`` (outputs holding processed audio) makes 8-bit,
    u-law and A-law inputs PCM_16, so that a generated band is not buried in their noise.
    """
    if subtype is not None:
        name = subtype.upper()
        if name in LOSSY_SUBTYPES or not sf.check_format(container, name):
            valid = ", ".join(sorted(set(sf.available_subtypes(container)) - set(LOSSY_SUBTYPES)))
            raise RestoreError(path, f"subtype {subtype} is not valid for {container} "
                                     f"(valid: {valid})")
        return name
    if like is None or like.lossy or like.subtype in LOSSY_SUBTYPES:
        return DEFAULT_SUBTYPE
    if widen_8_bit and like.subtype in EIGHT_BIT_SUBTYPES:
        return "PCM_16"
    if sf.check_format(container, like.subtype):
        return like.subtype
    if like.subtype == "PCM_U8" and sf.check_format(container, "PCM_S8"):
        return "PCM_S8"
    bits = _input_bits(like)
    if bits in PCM_BY_BITS and sf.check_format(container, PCM_BY_BITS[bits]):
        return PCM_BY_BITS[bits]
    return DEFAULT_SUBTYPE


def default_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file: 0o666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
