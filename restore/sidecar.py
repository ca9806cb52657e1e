"""Processing-history sidecars: ``<output>.restore.json`` beside every output file.

What preservation practice asks for: which tool and version made the file, from which inputs,
with which command, parameters and model, how long it took, and fixity values for every file:
sha256 of the whole file and an MD5 of the audio data alone, which survives metadata edits
(for WAV the MD5 of the ``data`` chunk's bytes, as BWF MetaEdit computes it; for FLAC the
encoder's STREAMINFO MD5 of the decoded samples). See docs/io.md for every field.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import soundfile as sf

from restore import __version__, riff
from restore.errors import RestoreError
from restore.io_format import default_file_mode, describe_error, sync_directory

SIDECAR_SUFFIX = ".restore.json"
SIDECAR_FORMAT_VERSION = 1
HASH_BLOCK_BYTES = 1 << 20


def sidecar_path(output_path: str | Path) -> Path:
    output_path = Path(output_path)
    return output_path.with_name(output_path.name + SIDECAR_SUFFIX)


def sha256_file(path: str | Path) -> str:
    """sha256 of a whole file, read in blocks (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def flac_streaminfo_md5(path: str | Path) -> str | None:
    """The MD5 of the unencoded samples that a FLAC encoder stores in STREAMINFO (hex)."""
    with open(path, "rb") as file:
        head = file.read(42)
    # "fLaC", block header (type 0 = STREAMINFO, length 34), MD5 = STREAMINFO bytes 18..34
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    md5 = head[26:42]
    return md5.hex() if any(md5) else None


def audio_md5(path: str | Path) -> dict[str, str] | None:
    """Fixity of the audio alone: ``{"method": ..., "md5": ...}`` or None for other formats."""
    value = riff.data_md5(path)
    if value is not None:
        return {"method": "md5 of the RIFF data chunk bytes (BWF MetaEdit)", "md5": value}
    value = flac_streaminfo_md5(path)
    if value is not None:
        return {"method": "FLAC STREAMINFO md5 of the decoded samples", "md5": value}
    return None


def file_record(path: str | Path) -> dict[str, Any]:
    """Path, size, checksums and audio format of one file."""
    path = Path(path)
    try:
        record: dict[str, Any] = {"path": str(path), "name": path.name,
                                  "size_bytes": path.stat().st_size,
                                  "sha256": sha256_file(path), "audio_md5": audio_md5(path)}
    except OSError as error:
        raise RestoreError(path, f"cannot read for the sidecar: {describe_error(error)}") from error
    try:
        info = sf.info(str(path))
        record["format"] = {"container": info.format, "subtype": info.subtype,
                            "sample_rate": info.samplerate, "channels": info.channels,
                            "frames": info.frames}
    except (sf.LibsndfileError, RuntimeError):
        record["format"] = None
    return record


def _tool() -> dict[str, Any]:
    tool = {"name": "restore", "version": __version__, "python": platform.python_version(),
            "libsndfile": sf.__libsndfile_version__}
    torch = sys.modules.get("torch")  # reported when the run used it; never imported for this
    if torch is not None:
        tool["torch"] = torch.__version__
    return tool


def write_sidecar(output_path: str | Path, *, command: str, parameters: dict,
                  inputs: list, model: dict | None = None, timings: dict | None = None,
                  generated_regions: list[dict] | None = None,
                  level: dict | None = None) -> Path:
    """Write ``<output>.restore.json`` atomically and return its path.

    ``inputs`` are the input file paths; ``model`` e.g. ``{"id": ..., "sha256": ...}``;
    ``timings`` seconds per stage; ``generated_regions`` e.g. ``[{"start": s, "end": s,
    "task": "inpaint"}]`` (seconds) marks the samples that were synthesised, not recovered;
    ``level`` records a gain applied to keep the output within full scale (None: no gain).
    """
    output_path = Path(output_path)
    document = {
        "format": "restore-sidecar",
        "format_version": SIDECAR_FORMAT_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": _tool(),
        "command": command,
        "parameters": parameters,
        "model": model,
        "inputs": [file_record(path) for path in inputs],
        "output": file_record(output_path),
        "generated_regions": list(generated_regions or []),
        "level": level,
        "timings_seconds": timings or {},
    }
    target = sidecar_path(output_path)
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    _write_atomically(target, text.encode("utf-8"))
    return target


def _write_atomically(target: Path, payload: bytes) -> None:
    temp = None
    try:
        descriptor, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore-part",
                                            dir=target.parent)
        os.chmod(temp, default_file_mode())  # mkstemp makes 0600; give the usual mode
        with os.fdopen(descriptor, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
        temp = None
        sync_directory(target.parent)
    except OSError as error:
        raise RestoreError(target, f"cannot write sidecar: {describe_error(error)}") from error
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
