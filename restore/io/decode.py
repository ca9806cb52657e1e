"""Decoding through PyAV (FFmpeg, shipped inside the ``av`` wheels): MP3, AAC/M4A, ALAC, WMA,
Opus/Vorbis in other containers, and the audio of common video files.

Compressed streams do not say exactly how many samples they decode to (an MP3 without a
Xing/LAME header only has an estimate from its bit rate), and seeking in them is not sample
exact. So a file read here is decoded once, block by block, into a temporary float32 W64 file
(:func:`decode_to_file`); its length is the decoded length, and every later read (analysis,
windows, the output copy) is an exact read of that file. Memory stays bounded by one decoded
frame; the disk holds 4 bytes per sample while the file is in use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

# Read with PyAV rather than libsndfile: formats libsndfile lacks, and MP3, whose libsndfile
# length is an estimate and whose decoder (mpg123) prints to stderr on bad data. Not ".ts"
# (MPEG transport streams share it with TypeScript sources): use ".mts" or ".m2ts".
AV_EXTENSIONS: tuple[str, ...] = (
    ".mp3", ".mp2", ".mpga", ".m4a", ".m4b", ".mp4", ".aac", ".adts", ".alac", ".wma", ".asf",
    ".mka", ".mkv", ".webm", ".mov", ".avi", ".3gp", ".ac3", ".eac3", ".dts", ".amr", ".ape",
    ".wv", ".tta", ".mpc", ".flv", ".mpg", ".mpeg", ".vob", ".mts", ".m2ts")
# A decode counts as truncated when it yields this much less than the container declares.
SHORTFALL_SECONDS = 0.2
SHORTFALL_SHARE = 0.005


def _av():
    """PyAV, imported on first use: it loads FFmpeg's libraries (heavy), and the training
    machines that import :mod:`restore.io` for WAV/FLAC corpora do not install it."""
    import av

    return av
# Friendly container names for FFmpeg's demuxer names.
CONTAINER_NAMES = {"mp3": "MP3", "mov,mp4,m4a,3gp,3g2,mj2": "MP4", "ogg": "OGG", "asf": "ASF",
                   "matroska,webm": "MATROSKA", "avi": "AVI", "aac": "ADTS", "wv": "WAVPACK",
                   "ape": "APE", "flv": "FLV", "mpeg": "MPEG-PS", "mpegts": "MPEG-TS"}
# FFmpeg codec names shown as libsndfile's subtype names where one exists.
CODEC_NAMES = {"mp3float": "MPEG_LAYER_III", "mp3": "MPEG_LAYER_III", "mp2float": "MPEG_LAYER_II",
               "mp2": "MPEG_LAYER_II", "vorbis": "VORBIS", "libopus": "OPUS", "opus": "OPUS"}
# FFmpeg metadata keys -> libsndfile's string slots (what the writer can copy).
METADATA_KEYS = {"title": "title", "artist": "artist", "album": "album", "date": "date",
                 "comment": "comment", "genre": "genre", "copyright": "copyright",
                 "track": "tracknumber", "encoder": "software"}


@dataclass(frozen=True)
class Decoded:
    """What :func:`decode_to_file` found: the stream's format and how decoding went."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    frames: int  # decoded, i.e. what the temporary file holds
    lossless: bool
    bits: int | None  # bit depth of a lossless integer stream, else None
    decoder: str
    metadata: dict[str, str] = field(default_factory=dict)
    warning: str | None = None  # truncation or a decoding error that ended the stream early


def decoder_name(codec: str = "") -> str:
    version = getattr(_av(), "ffmpeg_version_info", "?")
    return f"FFmpeg {version} (PyAV {_av().__version__})" + (f", codec {codec}" if codec else "")


def _metadata(container, stream) -> dict[str, str]:
    found = {**dict(container.metadata), **dict(stream.metadata)}
    return {slot: str(found[key]) for key, slot in METADATA_KEYS.items() if found.get(key)}


def _declared_frames(container, stream, rate: int) -> int | None:
    """The length the container declares (an estimate for some formats), in frames."""
    if stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * rate)
    if container.duration:
        return int(container.duration * rate / 1_000_000)
    return None


def _int_bits(frame) -> int | None:
    """Bit depth an integer frame needs: 16, 24 (32-bit words with an empty low byte) or 32."""
    name = frame.format.name.rstrip("p")
    if name in ("u8", "s16"):
        return 16
    if name == "s32":
        return 24 if not np.bitwise_or.reduce(frame.to_ndarray() & 0xFF, axis=None) else 32
    return None


def _shortfall(declared: int | None, frames: int, rate: int) -> bool:
    if declared is None:
        return False
    return declared - frames > max(SHORTFALL_SECONDS * rate, SHORTFALL_SHARE * declared)


def _open_stream(path: Path):
    """``(container, first audio stream)``; raises ``ValueError`` with a plain reason."""
    try:
        container = _av().open(str(path), metadata_errors="replace")
    except _av().error.FFmpegError as error:
        raise ValueError("not audio, or an unsupported/corrupt audio format "
                         f"(FFmpeg: {error.strerror or error})") from error
    if not container.streams.audio:
        container.close()
        raise ValueError("no audio stream in this file")
    stream = container.streams.audio[0]
    if not stream.codec_context.sample_rate or not stream.codec_context.channels:
        container.close()
        raise ValueError("the audio stream has no sample rate or channels (corrupt header)")
    return container, stream


def decode_to_file(path: Path, target: Path) -> Decoded:
    """Decode the first audio stream of ``path`` into ``target`` (float32 W64).

    Raises ``ValueError`` with a plain reason when nothing can be decoded. A stream that stops
    early (a decoding error, or less than the container declares) is kept up to where it
    stopped, and ``warning`` says so.
    """
    container, stream = _open_stream(path)
    with container:
        context = stream.codec_context
        rate, channels = int(context.sample_rate), int(context.channels)
        resampler = _av().AudioResampler(format="fltp", layout=context.layout, rate=rate)
        frames, bits, stopped = 0, None, None
        with sf.SoundFile(str(target), "w", rate, channels, "FLOAT", format="W64") as out:
            try:
                for frame in container.decode(stream):
                    if context.codec.lossless:
                        bits = max(bits or 0, _int_bits(frame) or 0) or None
                    for converted in resampler.resample(frame):
                        out.write(converted.to_ndarray().T)
                        frames += converted.samples
                for converted in resampler.resample(None):
                    out.write(converted.to_ndarray().T)
                    frames += converted.samples
            except (_av().error.FFmpegError, ValueError) as error:
                stopped = f"{getattr(error, 'strerror', None) or error}"
        declared = _declared_frames(container, stream, rate)
        warning = None
        if frames and stopped:
            warning = (f"decoding stopped at {frames / rate:.3f} s ({stopped}); the "
                       f"{frames} frames before it are used")
        elif _shortfall(declared, frames, rate):
            warning = (f"truncated: the file declares {declared / rate:.3f} s, only "
                       f"{frames / rate:.3f} s could be decoded; that part is used")
        if not frames:
            raise ValueError("no audio could be decoded" + (f" ({stopped})" if stopped else ""))
        return Decoded(CONTAINER_NAMES.get(container.format.name, container.format.name.upper()),
                       CODEC_NAMES.get(context.name, context.name.upper()), rate, channels,
                       frames, bool(context.codec.lossless), bits and min(bits, 24),
                       decoder_name(context.name), _metadata(container, stream), warning)
