"""Atomic, block-wise audio writing with Broadcast WAV chunk carrying and automatic RF64.

The output never appears under its final name until it is complete: samples go to a hidden
temporary file in the target folder (``.<name>.<random>.restore-part``), which is flushed,
fsynced and renamed over the final name (:mod:`restore.io.atomic`); with ``staging=`` the rename
waits for the caller (an output and its sidecar are renamed together). Any error (including
Ctrl-C or SIGTERM) removes the temporary file. A process killed with SIGKILL can leave a
``.restore-part`` file behind, never a truncated output.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from restore import __version__
from restore.errors import RestoreError
from restore.io import riff
from restore.io.atomic import StagedFiles, new_temp
from restore.io.formats import (
    BYTES_PER_SAMPLE,
    WAV_FAMILY,
    AudioInfo,
    choose_container,
    choose_subtype,
    describe_error,
)

# A plain WAV's u32 sizes stop at 4 GiB; switch to RF64 before the data gets near that, leaving
# room for the header and carried chunks. Module-level so that tests can lower it.
RF64_THRESHOLD_BYTES = 0xFFFFFFFF - (64 << 20)
WRITE_ERRORS = (sf.LibsndfileError, RuntimeError, OSError, AssertionError)


def _system_detail(handle: sf.SoundFile | None) -> str | None:
    """libsndfile's own error text for ``handle`` (it keeps strerror() of a failed call)."""
    try:  # soundfile's _ffi and _snd are not public API: used only to word an error
        text = sf._ffi.string(sf._snd.sf_strerror(handle._file)).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - any failure here just means a vaguer message
        return None
    return text.strip().rstrip(".") or None


def _same_file(first: Path, second: Path) -> bool:
    try:
        if first.exists() and second.exists():
            return os.path.samefile(first, second)
    except OSError:
        pass
    return first.resolve() == second.resolve()


