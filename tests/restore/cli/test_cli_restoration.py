"""``restore inpaint | upsample | transition`` through the real command line (subprocesses).

The model is an untrained tiny one written to a temp file (``--model``): its fills are noise,
but exactness outside gaps, the kept low band, lengths, rates, channels, seams, batches and
reproducibility are properties of the pipeline that any model must satisfy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from restore import dsp
from tests.helpers import restore_in_process, restore_process, tiny_model_file

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it

RATE = 16_000


def music(seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    """``[frames, channels]`` music-like audio (partials, tremolo, a little noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    rows = [0.3 * np.sin(2 * np.pi * 220 * (1 + 0.5 * c) * t) * (0.7 + 0.3 * np.cos(3 * t))
            + 0.03 * rng.standard_normal(t.shape) for c in range(channels)]
    return np.stack(rows, axis=1).astype(np.float32)


def run(*args: str, check: bool = True, subprocess_run: bool = False):
    """Run ``restore ARGS``: in this process through click (fast), or as a real subprocess."""
    if subprocess_run:
        result = restore_process(*args)
        code = result.returncode
    else:
        result = restore_in_process(*args, check=False)
        code = result.exit_code
    if check and code != 0:
        raise AssertionError(f"exit {code}: {result.stderr}")
    result.returncode = code
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("restoration")
    tiny_model_file(folder)
    damaged = music(2.0, RATE, 2)
    damaged[int(0.8 * RATE):int(0.85 * RATE)] = 0.0
    damaged[int(1.3 * RATE):int(1.32 * RATE)] = 0.0
    sf.write(folder / "damaged.wav", damaged, RATE, subtype="PCM_24")
    (folder / "gaps.txt").write_text("1.3\t1.32\tclick\n")
    return folder


def model_args(work: Path) -> list[str]:
    return ["--model", str(work / "tiny.safetensors"), "--steps", "2", "--device", "cpu"]


def test_inpaint_keeps_untouched_samples_bit_exact(work):
    out = work / "inpainted.wav"
    run("inpaint", str(work / "damaged.wav"), "-o", str(out), "--gap", "0.8:0.85",
        "--gaps", str(work / "gaps.txt"), "--mark-labels", str(work / "marks.txt"),
        *model_args(work))
    original, rate = sf.read(work / "damaged.wav", dtype="int32")
    restored, out_rate = sf.read(out, dtype="int32")
    assert sf.info(str(out)).subtype == "PCM_24" and out_rate == rate
    assert restored.shape == original.shape
    sidecar = json.loads(Path(f"{out}.restore.json").read_text())
    regions = sidecar["generated_regions"]
    assert [round(item["start"], 3) for item in regions] == [0.798, 1.298]
    kept = np.ones(len(original), dtype=bool)
    for item in regions:
        kept[int(round(item["start"] * rate)):int(round(item["end"] * rate))] = False
    np.testing.assert_array_equal(restored[kept], original[kept])
    assert not np.array_equal(restored[~kept], original[~kept])
    labels = (work / "marks.txt").read_text().splitlines()
    assert len(labels) == 2 and labels[0].startswith("0.798000\t0.852000\tgenerated: inpaint")
    assert sidecar["model"]["sha256"] and sidecar["parameters"]["steps"] == 2


def test_same_seed_gives_identical_bytes(work):
    outputs = [work / f"seed_{name}.wav" for name in ("a", "b", "c")]
    for output, seed in zip(outputs, ("7", "7", "8"), strict=True):
        run("inpaint", str(work / "damaged.wav"), "-o", str(output), "--gap", "0.8:0.85",
            "--seed", seed, "--variants", "1", "--method", "diffusion", *model_args(work))
    first, second, other = (path.read_bytes() for path in outputs)
    assert first == second
    assert first != other


def test_upsample_keeps_low_band_and_sets_rate(work):
    from evaluation.metrics import lsd_lf

    noise = (0.1 * np.random.default_rng(1).standard_normal((3 * RATE, 1))).astype(np.float32)
    sf.write(work / "narrow.flac", noise, RATE, subtype="PCM_16")
    out = work / "wide.flac"
    run("upsample", str(work / "narrow.flac"), "-o", str(out), "--rate", "48000",
        *model_args(work))
    wide, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == 48_000 and wide.shape == (3 * 48_000, 1)
    assert sf.info(str(out)).format == "FLAC" and sf.info(str(out)).subtype == "PCM_16"
    narrow, _ = sf.read(work / "narrow.flac", dtype="float32", always_2d=True)
    reference = dsp.resample(torch.from_numpy(narrow.T.copy()), RATE, 48_000).numpy()
    assert lsd_lf(wide.T, reference, 48_000, 7000.0) < 0.1
    regions = json.loads(Path(f"{out}.restore.json").read_text())["generated_regions"]
    assert regions[0]["task"] == "bandwidth" and regions[0]["band_hz"][1] == 24_000


def test_upsample_stereo_to_44k_has_no_seam(work):
    """A stationary tone through several window boundaries (1 s windows): no jump anywhere.

    This guards the engine's context and overlap-add at the file level; that the diffusion
    windows themselves agree where they overlap is asserted in
    ``test_tasks.py::test_upsample_windows_agree_where_they_overlap``.
    """
    t = np.arange(3 * 8000) / 8000
    tone = 0.4 * np.sin(2 * np.pi * 330 * t)
    sf.write(work / "tone.wav", np.stack([tone, 0.5 * tone], axis=1), 8000, subtype="FLOAT")
    out = work / "tone44.wav"
    run("upsample", str(work / "tone.wav"), "-o", str(out), "--rate", "44100", "--cutoff", "3500",
        "--batch-size", "2", *model_args(work))
    audio, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == 44_100 and audio.shape == (3 * 44_100, 2)
    steps = np.abs(np.diff(audio[:, 0]))
    inner = steps[2000:-2000]
    boundaries = [int(seconds * rate) for seconds in (0.75, 1.5, 2.25)]
    around = np.concatenate([steps[b - 2000:b + 2000] for b in boundaries])
    # the largest step near window boundaries is no larger than the typical largest step
    assert around.max() <= 1.5 * np.percentile(inner, 99.9)


def test_transition_converts_b_and_keeps_a(work):
    a, b = music(1.0, RATE, 2, seed=3), music(0.5, 8000, 1, seed=4)
    sf.write(work / "a.wav", a, RATE, subtype="PCM_16")
    sf.write(work / "b.wav", b, 8000, subtype="PCM_16")
    out = work / "joined.wav"
    run("transition", str(work / "a.wav"), str(work / "b.wav"), "-o", str(out), "--length",
        "0.25", "--match-loudness", *model_args(work))
    joined, rate = sf.read(out, dtype="int16", always_2d=True)
    original, _ = sf.read(work / "a.wav", dtype="int16", always_2d=True)
    assert rate == RATE and joined.shape == (RATE + 4000 + 8000, 2)
    np.testing.assert_array_equal(joined[:RATE], original)
    regions = json.loads(Path(f"{out}.restore.json").read_text())["generated_regions"]
    assert regions == [{"start": 1.0, "end": 1.25, "task": "transition", "method": "diffusion"}]
    bridge = work / "bridge.wav"
    run("transition", str(work / "a.wav"), str(work / "b.wav"), "-o", str(bridge), "--length",
        "0.5", "--bridge-only", "--method", "classical")
    assert sf.info(str(bridge)).frames == 8000 and sf.info(str(bridge)).channels == 2


def test_batch_mirrors_tree_survives_corrupt_file_and_resumes(work, tmp_path):
    source = tmp_path / "in"
    (source / "sub").mkdir(parents=True)
    for name in ("one.wav", "sub/two.wav"):
        sf.write(source / name, music(1.0, RATE, 1), RATE, subtype="PCM_16")
    (source / "sub" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    out = tmp_path / "out"
    first = run("inpaint", str(source), "-r", "-o", str(out), "--gap", "0.5:0.52", "--method",
                "classical", check=False, subprocess_run=True)
    assert first.returncode == 1
    assert "broken.wav" in first.stderr and "2 of 3 files done" in first.stderr
    assert (out / "one.wav").is_file() and (out / "sub" / "two.wav").is_file()
    assert not (out / "sub" / "broken.wav").exists()
    kept = (out / "one.wav").stat().st_mtime_ns
    (out / "sub" / "two.wav").unlink()
    again = run("inpaint", str(source), "-r", "-o", str(out), "--gap", "0.5:0.52", "--method",
                "classical", "--skip-existing", check=False)
    assert again.returncode == 1 and "skipped" in again.stderr
    assert (out / "one.wav").stat().st_mtime_ns == kept
    assert (out / "sub" / "two.wav").is_file()
    refused = run("inpaint", str(source / "one.wav"), "-o", str(out / "one.wav"), "--gap",
                  "0.5:0.52", "--method", "classical", check=False)
    assert refused.returncode == 1 and "already exists" in refused.stderr


def test_inpaint_without_gaps_is_a_usage_error(work):
    result = run("inpaint", str(work / "damaged.wav"), check=False)
    assert result.returncode == 2 and "--gap" in result.stderr


def test_detect_finds_and_labels_dropouts(work):
    out, labels = work / "detected.wav", work / "found.txt"
    run("inpaint", str(work / "damaged.wav"), "-o", str(out), "--detect", "--write-labels",
        str(labels), "--variants", "2", *model_args(work))
    rows = [line.split("\t") for line in labels.read_text().splitlines()]
    assert [(round(float(a), 2), round(float(b), 2)) for a, b, _ in rows] == [(0.8, 0.85),
                                                                              (1.3, 1.32)]
    assert (work / "detected_v1.wav").is_file() and (work / "detected_v2.wav").is_file()


def test_32_bit_input_is_copied_exactly_and_subtype_can_change(work):
    """32-bit integers carry more bits than float32 holds: they must pass through float64."""
    audio = (music(1.5, 8000, 1).astype(np.float64) * 2**31).astype(np.int32)
    audio += np.random.default_rng(2).integers(0, 255, audio.shape, dtype=np.int32)  # low bits
    sf.write(work / "deep.wav", audio, 8000, subtype="PCM_32")
    out, flac = work / "deep_out.wav", work / "deep_16.flac"
    run("inpaint", str(work / "deep.wav"), "-o", str(out), "--gap", "0.7:0.72",
        *model_args(work))
    original, _ = sf.read(work / "deep.wav", dtype="int32")
    restored, _ = sf.read(out, dtype="int32")
    assert sf.info(str(out)).subtype == "PCM_32"
    kept = np.ones(len(original), dtype=bool)
    kept[int(0.698 * 8000):int(0.722 * 8000) + 1] = False
    np.testing.assert_array_equal(restored[kept], original[kept])
    run("inpaint", str(work / "deep.wav"), "-o", str(flac), "--gap", "0.7:0.72",
        "--subtype", "PCM_16", *model_args(work))
    assert sf.info(str(flac)).subtype == "PCM_16" and sf.info(str(flac)).format == "FLAC"
