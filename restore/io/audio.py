"""Audio file I/O: the only module that reads or writes audio files.

Samples cross this boundary as ``np.float32`` arrays shaped ``[channels, frames]``, full scale
+-1.0. Two readers: libsndfile (soundfile) for WAV/WAVEX (8/16/24/32-bit int, 32/64-bit
float), RF64, W64, FLAC, AIFF, OGG/Vorbis/Opus, CAF, AU and the rest it knows; PyAV (FFmpeg)
for MP3, AAC/M4A, ALAC, WMA, the audio of video files and the other extensions in
:data:`restore.io.decode.AV_EXTENSIONS`, decoded once into a temporary float file so that the
length is the decoded length and every read is exact. A file that ends before its header says
(a partly copied WAV or FLAC, a partly downloaded MP3) is read up to where it ends, with a
warning logged once. Writing produces WAV-family, W64, FLAC or AIFF files, atomically, never
over an input, never over an existing file unless asked, carrying Broadcast WAV chunks from a
WAV input (see :mod:`restore.io.riff`). Every failure is a :class:`RestoreError`.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import os
import shutil
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from restore.errors import RestoreError
from restore.io import riff
from restore.io.decode import AV_EXTENSIONS, decode_to_file
from restore.io.formats import WAV_FAMILY, AudioInfo, describe_error
from restore.io.writer import AudioWriter, check_output_path

# Extensions libsndfile reads (PyAV's are AV_EXTENSIONS); `-r` picks up both.
SNDFILE_EXTENSIONS: tuple[str, ...] = (
    ".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".aif", ".aiff", ".aifc", ".au", ".snd",
    ".caf", ".ogg", ".oga", ".opus", ".voc", ".sph", ".nist", ".ircam", ".sf", ".paf", ".svx",
    ".8svx", ".sd2", ".sds", ".avr", ".htk", ".xi", ".wve")
READABLE_EXTENSIONS: tuple[str, ...] = SNDFILE_EXTENSIONS + AV_EXTENSIONS
KEEP_DECODED = 2  # decoded temporary files kept at once (transition reads two inputs)
END_CHECK_FRAMES = 4096

__all__ = ["READABLE_EXTENSIONS", "AudioInfo", "AudioWriter", "check_output_path",
           "describe_error", "iter_blocks", "load", "read_info", "save"]

_log = logging.getLogger("restore.io")


@dataclasses.dataclass(frozen=True)
class _Source:
    """An input as it is read: its info, and the file libsndfile reads (it, or its decode)."""

    info: AudioInfo
    read_path: Path


_probed: OrderedDict[tuple, _Source] = OrderedDict()
_decoded: OrderedDict[tuple, Path] = OrderedDict()
_decode_folder: list[Path] = []


def _check_file(path: Path) -> None:
    """Fail early, with a plain reason, on paths the decoders would report vaguely."""
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


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while libsndfile probes a file: on bytes that look like MPEG
    its mpg123 decoder prints "Note: Illegal Audio-MPEG-Header ..." lines itself."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no stderr to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _open_sndfile(path: Path, read_path: Path | None = None) -> sf.SoundFile:
    try:
        with _quiet_stderr():
            return sf.SoundFile(str(read_path or path))
    except sf.LibsndfileError as error:
        if error.code == 1 or "not a regular file" in describe_error(error):
            # unrecognised format; the second text comes from a failed MPEG probe (the file
            # itself was checked by _check_file)
            reason = "not audio, or an unsupported/corrupt audio format"
        else:
            reason = f"corrupt or unreadable audio file ({describe_error(error)})"
        raise RestoreError(path, reason) from error
    except (RuntimeError, OSError) as error:
        raise RestoreError(path, f"cannot read: {describe_error(error)}") from error


def _checked_info(path: Path, info: AudioInfo) -> AudioInfo:
    if info.channels < 1:
        raise RestoreError(path, "no audio channels")
    if info.frames < 1:
        raise RestoreError(path, "no audio frames (0 samples)")
    if info.sample_rate < 1:
        raise RestoreError(path, "invalid sample rate")
    return info


def _readable_frames(path: Path, frames: int) -> int:
    """``frames`` when the file's last frames can be read, else how many can be read at all."""
    try:
        with sf.SoundFile(str(path)) as handle:
            start = max(0, frames - END_CHECK_FRAMES)
            handle.seek(start)
            if handle.read(frames - start, dtype="float32").shape[0] == frames - start:
                return frames
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass
    count = 0
    try:
        with sf.SoundFile(str(path)) as handle:
            while count < frames:
                read = handle.read(min(1024, frames - count), dtype="float32").shape[0]
                if read == 0:
                    break
                count += read
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass
    return count


