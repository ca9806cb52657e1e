"""restore.io: bit-exact round trips, metadata, block reading, atomic and safe writing."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from restore import io
from restore.errors import RestoreError
from restore.io import riff
from restore.io import writer as io_writer

RATE = 48_000

# (container, subtype, extension): every lossless format the tool reads and writes.
LOSSLESS = [
    ("WAV", "PCM_U8", ".wav"), ("WAV", "PCM_16", ".wav"), ("WAV", "PCM_24", ".wav"),
    ("WAV", "PCM_32", ".wav"), ("WAV", "FLOAT", ".wav"), ("WAV", "DOUBLE", ".wav"),
    ("WAVEX", "PCM_24", ".wav"), ("RF64", "PCM_24", ".wav"), ("RF64", "FLOAT", ".rf64"),
    ("W64", "PCM_16", ".w64"), ("W64", "FLOAT", ".w64"), ("FLAC", "PCM_16", ".flac"),
    ("FLAC", "PCM_24", ".flac"), ("AIFF", "PCM_16", ".aiff"), ("AIFF", "PCM_24", ".aiff"),
]


def make_source(path, container: str, subtype: str, rng, frames: int = 4000, channels: int = 2):
    """Write a file whose samples are exactly representable in ``subtype`` (full-scale noise)."""
    if subtype in ("FLOAT", "DOUBLE"):
        dtype = np.float32 if subtype == "FLOAT" else np.float64
        data = rng.uniform(-1, 1, (frames, channels)).astype(dtype)
    else:
        bits = {"PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}[subtype]
        values = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), (frames, channels))
        data = (values << (32 - bits)).astype(np.int32)  # soundfile's int32 is left-aligned
    sf.write(path, data, RATE, subtype=subtype, format=container)


def raw(path, subtype: str) -> np.ndarray:
    return sf.read(path, dtype="float64" if subtype in ("FLOAT", "DOUBLE") else "int32")[0]


@pytest.mark.parametrize("container,subtype,extension", LOSSLESS)
def test_round_trip_is_bit_exact(tmp_path, rng, container, subtype, extension):
    source = tmp_path / f"in{extension}"
    make_source(source, container, subtype, rng)
    exact_dtype = "float64" if subtype in ("PCM_32", "DOUBLE") else "float32"
    audio, info = io.load(source, dtype=exact_dtype)
    assert (info.container, info.subtype, info.channels, info.frames) == (container, subtype, 2,
                                                                          4000)
    assert audio.shape == (2, 4000) and audio.dtype == np.dtype(exact_dtype)
    target = tmp_path / f"out{extension}"
    io.save(target, audio, info.sample_rate, like=info)
    written = io.read_info(target)
    assert (written.container, written.subtype) == (container, subtype)
    np.testing.assert_array_equal(raw(target, subtype), raw(source, subtype))
    if container in ("WAV", "WAVEX", "RF64"):  # the audio bytes themselves are identical
        assert riff.data_md5(target) == riff.data_md5(source)


def test_float32_boundary_loses_only_below_24_bits(tmp_path, rng):
    source = tmp_path / "in.wav"
    make_source(source, "WAV", "PCM_32", rng)
    audio, info = io.load(source)
    assert audio.dtype == np.float32
    exact = raw(source, "PCM_32").T / 2.0**31
    assert np.max(np.abs(audio - exact)) <= 2.0**-24


def test_metadata_strings_are_kept(tmp_path, rng):
    tags = {"title": "Interview 3", "artist": "Field team", "comment": "reel 2, side A",
            "date": "1961-05-04"}
    for extension in (".wav", ".flac"):
        source = tmp_path / f"tagged{extension}"
        with sf.SoundFile(source, "w", RATE, 1, "PCM_16") as handle:
            for key, value in tags.items():
                setattr(handle, key, value)
            handle.write(np.zeros(1000, np.float32))
        audio, info = io.load(source)
        assert {key: info.metadata.get(key) for key in tags} == tags
        target = tmp_path / f"out{extension}"
        io.save(target, audio, RATE, like=info)
        assert {key: io.read_info(target).metadata.get(key) for key in tags} == tags


def test_lossy_input_defaults_to_24_bit_wav(tmp_path):
    source = tmp_path / "in.ogg"
    sf.write(source, np.zeros((RATE // 2, 1), np.float32), RATE, format="OGG", subtype="VORBIS")
    audio, info = io.load(source)
    assert info.container == "OGG"
    io.save(tmp_path / "out.wav", audio, RATE, like=info)
    assert io.read_info(tmp_path / "out.wav").subtype == "PCM_24"
    with pytest.raises(RestoreError, match="cannot write"):
        io.save(tmp_path / "out.ogg", audio, RATE, like=info)


def test_mp3_is_read(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile cannot write MP3 for the fixture")
    source = tmp_path / "in.mp3"
    t = np.arange(RATE) / RATE
    sf.write(source, (0.5 * np.sin(2 * np.pi * 440 * t))[:, None], RATE, format="MP3",
             subtype="MPEG_LAYER_III")
    audio, info = io.load(source)
    assert info.container == "MP3" and audio.dtype == np.float32 and audio.shape[0] == 1
    assert 0.4 < np.max(np.abs(audio)) < 0.6


def test_partial_load_and_blocks_match_full_load(tmp_path, rng):
    source = tmp_path / "in.flac"
    make_source(source, "FLAC", "PCM_16", rng, frames=10_000, channels=3)
    full, _ = io.load(source)
    part, _ = io.load(source, start_frame=1234, frames=500)
    np.testing.assert_array_equal(part, full[:, 1234:1734])
    blocks = list(io.iter_blocks(source, 3000))
    assert [block.shape for block in blocks] == [(3, 3000)] * 3 + [(3, 1000)]
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), full)


def test_writer_refuses_existing_output_and_input(tmp_path, rng):
    source = tmp_path / "in.wav"
    make_source(source, "WAV", "PCM_16", rng)
    audio, info = io.load(source)
    before = source.read_bytes()
    with pytest.raises(RestoreError, match="same file as an input"):
        io.save(source, audio, RATE, like=info, overwrite=True)
    (tmp_path / "link.wav").symlink_to(source)
    with pytest.raises(RestoreError, match="same file as an input"):
        io.save(tmp_path / "link.wav", audio, RATE, inputs=[source], overwrite=True)
    target = tmp_path / "out.wav"
    target.write_bytes(b"keep me")
    with pytest.raises(RestoreError, match="already exists"):
        io.save(target, audio, RATE)
    assert target.read_bytes() == b"keep me" and source.read_bytes() == before
    io.save(target, audio, RATE, overwrite=True)
    np.testing.assert_array_equal(io.load(target)[0], audio)


def test_error_inside_writer_leaves_nothing(tmp_path):
    target = tmp_path / "sub" / "out.wav"
    with pytest.raises(RuntimeError, match="boom"):
        with io.AudioWriter(target, RATE, 1) as writer:
            writer.write(np.zeros((1, 1000), np.float32))
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the temporary file is gone too


def test_nan_is_refused_on_write(tmp_path):
    target = tmp_path / "out.wav"
    audio = np.zeros((1, 100), np.float32)
    audio[0, 50] = np.nan
    with pytest.raises(RestoreError, match="NaN"):
        io.save(target, audio, RATE)
    assert list(tmp_path.iterdir()) == []


def test_wav_switches_to_rf64_past_the_threshold(tmp_path, rng, monkeypatch):
    # The real threshold is 4 GiB; lowering it exercises the same code path on a small file.
    monkeypatch.setattr(io_writer, "RF64_THRESHOLD_BYTES", 30_000)
    audio = (rng.integers(-2**23, 2**23, (2, 12_000)) / 2**23).astype(np.float32)
    target = tmp_path / "out.wav"
    with io.AudioWriter(target, RATE, 2, subtype="PCM_24") as writer:
        for start in range(0, 12_000, 1000):
            writer.write(audio[:, start:start + 1000])
    assert target.read_bytes()[:4] == b"RF64"
    info = io.read_info(target)
    assert (info.container, info.frames) == ("RF64", 12_000)
    np.testing.assert_array_equal(io.load(target)[0], audio)
    # with the expected length known up front it is RF64 from the start
    io.save(tmp_path / "direct.wav", audio, RATE, subtype="PCM_24")
    assert (tmp_path / "direct.wav").read_bytes()[:4] == b"RF64"


@pytest.mark.parametrize("content,reason", [
    (b"", "empty file"),
    (b"this is a text file, not audio\n" * 10, "not audio"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not audio|corrupt"),
])
def test_bad_inputs_raise_restore_error(tmp_path, content, reason):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(RestoreError, match=reason):
        io.read_info(path)
    with pytest.raises(RestoreError, match="no such file"):
        io.load(tmp_path / "missing.wav")
    with pytest.raises(RestoreError, match="directory"):
        io.load(tmp_path)


def test_nan_in_float_file_is_reported(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros((1000, 1), np.float32)
    data[700] = np.inf
    sf.write(path, data, RATE, subtype="FLOAT")
    with pytest.raises(RestoreError, match="frame 700"):
        io.load(path)
    with pytest.raises(RestoreError, match="NaN or infinite"):
        list(io.iter_blocks(path, 256))


def test_aiff_past_4_gb_is_refused_not_corrupted(tmp_path, monkeypatch):
    monkeypatch.setattr(io_writer, "RF64_THRESHOLD_BYTES", 3000)  # stands in for 4 GiB
    target = tmp_path / "out.aiff"
    with pytest.raises(RestoreError, match="AIFF cannot hold"):
        io.save(target, np.zeros((1, 2000), np.float32), RATE, subtype="PCM_16")
    assert list(tmp_path.iterdir()) == []


def test_failure_to_open_leaves_no_temporary_file(tmp_path):
    # FLAC stops at 655350 Hz: libsndfile refuses to open the temporary file
    with pytest.raises(RestoreError, match="cannot write"):
        io.save(tmp_path / "out.flac", np.zeros((1, 10), np.float32), 2_000_000)
    assert list(tmp_path.iterdir()) == []
