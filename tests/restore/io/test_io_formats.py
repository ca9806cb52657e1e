"""Every input a user has, through the real command line: MP3 without a Xing header, truncated
files, AAC/M4A, ALAC, Opus, WMA, the audio of video files, u-law; fixtures encoded in the test
with PyAV (conftest.py), no system tools."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import restore_process
from tests.restore.pyav_media import encode, tone

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 44_100


restore = restore_process


def sidecar(path) -> dict:
    return json.loads(path.with_name(path.name + ".restore.json").read_text())


def test_mp3_without_xing_header_is_read_to_its_decoded_end(tmp_path):
    # sox, `lame -t` and ffmpeg -write_xing 0 make such files: the length in no header is exact
    source, target = tmp_path / "interview.mp3", tmp_path / "out.wav"
    encode(source, tone(3.0, RATE), RATE, "libmp3lame", container="mp3",
           container_options={"write_xing": "0"})
    estimate = sf.info(str(source)).frames  # libsndfile's estimate from the bit rate
    decoded = sf.read(str(source))[0].shape[0]  # an independent decoder (mpg123), to the end
    assert estimate != decoded  # the case of the issue: the header-less estimate is off
    result = restore("convert", source, "-o", target)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert sf.info(target).frames == decoded and sf.info(target).subtype == "PCM_24"
    assert sidecar(target)["inputs"][0]["format"]["decoder"].startswith("FFmpeg")
    misnamed = tmp_path / "interview.wav"  # MPEG audio under another name goes to PyAV too
    misnamed.write_bytes(source.read_bytes())
    result = restore("convert", misnamed, "-o", tmp_path / "out2.wav")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert sf.info(tmp_path / "out2.wav").frames == decoded


def test_truncated_mp3_warns_and_the_readable_part_is_processed(tmp_path):
    whole, cut, target = tmp_path / "whole.mp3", tmp_path / "partial.mp3", tmp_path / "out.wav"
    encode(whole, tone(4.0, RATE), RATE, "libmp3lame", container="mp3")  # Xing header: 4 s
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    result = restore("upsample", cut, "-o", target, "--rate", "48000", "--method", "classical")
    assert result.returncode == 0, result.stderr
    warning, done = result.stderr.splitlines()[0], result.stdout
    assert warning.startswith(f"restore: warning: {cut}: truncated: the file declares 4.000 s")
    assert f"{cut} -> {target}" in done
    seconds = sf.info(target).frames / 48_000
    assert 1.5 < seconds < 2.5
    assert "truncated" in sidecar(target)["inputs"][0]["format"]["warnings"][0]


CODECS = {  # name: (codec, container, encoder options, expected output subtype)
    "speech.m4a": ("aac", "ipod", {}, "PCM_24"),
    "speech.aac": ("aac", "adts", {}, "PCM_24"),
    "master.m4a": ("alac", "ipod", {"sample_format": "s16p"}, "PCM_16"),
    "voice.opus": ("libopus", "ogg", {}, "PCM_24"),
    "radio.wma": ("wmav2", "asf", {"bit_rate": 128_000}, "PCM_24"),
    "film.mkv": ("aac", "matroska", {"video": True}, "PCM_24"),
    "film.mp4": ("aac", "mp4", {"video": True}, "PCM_24"),
}


@pytest.mark.parametrize("name", sorted(CODECS))
def test_compressed_and_video_inputs_are_converted(tmp_path, name):
    codec, container, options, subtype = CODECS[name]
    rate = 48_000 if codec == "libopus" else RATE
    original = tone(2.0, rate)
    source = encode(tmp_path / name, original, rate, codec, container=container, **options)
    target = tmp_path / "out.wav"
    result = restore("convert", source, "-o", target)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    decoded, written_rate = sf.read(target, dtype="float32")
    assert written_rate == rate and sf.info(target).subtype == subtype
    assert abs(decoded.shape[0] - original.shape[1]) < 4096  # codec priming/padding at most
    # compare the middle second, at the best alignment within the codecs' delays
    middle = original[0, rate // 2:rate]
    errors = [np.sqrt(np.mean((decoded[start:start + middle.size, 0] - middle) ** 2))
              for start in range(rate // 2 - 3000, rate // 2 + 3000)]
    assert min(errors) < 0.05 * np.sqrt(np.mean(middle ** 2))
    if subtype == "PCM_16":  # ALAC is lossless: the 16-bit values come back exactly
        expected = np.round(original.T * 32767) / 32768
        assert np.abs(decoded[:expected.shape[0]] - expected).max() <= 1 / 32768


def test_recursive_finds_every_extension_the_readers_accept(tmp_path):
    folder = tmp_path / "collection"
    (folder / "disc").mkdir(parents=True)
    audio = tone(0.5, 48_000)
    encode(folder / "a.m4a", audio, 48_000, "aac", container="ipod")
    encode(folder / "disc" / "b.opus", audio, 48_000, "libopus", container="ogg")
    encode(folder / "c.aac", audio, 48_000, "aac", container="adts")
    encode(folder / "d.mp3", audio, 48_000, "libmp3lame", container="mp3")
    sf.write(folder / "e.flac", audio.T, 48_000)
    (folder / "notes.txt").write_text("not audio")
    result = restore("convert", "-r", folder, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    written = sorted(str(path.relative_to(tmp_path / "out"))
                     for path in (tmp_path / "out").rglob("*") if path.suffix in (".wav", ".flac"))
    assert written == ["a.wav", "c.wav", "d.wav", "disc/b.wav", "e.flac"]


def test_u_law_input_gives_a_16_bit_output_after_processing(tmp_path):
    source = tmp_path / "phone.wav"
    sf.write(source, tone(1.0, 8000).T, 8000, subtype="ULAW")
    result = restore("upsample", source, "-o", tmp_path / "wide.wav", "--rate", "16000",
                     "--method", "classical")
    assert result.returncode == 0, result.stderr
    assert sf.info(tmp_path / "wide.wav").subtype == "PCM_16"
    assert restore("convert", source, "-o", tmp_path / "copy.wav").returncode == 0
    assert sf.info(tmp_path / "copy.wav").subtype == "ULAW"  # a copy keeps the input's format


def test_wav_and_flac_paths_do_not_need_pyav():
    # training machines read WAV/FLAC corpora through restore.io without PyAV installed
    code = "import sys, restore.io, data_prep.shards; sys.exit('av' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
