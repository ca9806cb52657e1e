"""RIFF/RF64 chunk handling for WAV files: list chunks, carry Broadcast WAV metadata, hash audio.

libsndfile (and so soundfile) drops ``bext``, ``iXML`` and unknown chunks when it writes a WAV.
:func:`splice_chunks` rebuilds a freshly written WAV so that the input's chunks are carried over
byte for byte, except that a processing line is appended to the ``bext`` CodingHistory
(EBU Tech 3285). Large files are handled in blocks; the data chunk is never held in memory.

Chunk layout (Microsoft RIFF, EBU Tech 3306 RF64): ``RIFF|RF64 <u32 size> WAVE`` then chunks of
``<4-byte id> <u32 size> <payload> [pad byte to even size]``. In RF64 files a ``ds64`` chunk
holds the 64-bit RIFF, data and sample-count sizes (the u32 fields read 0xFFFFFFFF).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from restore.errors import RestoreError

COPY_BLOCK_BYTES = 1 << 20  # bytes copied or hashed per read
RIFF_LIMIT = 0xFFFFFFFF  # largest size a u32 RIFF field can hold
BEXT_FIXED_BYTES = 602  # bext fields before CodingHistory (EBU Tech 3285 v2)

# Chunks the writer produces itself, or that describe the *old* audio and would be wrong after
# processing (PEAK: peak values, MD5: checksum of the data, levl: peak envelope). Everything else
# (bext, iXML, axml, LIST, cue, chna, unknown ids, ...) is carried unchanged.
NOT_CARRIED = {b"fmt ", b"data", b"fact", b"ds64", b"JUNK", b"junk", b"PAD ", b"FLLR", b"PEAK",
               b"MD5 ", b"levl", b"r64m"}


@dataclass(frozen=True)
class Chunk:
    """One chunk: its four-byte id, payload offset in the file and payload size in bytes."""

    chunk_id: bytes
    offset: int
    size: int
    declared_size: int = -1  # size in the header when the file ends before the chunk does


@dataclass(frozen=True)
class RiffLayout:
    """Top-level chunks of a WAV-family file; ``form`` is b"RIFF", b"RF64" or b"BW64"."""

    form: bytes
    chunks: tuple[Chunk, ...]

    def find(self, chunk_id: bytes) -> Chunk | None:
        return next((chunk for chunk in self.chunks if chunk.chunk_id == chunk_id), None)


def read_layout(path: str | Path) -> RiffLayout | None:
    """List the top-level chunks of a RIFF/RF64/BW64 WAVE file; ``None`` if it is not one."""
    with open(path, "rb") as file:
        header = file.read(12)
        if len(header) < 12 or header[:4] not in (b"RIFF", b"RF64", b"BW64"):
            return None
        if header[8:12] != b"WAVE":
            return None
        file_size = file.seek(0, 2)
        return RiffLayout(header[:4], tuple(_walk_chunks(file, file_size)))


def _walk_chunks(file: BinaryIO, file_size: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    big_data_size = None  # from ds64, for RF64
    position = 12
    while position + 8 <= file_size:
        file.seek(position)
        chunk_id, size = struct.unpack("<4sI", file.read(8))
        if chunk_id == b"ds64" and size >= 24:
            _, big_data_size, _ = struct.unpack("<QQQ", file.read(24))
        if chunk_id == b"data" and size == RIFF_LIMIT and big_data_size is not None:
            size = big_data_size
        available = file_size - position - 8
        if size > available:  # a truncated last chunk: keep what is there, note the promise
            chunks.append(Chunk(chunk_id, position + 8, available, size))
            break
        chunks.append(Chunk(chunk_id, position + 8, size))
        position += 8 + size + (size & 1)
    return chunks


def truncated_data(path: str | Path) -> tuple[int, int] | None:
    """``(declared, present)`` byte counts when a WAV's data chunk is cut short, else None."""
    layout = read_layout(path)
    data = layout.find(b"data") if layout else None
    if data is None or data.declared_size < 0:
        return None
    return data.declared_size, data.size


def read_chunk(path: str | Path, chunk: Chunk) -> bytes:
    """Payload of a (small, non-data) chunk."""
    with open(path, "rb") as file:
        file.seek(chunk.offset)
        return file.read(chunk.size)


def data_md5(path: str | Path) -> str | None:
    """MD5 of the ``data`` chunk's bytes (as BWF MetaEdit computes it), hex; None if no RIFF."""
    layout = read_layout(path)
    data = layout.find(b"data") if layout else None
    if data is None:
        return None
    digest = hashlib.md5()
    with open(path, "rb") as file:
        file.seek(data.offset)
        _copy_bytes(file, None, data.size, digest)
    return digest.hexdigest()


def append_coding_history(bext: bytes, line: str) -> bytes:
    """Return ``bext`` payload with ``line`` appended to its CodingHistory (CR LF terminated)."""
    if len(bext) < BEXT_FIXED_BYTES:
        return bext  # malformed bext: carried as it is rather than guessed at
    history = bext[BEXT_FIXED_BYTES:].rstrip(b"\x00")
    if history and not history.endswith(b"\r\n"):
        history += b"\r\n"
    text = line.replace("\r", " ").replace("\n", " ")
    return bext[:BEXT_FIXED_BYTES] + history + text.encode("ascii", "replace") + b"\r\n"