def _probe_sndfile(path: Path) -> _Source | None:
    """The input as libsndfile reads it; None for MPEG audio under another name (for PyAV)."""
    with _open_sndfile(path) as handle:
        if handle.format == "MP3":
            return None
        if handle.format == "RAW":  # a headerless .au/.snd: any bytes would "decode"
            raise RestoreError(path, "not audio, or a raw file without a header (libsndfile "
                                     "would guess 8 kHz u-law)")
        info = _checked_info(path, AudioInfo(
            str(path), handle.format, handle.subtype, int(handle.samplerate),
            int(handle.channels), int(handle.frames), dict(handle.copy_metadata()),
            decoder=f"libsndfile {sf.__libsndfile_version__}"))
    warning = None
    cut = riff.truncated_data(path) if info.container in WAV_FAMILY else None
    if cut is not None:
        warning = (f"truncated: the data chunk declares {cut[0]} bytes but the file holds only "
                   f"{cut[1]}; the {info.frames} frames there are used")
    else:
        readable = _readable_frames(path, info.frames)
        if readable < info.frames:
            if readable == 0:
                raise RestoreError(path, "corrupt: no audio frames could be read")
            warning = (f"truncated: the header declares {info.frames} frames, only {readable} "
                       "could be read; that part is used")
            info = dataclasses.replace(info, frames=readable)
    if warning:
        info = dataclasses.replace(info, warnings=(warning,))
    return _Source(info, path)


def _decode_target(path: Path) -> Path:
    """A new temporary file for the decode of ``path``, in this process's own folder."""
    if not _decode_folder:
        _decode_folder.append(Path(tempfile.mkdtemp(prefix="restore-decoded-")))
        atexit.register(shutil.rmtree, _decode_folder[0], True)
    descriptor, name = tempfile.mkstemp(prefix=f"{path.stem[:40]}.", suffix=".w64",
                                        dir=_decode_folder[0])
    os.close(descriptor)  # libsndfile opens it again and writes it
    return Path(name)


def _forget_decoded(key: tuple) -> None:
    target = _decoded.pop(key, None)
    if target is not None:
        target.unlink(missing_ok=True)  # readers that still have it open keep reading
    _probed.pop(key, None)


def _decode(path: Path, target: Path):
    """:func:`decode_to_file` with its failures worded as RestoreErrors."""
    try:
        return decode_to_file(path, target)
    except ValueError as error:
        raise RestoreError(path, str(error)) from error
    except (OSError, sf.LibsndfileError, RuntimeError) as error:
        raise RestoreError(path, f"cannot decode into a temporary file in {target.parent}: "
                                 f"{describe_error(error)} (TMPDIR chooses the folder)") from error


def _probe_av(path: Path, key: tuple) -> _Source:
    """Decode ``path`` once into a temporary float file (see :mod:`restore.io.decode`)."""
    while len(_decoded) >= KEEP_DECODED:
        _forget_decoded(next(iter(_decoded)))
    try:
        target = _decode_target(path)
    except OSError as error:
        raise RestoreError(path, "cannot create a temporary file in "
                                 f"{tempfile.gettempdir()}: {describe_error(error)}") from error
    try:
        found = _decode(path, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    _decoded[key] = target
    info = _checked_info(path, AudioInfo(
        str(path), found.container, found.codec, found.sample_rate, found.channels, found.frames,
        found.metadata, decoder=found.decoder, lossy=not found.lossless, bits=found.bits,
        warnings=(found.warning,) if found.warning else ()))
    return _Source(info, target)


def _source(path: Path) -> _Source:
    """The probed input (cached per path, size and modification time)."""
    _check_file(path)
    status = path.stat()
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    if key in _probed:
        _probed.move_to_end(key)
        return _probed[key]
    source = None if path.suffix.lower() in AV_EXTENSIONS else _probe_sndfile(path)
    if source is None:
        source = _probe_av(path, key)
    for warning in source.info.warnings:
        _log.warning("warning: %s: %s", path, warning)
    _probed[key] = source
    while len(_probed) > 16:
        oldest = next(iter(_probed))
        if oldest in _decoded:
            _forget_decoded(oldest)
        else:
            _probed.pop(oldest)
    return source


def read_info(path: str | Path) -> AudioInfo:
    """Format, shape and string metadata of an audio file, without reading the samples
    (a file PyAV reads is decoded once here, into a temporary file)."""
    return _source(Path(path)).info


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
    mantissa). Raises RestoreError for unreadable, empty or non-finite files.
    """
    path = Path(path)
    source = _source(path)
    info = source.info
    if start_frame < 0 or start_frame > info.frames:
        raise RestoreError(path, f"start frame {start_frame} outside 0..{info.frames}")
    available = info.frames - start_frame
    wanted = available if frames is None else min(frames, available)
    with _open_sndfile(path, source.read_path) as handle:
        if start_frame:
            handle.seek(start_frame)
        audio = _read(path, handle, wanted, start_frame, dtype)
    if audio.shape[1] < wanted:
        raise RestoreError(path, f"read failed: {wanted} frames from frame {start_frame} "
                                 f"expected, only {audio.shape[1]} could be read")
    return audio, info


def iter_blocks(path: str | Path, block_frames: int, *,
                dtype: str = "float32") -> Iterator[np.ndarray]:
    """Yield consecutive ``[channels, n]`` float32 blocks (``n <= block_frames``) of a file.

    Memory stays bounded by the block; the whole file is never held.
    """
    if block_frames < 1:
        raise ValueError("block_frames must be positive")
    path = Path(path)
    source = _source(path)
    frames = source.info.frames
    with _open_sndfile(path, source.read_path) as handle:
        position = 0
        while position < frames:
            block = _read(path, handle, min(block_frames, frames - position), position, dtype)
            if block.shape[1] == 0:
                raise RestoreError(path, f"read failed: {frames} frames expected, only "
                                         f"{position} could be read")
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
