"""Bad input and unsafe output through the real command line (a subprocess per case).

What is simulated is said in each test: a full disk is a real 256 KiB tmpfs (needs root and
mount, else skipped); a write failure for any user is a real RLIMIT_FSIZE limit (EFBIG); a
crash is a real SIGKILL of the writing process.
"""

from __future__ import annotations

import os
import resource
import signal
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import convert_while_writing, restore_process

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 48_000


def restore(*args, preexec_fn=None, timeout: int = 120) -> subprocess.CompletedProcess:
    return restore_process(*args, timeout=timeout, preexec_fn=preexec_fn)


def assert_one_line_error(result, path, reason: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"restore: error: {path}: "), lines[0]
    assert reason in lines[0], lines[0]


def wav(path: Path, seconds: float = 0.5, channels: int = 2, subtype: str = "PCM_16") -> Path:
    rng = np.random.default_rng(7)
    sf.write(path, rng.uniform(-0.5, 0.5, (int(seconds * RATE), channels)), RATE, subtype=subtype)
    return path


def zero_channel_wav(path: Path) -> None:
    fmt = struct.pack("<HHIIHH", 1, 0, RATE, 0, 0, 16)  # PCM, 0 channels
    data = b"data" + struct.pack("<I", 4) + bytes(4)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def nan_wav(path: Path) -> None:
    data = np.zeros((1000, 1), np.float32)
    data[10] = np.nan
    sf.write(path, data, RATE, subtype="FLOAT")


def truncated_wav(path: Path) -> None:
    wav(path)
    path.write_bytes(path.read_bytes()[:30_000])


