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
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import soundfile as sf

from restore import __version__
from restore.errors import RestoreError
from restore.io import riff
from restore.io.atomic import StagedFiles, new_temp
from restore.io.audio import read_info
from restore.io.formats import describe_error

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


def _input_format(path: Path) -> dict[str, Any] | None:
    """Format of an input as restore read it, with the decoder and any truncation warning."""
    try:
        info = read_info(path)
    except RestoreError:
        return None
    return {"container": info.container, "subtype": info.subtype,
            "sample_rate": info.sample_rate, "channels": info.channels, "frames": info.frames,
            "decoder": info.decoder, "warnings": list(info.warnings)}


def _output_format(path: Path) -> dict[str, Any] | None:
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        return None
    return {"container": info.format, "subtype": info.subtype, "sample_rate": info.samplerate,
            "channels": info.channels, "frames": info.frames}


def file_record(path: str | Path, *, shown_as: str | Path | None = None,
                is_input: bool = False) -> dict[str, Any]:
    """Path, size, checksums and audio format of one file (``shown_as``: the name it will have,
    for an output still under its temporary name)."""
    path = Path(path)
    shown = Path(shown_as) if shown_as is not None else path
    try:
        record: dict[str, Any] = {"path": str(shown), "name": shown.name,
                                  "size_bytes": path.stat().st_size,
                                  "sha256": sha256_file(path), "audio_md5": audio_md5(path)}
    except OSError as error:
        raise RestoreError(path, f"cannot read for the sidecar: {describe_error(error)}") from error
    record["format"] = _input_format(path) if is_input else _output_format(path)
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
                  level: dict | None = None, staging: StagedFiles | None = None) -> Path:
    """Write ``<output>.restore.json`` atomically and return its path.

    With ``staging`` (holding the output's temporary file) the sidecar describes that file and
    is staged beside it, to be renamed together by ``staging.commit()``.

    ``inputs`` are the input file paths; ``model`` e.g. ``{"id": ..., "sha256": ...}``;
    ``timings`` seconds per stage; ``generated_regions`` e.g. ``[{"start": s, "end": s,
    "task": "inpaint"}]`` (seconds) marks the samples that were synthesised, not recovered;
    ``level`` records a gain applied to keep the output within full scale (None: no gain).
    """
    output_path = Path(output_path)
    written = (staging.temp_for(output_path) if staging else None) or output_path
    document = {
        "format": "restore-sidecar",
        "format_version": SIDECAR_FORMAT_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": _tool(),
        "command": command,
        "parameters": parameters,
        "model": model,
        "inputs": [file_record(path, is_input=True) for path in inputs],
        "output": file_record(written, shown_as=output_path),
        "generated_regions": list(generated_regions or []),
        "level": level,
        "timings_seconds": timings or {},
    }
    target = sidecar_path(output_path)
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"
    with StagedFiles() as own:
        try:
            temp = new_temp(target)
            (staging or own).add(temp, target, replace=True)
            temp.write_bytes(text.encode("utf-8"))
        except OSError as error:
            raise RestoreError(target, f"cannot write sidecar: {describe_error(error)}") from error
        own.commit()
    return target
