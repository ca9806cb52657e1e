"""Broadcast WAV chunks are carried into WAV outputs; CodingHistory gets one line; data MD5."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import soundfile as sf

from restore import io
from restore.io import riff
from restore.io import writer as io_writer

RATE = 48_000


def bext_payload(history: bytes) -> bytes:
    fixed = bytearray(602)
    fixed[0:11] = b"Interview 3"  # Description
    fixed[256:264] = b"Archive1"  # Originator
    fixed[320:330] = b"1961-05-04"  # OriginationDate
    fixed[338:346] = struct.pack("<Q", 48_000 * 3600)  # TimeReference
    fixed[346:348] = struct.pack("<H", 2)  # Version
    return bytes(fixed) + history


def add_chunks(path, chunks: list[tuple[bytes, bytes]]) -> None:
    """Insert ``chunks`` between ``fmt `` and ``data`` of a plain RIFF WAV (test-side writer)."""
    blob = path.read_bytes()
    assert blob[:4] == b"RIFF"
    position, parts = 12, []
    while position < len(blob):
        chunk_id, size = struct.unpack("<4sI", blob[position:position + 8])
        end = position + 8 + size + (size & 1)
        if chunk_id == b"data":
            for new_id, payload in chunks:
                parts.append(new_id + struct.pack("<I", len(payload)) + payload
                             + (b"\x00" if len(payload) & 1 else b""))
        parts.append(blob[position:end])
        position = end
    body = b"WAVE" + b"".join(parts)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def chunk_map(path) -> dict[bytes, bytes]:
    layout = riff.read_layout(path)
    return {chunk.chunk_id: riff.read_chunk(path, chunk) for chunk in layout.chunks
            if chunk.chunk_id != b"data"}


BWF_CHUNKS = [
    (b"bext", bext_payload(b"A=ANALOGUE,M=mono,T=Studer A80\r\nA=PCM,F=48000,W=24,M=mono\r\n")),
    (b"iXML", b"<?xml version='1.0'?><BWFXML><PROJECT>Oral history</PROJECT></BWFXML>"),
    (b"LIST", b"INFOINAM\x0c\x00\x00\x00Interview 3\x00"),
    (b"zzzz", b"\x01\x02\x03"),  # unknown chunk, odd size (padding)
    (b"MD5 ", bytes(16)),  # checksum of the old data: must not be carried
]


def make_bwf(path, rng, subtype="PCM_24", form="WAV"):
    audio = (rng.integers(-2**23, 2**23, (2000, 1)) / 2**23).astype(np.float32)
    sf.write(path, audio, RATE, subtype=subtype, format="WAV")
    add_chunks(path, BWF_CHUNKS)
    return audio


def test_bwf_chunks_are_carried_and_history_appended(tmp_path, rng):
    source = tmp_path / "in.wav"
    make_bwf(source, rng)
    source_bytes = source.read_bytes()
    audio, info = io.load(source)
    target = tmp_path / "out.wav"
    io.save(target, audio * 0.5, RATE, like=info, history="inpaint 2 gaps, model tiny-1")
    assert source.read_bytes() == source_bytes  # input untouched
    out = chunk_map(target)
    original = dict(BWF_CHUNKS)
    for chunk_id in (b"iXML", b"LIST", b"zzzz"):
        assert out[chunk_id] == original[chunk_id]
    assert b"MD5 " not in out
    assert out[b"bext"][:602] == original[b"bext"][:602]
    history = out[b"bext"][602:].decode("ascii")
    assert history.startswith("A=ANALOGUE,M=mono,T=Studer A80\r\nA=PCM,F=48000,W=24,M=mono\r\n")
    new_line = history.split("\r\n")[2]
    assert new_line.startswith("A=PCM,F=48000,W=24,M=mono,T=restore ")
    assert new_line.endswith("; inpaint 2 gaps, model tiny-1") and history.endswith("\r\n")
    ids = [chunk.chunk_id for chunk in riff.read_layout(target).chunks]
    assert ids.index(b"bext") < ids.index(b"iXML") < ids.index(b"LIST") < ids.index(b"zzzz")
    written, written_info = io.load(target)
    assert (written_info.container, written_info.subtype) == ("WAV", "PCM_24")
    np.testing.assert_allclose(written, audio * 0.5, rtol=0, atol=2.0**-24)  # 24-bit rounding


def test_rf64_output_carries_chunks(tmp_path, rng, monkeypatch):

    source = tmp_path / "in.wav"
    audio = make_bwf(source, rng)
    _, info = io.load(source)
    monkeypatch.setattr(io_writer, "RF64_THRESHOLD_BYTES", 1000)  # stands in for 4 GiB
    target = tmp_path / "out.wav"
    io.save(target, audio.T, RATE, like=info, history="test")
    assert target.read_bytes()[:4] == b"RF64"
    out = chunk_map(target)
    original = dict(BWF_CHUNKS)
    assert all(out[key] == original[key] for key in (b"iXML", b"LIST", b"zzzz")) and b"ds64" in out
    data_size, frames = struct.unpack_from("<QQ", out[b"ds64"], 8)
    assert (data_size, frames) == (2000 * 3, 2000)
    np.testing.assert_array_equal(io.load(target)[0], audio.T)


def test_flac_output_of_bwf_keeps_audio(tmp_path, rng):
    source = tmp_path / "in.wav"
    audio = make_bwf(source, rng)
    _, info = io.load(source)
    io.save(tmp_path / "out.flac", audio.T, RATE, like=info)
    assert io.read_info(tmp_path / "out.flac").subtype == "PCM_24"


def test_data_md5_is_md5_of_data_chunk_bytes(tmp_path, rng):
    source = tmp_path / "in.wav"
    make_bwf(source, rng, subtype="PCM_16")
    blob = source.read_bytes()
    start = blob.index(b"data") + 8
    expected = hashlib.md5(blob[start:start + 4000]).hexdigest()
    assert riff.data_md5(source) == expected
    before = riff.data_md5(source)
    add_chunks(source, [(b"cue ", b"\x00" * 4)])  # a metadata edit: fixity unchanged
    assert riff.data_md5(source) == before


def test_coding_history_of_malformed_bext_is_left_alone():
    assert riff.append_coding_history(b"short", "x") == b"short"
    line = riff.coding_history_line(44_100, 16, 6, "restore 1; a\r\nb")
    assert line == "A=PCM,F=44100,W=16,M=multitrack(6),T=restore 1; a\r\nb"
    assert riff.append_coding_history(bext_payload(b""), line).endswith(b"a  b\r\n")


def test_rf64_input_gives_rf64_output_with_history_growing(tmp_path, rng, monkeypatch):

    source = tmp_path / "in.wav"
    audio = make_bwf(source, rng).T
    _, info = io.load(source)
    with monkeypatch.context() as patch:
        patch.setattr(io_writer, "RF64_THRESHOLD_BYTES", 1000)
        io.save(tmp_path / "rf64.wav", audio, RATE, like=info, history="first pass")
    rf64_audio, rf64_info = io.load(tmp_path / "rf64.wav")
    assert rf64_info.container == "RF64"
    target = tmp_path / "second.wav"
    io.save(target, rf64_audio, RATE, like=rf64_info, history="second pass")
    assert target.read_bytes()[:4] == b"RF64" and io.read_info(target).container == "RF64"
    history = chunk_map(target)[b"bext"][602:].decode("ascii").split("\r\n")
    assert history[2].endswith("; first pass") and history[3].endswith("; second pass")
    assert chunk_map(target)[b"iXML"] == dict(BWF_CHUNKS)[b"iXML"]
    np.testing.assert_array_equal(io.load(target)[0], audio)