BAD_INPUTS = {
    "missing": (lambda path: None, "no such file"),
    "empty": (lambda path: path.write_bytes(b""), "empty file (0 bytes)"),
    "text": (lambda path: path.write_text("not audio at all\n" * 50), "not audio"),
    "header only": (lambda path: path.write_bytes(wav(path).read_bytes()[:20]), "corrupt"),
    "mp4 container": (lambda path: path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(500)),
                      "unsupported"),
    "zero frames": (lambda path: sf.write(path, np.zeros((0, 2)), RATE), "no audio frames"),
    "zero channels": (zero_channel_wav, "audio"),
    "nan samples": (nan_wav, "NaN or infinite"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_and_exit_1(tmp_path, case):
    make, reason = BAD_INPUTS[case]
    path = tmp_path / "input.wav"
    make(path)
    before = path.read_bytes() if path.exists() else None
    result = restore("info", path)
    assert_one_line_error(result, path, reason)
    assert (path.read_bytes() if path.exists() else None) == before  # input untouched


def test_convert_reports_every_bad_input_and_writes_nothing(tmp_path):
    paths = []
    for index, case in enumerate(sorted(BAD_INPUTS)):
        paths.append(tmp_path / f"{index}.wav")
        BAD_INPUTS[case][0](paths[-1])
    out = tmp_path / "out"
    result = restore("convert", *paths, "-o", out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(paths) + 1
    for line, path, case in zip(lines, paths, sorted(BAD_INPUTS), strict=False):
        assert line.startswith(f"restore: error: {path}: ") and BAD_INPUTS[case][1] in line
    assert lines[-1].startswith(f"restore: 0 of {len(paths)} files done, {len(paths)} failed")
    assert not out.exists() or list(out.rglob("*")) == []


def test_directory_input_and_usage_errors(tmp_path):
    result = restore("info", tmp_path)
    assert_one_line_error(result, tmp_path, "is a directory")
    result = restore("info", "--no-such-option", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = restore("convert", wav(tmp_path / "a.wav"), "--subtype", "PCM_99", "-o",
                     tmp_path / "b.wav")
    assert_one_line_error(result, tmp_path / "b.wav", "not valid for WAV")


def test_debug_shows_traceback(tmp_path):
    result = restore("--debug", "info", tmp_path / "missing.wav")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_batch_goes_on_past_bad_files_and_summarises(tmp_path):
    good, bad = wav(tmp_path / "good.wav"), tmp_path / "bad.wav"
    bad.write_text("nope")
    out = tmp_path / "out"
    result = restore("convert", bad, good, tmp_path / "missing.wav", "-o", out)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"restore: error: {bad}: ")
    assert lines[1].startswith(f"restore: error: {tmp_path / 'missing.wav'}: no such file")
    assert lines[2].startswith("restore: 1 of 3 files done, 2 failed: ")
    assert sf.info(out / "good.wav").frames == RATE // 2
    assert (out / "good.wav.restore.json").exists()


def test_recursive_folder_output_mirrors_sub_folders(tmp_path):
    source = tmp_path / "tapes"
    (source / "reel1").mkdir(parents=True)
    wav(source / "reel1" / "a.wav")
    wav(source / "b.wav")
    (source / "notes.txt").write_text("not picked up")
    result = restore("convert", "-r", source, "-o", tmp_path / "flac")
    assert result.returncode == 0, result.stderr
    result = restore("convert", "-r", source, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "reel1" / "a.wav").exists() and (tmp_path / "out" / "b.wav").exists()


def test_refuses_to_overwrite_output_or_input(tmp_path):
    source = wav(tmp_path / "in.wav")
    original = source.read_bytes()
    target = tmp_path / "out.flac"
    target.write_bytes(b"precious")
    assert_one_line_error(restore("convert", source, "-o", target), target, "already exists")
    assert target.read_bytes() == b"precious"
    result = restore("convert", source, "-o", source, "--overwrite")
    assert_one_line_error(result, source, "same file as an input")
    assert source.read_bytes() == original
    assert restore("convert", source, "-o", target, "--overwrite").returncode == 0
    assert sf.info(target).format == "FLAC"


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_failed_write_leaves_no_output(tmp_path):
    # Real failure: the kernel refuses writes past RLIMIT_FSIZE (EFBIG) half-way through.
    source = wav(tmp_path / "in.wav", seconds=5)
    target = tmp_path / "out" / "out.wav"
    result = restore("convert", source, "-o", target, preexec_fn=_limit_file_size)
    assert_one_line_error(result, target, "too large")
    assert list(target.parent.iterdir()) == []  # no output, temporary file removed


def test_disk_full_leaves_no_output(tmp_path, tiny_tmpfs):
    source = wav(tmp_path / "in.wav", seconds=5)  # 960 kB: does not fit in 256 kB
    target = tiny_tmpfs / "out.wav"
    result = restore("convert", source, "-o", target)
    assert_one_line_error(result, target, "disk full")
    assert list(tiny_tmpfs.iterdir()) == []


def test_unwritable_output_folder(tmp_path, tiny_tmpfs):
    source = wav(tmp_path / "in.wav")
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    result = restore("convert", source, "-o", tiny_tmpfs / "out.wav")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not writable" in result.stderr or "read-only" in result.stderr
    assert list(tiny_tmpfs.iterdir()) == []


def test_crash_mid_write_leaves_nothing_under_the_final_name(tmp_path):
    # Real crash: SIGKILL while the output is being written (no cleanup code can run).
    source = wav(tmp_path / "in.wav", seconds=120)
    target = tmp_path / "out" / "out.flac"
    process = convert_while_writing(source, target, timeout=60)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not target.exists()
    # the partial data sits only in a hidden temporary file; a new run is not blocked by it
    assert restore("convert", source, "-o", target).returncode == 0
    assert sf.info(target).frames == 120 * RATE


def test_unwritable_output_folder_for_a_normal_user(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the tmpfs test covers root")
    source = wav(tmp_path / "in.wav")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = restore("convert", source, "-o", folder / "out.wav")
        assert_one_line_error(result, folder, "not writable")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_corrupt_m4a_and_random_bytes_named_mp3_give_one_line(tmp_path):
    # Both go to FFmpeg (PyAV): no decoder chatter on stderr, only the one error line.
    m4a, mp3 = tmp_path / "interview.m4a", tmp_path / "noise.mp3"
    m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(500))
    mp3.write_bytes(np.random.default_rng(1).bytes(50_000))
    assert_one_line_error(restore("info", m4a), m4a, "corrupt audio format")
    assert_one_line_error(restore("info", mp3), mp3, "corrupt audio format")
    for seed in (1, 5):  # one looks like MPEG to libsndfile, the other like headerless u-law
        au = tmp_path / f"noise{seed}.au"
        au.write_bytes(np.random.default_rng(seed).bytes(40_000))
        assert_one_line_error(restore("info", au), au, "not audio")


def test_truncated_wav_is_a_warning_and_the_readable_part_is_used(tmp_path):
    source, target = tmp_path / "cut.wav", tmp_path / "out.wav"
    truncated_wav(source)
    result = restore("convert", source, "-o", target)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"restore: warning: {source}: truncated: the data chunk "
                                    "declares 96000 bytes")
    np.testing.assert_array_equal(sf.read(target)[0], sf.read(source)[0])
    assert sf.info(target).frames == (30_000 - 44) // 4