def coding_history_line(sample_rate: int, bits: int | None, channels: int, text: str) -> str:
    """One EBU R 98 style CodingHistory line, e.g. ``A=PCM,F=48000,W=24,M=stereo,T=...``."""
    mode = {1: "mono", 2: "stereo"}.get(channels, f"multitrack({channels})")
    word = f"W={bits}," if bits else ""
    return f"A=PCM,F={sample_rate},{word}M={mode},T={text}"


def carried_chunks(path: str | Path) -> list[tuple[bytes, Chunk]]:
    """Chunks of a WAV input that an output should carry, in file order, as (id, chunk)."""
    layout = read_layout(path)
    if layout is None:
        return []
    return [(chunk.chunk_id, chunk) for chunk in layout.chunks
            if chunk.chunk_id not in NOT_CARRIED]


def splice_chunks(written: Path, source: Path, target: Path, history: str | None,
                  force_rf64: bool = False) -> None:
    """Write ``target``: the audio of ``written`` plus the carried chunks of ``source``.

    ``written`` is a WAV/RF64 just produced by libsndfile; its ``fmt``, ``fact``, ``PEAK`` and
    ``data`` chunks are kept. ``source`` chunks are copied unchanged except ``bext``, whose
    CodingHistory gets ``history`` appended. The result is RF64 when it exceeds 4 GB.
    """
    new_layout = read_layout(written)
    if new_layout is None or new_layout.find(b"data") is None:
        raise RestoreError(written, "internal: written file is not a WAV")
    own = [_Part(chunk.chunk_id, read_chunk(written, chunk)) for chunk in new_layout.chunks
           if chunk.chunk_id in (b"fmt ", b"fact", b"PEAK")]
    extra = []
    for chunk_id, chunk in carried_chunks(source):
        if chunk_id == b"bext" and history:
            extra.append(_Part(chunk_id, append_coding_history(read_chunk(source, chunk), history)))
        else:  # copied from the source file when written: big chunks never sit in memory
            extra.append(_Part(chunk_id, None, source, chunk))
    with open(written, "rb") as audio, open(target, "wb") as out:
        _write_wave(out, audio, own + extra, new_layout.find(b"data"), force_rf64)


@dataclass(frozen=True)
class _Part:
    """A chunk to write: its payload in memory, or a chunk of another file to copy."""

    chunk_id: bytes
    payload: bytes | None
    source: Path | None = None
    chunk: Chunk | None = None

    @property
    def size(self) -> int:
        return len(self.payload) if self.payload is not None else self.chunk.size


def _write_wave(out: BinaryIO, audio: BinaryIO, parts: list[_Part], data: Chunk,
                force_rf64: bool) -> None:
    """Write header, ``parts``, then the data chunk copied from ``audio``."""
    body = sum(8 + part.size + (part.size & 1) for part in parts)
    riff_size = 4 + 36 + body + 8 + data.size + (data.size & 1)  # 36: ds64 or JUNK of 28
    rf64 = force_rf64 or riff_size > RIFF_LIMIT
    if rf64:
        fmt = next(part.payload for part in parts if part.chunk_id == b"fmt ")
        frames = data.size // max(1, struct.unpack_from("<H", fmt, 12)[0])  # block align
        out.write(b"RF64" + struct.pack("<I", RIFF_LIMIT) + b"WAVE")
        out.write(b"ds64" + struct.pack("<IQQQI", 28, riff_size, data.size, frames, 0))
    else:
        # JUNK of ds64's size keeps the layout identical, so an upgrade in place stays possible.
        out.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
        out.write(b"JUNK" + struct.pack("<I", 28) + bytes(28))
    # libsndfile's RF64 reader (1.2) ignores the pad byte of odd-sized chunks before the data
    # chunk and then cannot find it; odd-sized chunks go after the data in RF64 files.
    before = [part for part in parts if not (rf64 and part.size & 1)]
    after = [part for part in parts if rf64 and part.size & 1]
    _write_parts(out, before)
    out.write(b"data" + struct.pack("<I", RIFF_LIMIT if rf64 else data.size))
    audio.seek(data.offset)
    _copy_bytes(audio, out, data.size, None)
    if data.size & 1:
        out.write(b"\x00")
    _write_parts(out, after)


def _write_parts(out: BinaryIO, parts: list[_Part]) -> None:
    for part in parts:
        out.write(part.chunk_id + struct.pack("<I", part.size))
        if part.payload is not None:
            out.write(part.payload)
        else:
            with open(part.source, "rb") as source:
                source.seek(part.chunk.offset)
                _copy_bytes(source, out, part.size, None)
        if part.size & 1:
            out.write(b"\x00")


def _copy_bytes(source: BinaryIO, target: BinaryIO | None, count: int, digest) -> None:
    """Copy (and/or hash) ``count`` bytes from ``source``'s position in bounded blocks."""
    remaining = count
    while remaining > 0:
        block = source.read(min(COPY_BLOCK_BYTES, remaining))
        if not block:
            raise RestoreError(getattr(source, "name", None), "file ended inside a chunk")
        if target is not None:
            target.write(block)
        if digest is not None:
            digest.update(block)
        remaining -= len(block)