def check_output_path(output: str | Path, inputs: Iterable[str | Path], overwrite: bool) -> None:
    """Refuse an output that is an input, a folder, or an existing file without ``overwrite``."""
    output = Path(output)
    for item in inputs:
        if _same_file(output, Path(item)):
            raise RestoreError(output, "output is the same file as an input; refusing to "
                                       "overwrite an input (choose another output name)")
    if output.is_dir():
        raise RestoreError(output, "output is a directory; give a file name")
    if output.exists() and not overwrite:
        raise RestoreError(output, "output already exists; pass --overwrite to replace it")
    folder = output.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise RestoreError(output.parent, "output folder cannot be created (a file is in the way)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RestoreError(folder, "output folder is not writable")


class AudioWriter:
    """Context manager: ``with AudioWriter(path, 48000, 2, like=info) as w: w.write(block)``.

    ``block`` is ``[channels, n]`` float32 (or float64 for bit-exact 32-bit/double PCM) in +-1.0.
    Container and subtype default to the input's (``like``) when the output format allows them;
    ``frames`` (expected output length) lets a > 4 GB WAV be written as RF64 from the start;
    without it the writer switches to RF64 on the way. ``history`` describes the processing for
    the bext CodingHistory line of a Broadcast WAV input. ``widen_8_bit``: an 8-bit or u-law
    input gives a 16-bit output (processed audio). ``staging``: the finished temporary file is
    handed to it instead of being renamed (the caller renames it with its sidecar).
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int, *,
                 like: AudioInfo | None = None, subtype: str | None = None,
                 container: str | None = None, overwrite: bool = False,
                 inputs: Iterable[str | Path] = (), history: str | None = None,
                 frames: int | None = None, widen_8_bit: bool = False,
                 staging: StagedFiles | None = None) -> None:
        self.path = Path(path)
        if channels < 1 or sample_rate < 1:
            raise RestoreError(self.path, f"cannot write {channels} channels at {sample_rate} Hz")
        sources = [Path(item) for item in inputs] + ([Path(like.path)] if like else [])
        check_output_path(self.path, sources, overwrite)
        self.container = choose_container(self.path, container, like)
        self.subtype = choose_subtype(self.path, self.container, subtype, like,
                                      widen_8_bit=widen_8_bit)
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.like, self.overwrite, self.history = like, overwrite, history
        self.staging = staging
        self.frames_written = 0
        if frames is None and like is not None:
            frames = round(like.frames * sample_rate / like.sample_rate)
        self._format = self.container
        too_big = self._bytes_for(frames or 0) > RF64_THRESHOLD_BYTES
        if self.container in ("WAV", "WAVEX") and too_big:
            self._format = "RF64"
        self._temps: list[Path] = []
        self._handle: sf.SoundFile | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def __enter__(self) -> AudioWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RestoreError(self.path.parent, "cannot create output folder: "
                                                 f"{describe_error(error)}") from error
        try:
            self._handle = self._open_sound(self._new_temp(), self._format)
        except BaseException:
            self._abort()  # __exit__ is not called when __enter__ fails
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if exc_type is None:
            try:
                self._finish()
            except BaseException:
                self._abort()
                raise
        else:
            self._abort()
        return False

    def write(self, block: np.ndarray) -> None:
        """Append ``block [channels, n]``; refuses NaN/Inf rather than writing them."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected [{self.channels}, frames], got shape {block.shape}")
        if self._handle is None:
            raise RuntimeError("AudioWriter.write called outside its with-block")
        if not np.isfinite(block).all():
            raise RestoreError(self.path, "refusing to write NaN or infinite samples")
        if self._bytes_for(self.frames_written + block.shape[1]) > RF64_THRESHOLD_BYTES:
            if self._format == "AIFF":
                raise RestoreError(self.path, "AIFF cannot hold more than 4 GB of audio; "
                                              "write .wav (becomes RF64), .w64 or .flac")
            if self._format in ("WAV", "WAVEX"):
                self._upgrade_to_rf64()
        dtype = np.float64 if block.dtype == np.float64 else np.float32
        try:
            self._handle.write(np.ascontiguousarray(block.T, dtype=dtype))
        except WRITE_ERRORS as error:
            raise self._failure(error) from error
        self.frames_written += block.shape[1]

    # -- internals ----------------------------------------------------------------------------
    def _bytes_for(self, frames: int) -> int:
        return frames * self.channels * BYTES_PER_SAMPLE.get(self.subtype, 4)

    def _new_temp(self) -> Path:
        try:
            temp = new_temp(self.path)
        except OSError as error:
            raise RestoreError(self.path.parent, "output folder is not writable: "
                                                 f"{describe_error(error)}") from error
        self._temps.append(temp)
        return temp

    def _open_sound(self, temp: Path, file_format: str) -> sf.SoundFile:
        try:
            handle = sf.SoundFile(str(temp), "w", self.sample_rate, self.channels, self.subtype,
                                  format=file_format)
        except WRITE_ERRORS as error:
            raise RestoreError(self.path, f"cannot write: {describe_error(error)}") from error
        if self.like is not None and self._carry_source() is None:
            for key, value in self.like.metadata.items():
                try:
                    setattr(handle, key, value)
                except (RuntimeError, sf.LibsndfileError, AttributeError):
                    pass  # this container has no slot for that string
        return handle

    def _failure(self, error: BaseException) -> RestoreError:
        """A write error with the operating system's reason (libsndfile says "System error")."""
        reason = describe_error(error)
        detail = _system_detail(self._handle)
        if reason.lower().startswith("system error") and detail:
            for code in (errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EIO):
                if os.strerror(code).lower() in detail.lower():
                    reason = describe_error(OSError(code, os.strerror(code)))
                    break
            else:
                reason = detail
        return RestoreError(self.path, f"write failed: {reason}")

    def _close_handle(self) -> None:
        handle = self._handle
        if handle is not None:
            try:
                handle.close()
            except WRITE_ERRORS as error:
                failure = self._failure(error)
                self._handle = None
                raise failure from error
            self._handle = None

    def _upgrade_to_rf64(self) -> None:
        """Move what was written so far into an RF64 file, bit-exactly, and go on there."""
        old = self._temps[-1]
        self._close_handle()
        handle = self._open_sound(self._new_temp(), "RF64")
        dtype = "int32" if self.subtype.startswith("PCM") else "float64"
        try:
            for block in sf.blocks(str(old), blocksize=1 << 16, dtype=dtype, always_2d=True):
                handle.write(block)
        except WRITE_ERRORS as error:
            handle.close()
            raise RestoreError(self.path, f"write failed: {describe_error(error)}") from error
        old.unlink()
        self._temps.remove(old)
        self._handle, self._format = handle, "RF64"

    def _carry_source(self) -> Path | None:
        """The WAV input whose chunks go into a WAV output, if any."""
        if self.like is None or self.like.container not in WAV_FAMILY:
            return None
        if self.container not in WAV_FAMILY or not Path(self.like.path).is_file():
            return None
        return Path(self.like.path) if riff.carried_chunks(self.like.path) else None

    def _history_line(self) -> str:
        bytes_per_sample = BYTES_PER_SAMPLE.get(self.subtype)
        text = f"restore {__version__}" + (f"; {self.history}" if self.history else "")
        return riff.coding_history_line(self.sample_rate, bytes_per_sample and 8 * bytes_per_sample,
                                        self.channels, text)

    def _finish(self) -> None:
        self._close_handle()
        source = self._carry_source()
        if source is not None:
            written = self._temps[-1]
            spliced = self._new_temp()
            try:
                riff.splice_chunks(written, source, spliced, self._history_line(),
                                   force_rf64=self._format == "RF64")
            except OSError as error:
                raise RestoreError(self.path, f"write failed: {describe_error(error)}") from error
            written.unlink()
            self._temps.remove(written)
        final = self._temps.pop()
        if self.staging is not None:
            self.staging.add(final, self.path, replace=self.overwrite)
            return
        with StagedFiles() as staged:
            staged.add(final, self.path, replace=self.overwrite)
            staged.commit()

    def _abort(self) -> None:
        try:
            self._close_handle()
        except RestoreError:
            pass
        for temp in self._temps:
            try:
                temp.unlink()
            except OSError:
                pass
        self._temps.clear()
