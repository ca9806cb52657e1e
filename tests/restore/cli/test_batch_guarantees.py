"""Batches that always finish and lose nothing, through the real command line: output names
never collide, an output exists only with its sidecar, SIGTERM cleans up like Ctrl-C, and the
rough edges of issue 16 (one-line errors, clamped gaps, checks before any work)."""

from __future__ import annotations

import json
import os
import shlex
import signal

import pytest
import soundfile as sf
import torch

from tests.helpers import convert_while_writing, restore_process
from tests.restore.pyav_media import encode, tone

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 8000
CLASSICAL = ("--method", "classical")


restore = restore_process


def wav(path, seconds: float = 1.0, rate: int = RATE, subtype: str = "PCM_16"):
    sf.write(path, tone(seconds, rate, 1).T, rate, subtype=subtype)
    return path


def leftovers(folder) -> list[str]:
    return sorted(path.name for path in folder.rglob("*.restore-part"))


def assert_one_line(result, start: str, reason: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(start) and reason in lines[0], lines[0]


# -- output names ------------------------------------------------------------------------------
def test_same_name_different_extensions_get_distinct_outputs(tmp_path):
    inputs = [encode(tmp_path / "song.mp3", tone(1.0, RATE), RATE, "libmp3lame",
                     container="mp3"), tmp_path / "song.ogg", tmp_path / "song.WAV"]
    sf.write(inputs[1], tone(1.0, RATE).T, RATE, format="OGG", subtype="VORBIS")
    wav(inputs[2])
    out = tmp_path / "out"
    for extra in ((), ("--overwrite",)):
        result = restore("upsample", *inputs, "-o", out, "--rate", 16000, *CLASSICAL, *extra)
        assert result.returncode == 0, result.stderr
        assert "restore: 3 of 3 files done" in result.stderr
    names = {"song_mp3.wav": inputs[0], "song_ogg.wav": inputs[1], "song_wav.wav": inputs[2]}
    assert sorted(path.name for path in out.glob("*.wav")) == sorted(names)
    for name, source in names.items():
        record = json.loads((out / f"{name}.restore.json").read_text())
        assert record["inputs"][0]["path"] == str(source)


def test_names_that_still_collide_are_refused_before_any_work(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = wav(tmp_path / "a" / "take.wav"), wav(tmp_path / "b" / "take.wav")
    out = tmp_path / "out"
    result = restore("convert", first, second, "-o", out)
    assert_one_line(result, f"restore: error: {out / 'take_wav.wav'}: ", "would both be written")
    assert not out.exists()


def test_one_output_file_for_several_inputs_is_refused(tmp_path):
    first, second = wav(tmp_path / "a.wav"), wav(tmp_path / "b.wav")
    result = restore("upsample", first, second, "-o", tmp_path / "one.wav", *CLASSICAL)
    assert_one_line(result, f"restore: error: {tmp_path / 'one.wav'}: ", "give a folder")
    assert not (tmp_path / "one.wav").exists()


def test_inpaint_and_upsample_default_names_differ(tmp_path):
    source = wav(tmp_path / "tape.wav")
    assert restore("inpaint", source, "--gap", "0.4:0.41", *CLASSICAL).returncode == 0
    assert restore("upsample", source, "--rate", 16000, *CLASSICAL).returncode == 0
    assert sf.info(tmp_path / "tape_inpainted.wav").samplerate == RATE
    assert sf.info(tmp_path / "tape_upsampled.wav").samplerate == 16000


# -- an output is complete only with its sidecar -----------------------------------------------
def test_a_failed_sidecar_leaves_no_output(tmp_path):
    # Real failure of the sidecar's rename: a folder is in the way of the sidecar's name.
    source, out = wav(tmp_path / "in.wav"), tmp_path / "out.wav"
    (tmp_path / "out.wav.restore.json").mkdir()
    result = restore("upsample", source, "-o", out, "--rate", 16000, *CLASSICAL)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "out.wav.restore.json" in result.stderr
    assert not out.exists() and leftovers(tmp_path) == []


def test_disk_full_at_the_sidecar_leaves_no_output(tmp_path, tiny_tmpfs):
    # Real ENOSPC: the disk is filled so that the audio fits and its sidecar does not.
    source = wav(tmp_path / "in.wav", seconds=1.25)  # 20044 bytes: 5 pages
    audio_pages = -(-source.stat().st_size // 4096)
    status = os.statvfs(tiny_tmpfs)
    free_pages = status.f_bavail * status.f_frsize // 4096
    (tiny_tmpfs / "filler").write_bytes(bytes((free_pages - audio_pages) * 4096))
    result = restore("convert", source, "-o", tiny_tmpfs / "out.wav")
    assert result.returncode == 1 and "disk full" in result.stderr, result.stderr
    assert "restore.json" in result.stderr
    assert sorted(path.name for path in tiny_tmpfs.iterdir()) == ["filler"]


def test_skip_existing_skips_only_complete_pairs(tmp_path):
    source, out = wav(tmp_path / "in.wav"), tmp_path / "out.wav"
    command = ("upsample", source, "-o", out, "--rate", 16000, *CLASSICAL, "--skip-existing")
    assert restore(*command).returncode == 0
    assert "skipped (exists)" in restore(*command).stderr
    (tmp_path / "out.wav.restore.json").unlink()  # as an interrupted older run would leave it
    assert_one_line(restore(*command), f"restore: error: {out}: ", "without its sidecar")
    assert restore(*command, "--overwrite").returncode == 0
    assert (tmp_path / "out.wav.restore.json").exists()


def test_sigterm_mid_write_cleans_up_like_ctrl_c(tmp_path):
    source = wav(tmp_path / "in.wav", seconds=600, rate=48_000)
    folder = tmp_path / "out"
    process = convert_while_writing(source, folder / "out.wav", "--subtype", "PCM_24",
                                    timeout=120)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143 and "terminated" in stderr and "Traceback" not in stderr
    assert list(folder.iterdir()) == []


# -- rough edges -------------------------------------------------------------------------------
def test_bad_seed_and_missing_gpu_are_usage_errors_not_tracebacks(tmp_path):
    source = wav(tmp_path / "in.wav")
    result = restore("upsample", source, "--seed", "99999999999999999999")
    assert result.returncode == 2 and "--seed" in result.stderr
    assert "Overflow" not in result.stderr and "Traceback" not in result.stderr
    if torch.cuda.is_available():
        return
    result = restore("upsample", source, "--device", "cuda")
    assert result.returncode == 2 and "no usable CUDA GPU" in result.stderr
    assert "RuntimeError" not in result.stderr and str(source) not in result.stderr


def test_gap_messages_and_a_gap_just_past_the_end_is_clamped(tmp_path):
    source = wav(tmp_path / "in.wav")
    result = restore("inpaint", source, "--gap", "-1:0.5", *CLASSICAL)
    assert_one_line(result, f"restore: error: {source}: ", "cannot be negative")
    result = restore("inpaint", source, "--gap", "0.95:1.0001", "-o", tmp_path / "out.wav",
                     *CLASSICAL)
    assert result.returncode == 0, result.stderr
    assert sf.info(tmp_path / "out.wav").frames == RATE


def test_transition_refuses_an_existing_output_before_the_model_runs(tmp_path):
    a, b, out = wav(tmp_path / "a.wav"), wav(tmp_path / "b.wav"), tmp_path / "ab.wav"
    out.write_bytes(b"keep me")
    result = restore("transition", a, b, "--length", "0.5", "-o", out, "--model",
                     tmp_path / "no_model_here.safetensors", "--device", "cpu")
    assert_one_line(result, f"restore: error: {out}: ", "already exists")
    assert out.read_bytes() == b"keep me"


def test_sidecar_command_is_the_command_line(tmp_path):
    source, out = wav(tmp_path / "my take.wav"), tmp_path / "out.wav"
    arguments = ["upsample", str(source), "-o", str(out), "--rate", "16000", *CLASSICAL]
    assert restore(*arguments).returncode == 0
    record = json.loads((tmp_path / "out.wav.restore.json").read_text())
    assert record["command"] == shlex.join(["restore", *arguments])
    assert record["inputs"][0]["format"]["decoder"].startswith("libsndfile")
