"""Audio file I/O: the only module that reads or writes audio files.

Samples cross this boundary as ``np.float32`` arrays shaped ``[channels, frames]``, full scale
+-1.0. Reading goes through libsndfile (soundfile): WAV/WAVEX (8/16/24/32-bit int, 32/64-bit
float), RF64, W64, FLAC, AIFF, OGG/Vorbis, MP3 and the rest libsndfile knows. Writing produces
WAV-family, W64, FLAC or AIFF files, atomically (temporary file in the target folder, fsync,
rename), never over an input, never over an existing file unless asked, carrying Broadcast WAV
chunks from a WAV input (see :mod:`restore.riff`). Every failure is a :class:`RestoreError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from restore import riff
from restore.errors import RestoreError
from restore.io_format import WAV_FAMILY, AudioInfo, describe_error
from restore.io_writer import AudioWriter, check_output_path

# Common audio containers that libsndfile does not read, named in the error message.
UNSUPPORTED_EXTENSIONS = (".m4a", ".mp4", ".aac", ".alac", ".wma", ".ape", ".wv", ".mka",
                          ".webm", ".ac3", ".dts", ".amr")

__all__ = ["AudioInfo", "AudioWriter", "check_output_path", "iter_blocks", "load", "read_info",
           "save", "describe_error"]


def _check_file(path: Path) -> None:
    """Fail early, with a plain reason, on paths libsndfile would report vaguely."""
    if not path.exists():
        raise RestoreError(path, "no such file")
    if path.is_dir():
        raise RestoreError(path, "is a directory, not an audio file")
    if not path.is_file():
        raise RestoreError(path, "not a regular file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as error:
        raise RestoreError(path, f"cannot open: {describe_error(error)}") from error
    if size == 0:
        raise RestoreError(path, "empty file (0 bytes)")


def _open(path: Path) -> sf.SoundFile:
    _check_file(path)
    try:
        return sf.SoundFile(str(path))
    except sf.LibsndfileError as error:
        if error.code == 1 and path.suffix.lower() in UNSUPPORTED_EXTENSIONS:
            reason = (f"unsupported format '{path.suffix}' (libsndfile cannot read it); "
                      "convert it to WAV or FLAC first")
        elif error.code == 1:  # SF_ERR_UNRECOGNISED_FORMAT
            reason = "not audio, or an unsupported/corrupt audio format"
        else:
            reason = f"corrupt or unreadable audio file ({describe_error(error)})"
        raise RestoreError(path, reason) from error
    except (RuntimeError, OSError) as error:
        raise RestoreError(path, f"cannot read: {describe_error(error)}") from error


def _info_of(path: Path, handle: sf.SoundFile) -> AudioInfo:
    info = AudioInfo(str(path), handle.format, handle.subtype, int(handle.samplerate),
                     int(handle.channels), int(handle.frames), dict(handle.copy_metadata()))
    if info.channels < 1:
        raise RestoreError(path, "no audio channels")
    if info.frames < 1:
        raise RestoreError(path, "no audio frames (0 samples)")
    if info.sample_rate < 1:
        raise RestoreError(path, "invalid sample rate")
    cut = riff.truncated_data(path) if info.container in WAV_FAMILY else None
    if cut is not None:
        raise RestoreError(path, f"truncated: the data chunk declares {cut[0]} bytes but the "
                                 f"file holds only {cut[1]}")
    return info


def read_info(path: str | Path) -> AudioInfo:
    """Format, shape and string metadata of an audio file, without reading the samples."""
    path = Path(path)
    with _open(path) as handle:
        return _info_of(path, handle)


def _checked(path: Path, block: np.ndarray, first_frame: int) -> np.ndarray:
    """``block [frames, channels]`` from soundfile -> finite ``[channels, frames]``."""
    if not np.isfinite(block).all():
        bad = int(np.argwhere(~np.isfinite(block))[0][0]) + first_frame
        raise RestoreError(path, f"contains NaN or infinite samples (first at frame {bad})")
    return np.ascontiguousarray(block.T)


def _read(path: Path, handle: sf.SoundFile, frames: int, first_frame: int,
          dtype: str) -> np.ndarray:
    try:
        block = handle.read(frames, dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise RestoreError(path, f"read failed: {describe_error(error)}") from error
    return _checked(path, block, first_frame)


def load(path: str | Path, start_frame: int = 0, frames: int | None = None, *,
         dtype: str = "float32") -> tuple[np.ndarray, AudioInfo]:
    """Read ``frames`` frames (all if None) from ``start_frame``: ``([channels, n] float32, info)``.

    ``dtype="float64"`` keeps 32-bit integer and double files bit-exact (float32 has a 24-bit
    mantissa). Raises RestoreError for unreadable, empty, truncated or non-finite files.
    """
    path = Path(path)
    with _open(path) as handle:
        info = _info_of(path, handle)
        if start_frame < 0 or start_frame > info.frames:
            raise RestoreError(path, f"start frame {start_frame} outside 0..{info.frames}")
        available = info.frames - start_frame
        wanted = available if frames is None else min(frames, available)
        if start_frame:
            handle.seek(start_frame)
        audio = _read(path, handle, wanted, start_frame, dtype)
    if audio.shape[1] < wanted:
        raise RestoreError(path, f"truncated: header promises {wanted} frames from frame "
                                 f"{start_frame}, only {audio.shape[1]} could be read")
    return audio, info


def iter_blocks(path: str | Path, block_frames: int, *,
                dtype: str = "float32") -> Iterator[np.ndarray]:
    """Yield consecutive ``[channels, n]`` float32 blocks (``n <= block_frames``) of a file.

    Memory stays bounded by the block; the whole file is never held.
    """
    if block_frames < 1:
        raise ValueError("block_frames must be positive")
    path = Path(path)
    with _open(path) as handle:
        info = _info_of(path, handle)
        position = 0
        while position < info.frames:
            block = _read(path, handle, min(block_frames, info.frames - position), position,
                          dtype)
            if block.shape[1] == 0:
                raise RestoreError(path, f"truncated: header promises {info.frames} frames, "
                                         f"only {position} could be read")
            position += block.shape[1]
            yield block


def save(path: str | Path, audio: np.ndarray, sample_rate: int, *,
         like: AudioInfo | None = None, subtype: str | None = None,
         container: str | None = None, overwrite: bool = False,
         inputs: Iterable[str | Path] = (), history: str | None = None) -> Path:
    """Write ``audio [channels, frames]`` to ``path`` atomically (see :class:`AudioWriter`)."""
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise ValueError(f"audio must be [channels, frames], got shape {audio.shape}")
    with AudioWriter(path, sample_rate, audio.shape[0], like=like, subtype=subtype,
                     container=container, overwrite=overwrite, inputs=inputs, history=history,
                     frames=audio.shape[1]) as writer:
        step = 1 << 18
        for start in range(0, audio.shape[1], step):
            writer.write(audio[:, start:start + step])
    return Path(path)
