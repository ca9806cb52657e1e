"""Click detection and repair: known synthetic clicks, clean material, and the real CLI.

The tiny random model only checks the diffusion path's mechanics (samples outside the clicks
bit-exact, regions listed), never quality.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import restore
from restore.classical.ar_blocks import block_autocorrelation, levinson
from restore.classical.click_fit import fit_click, predictor_correlations
from restore.classical.declick import declick, detect_clicks, fill_clicks
from tests.helpers import restore_in_process, tiny_model_file

RATE = 48_000


def tones(seconds: float, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """``[frames]`` float64: three partials with slow tremolo and a little noise, peak ~0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    audio = sum(0.15 / k * np.sin(2 * np.pi * 196 * k * t + k) for k in (1, 2, 3))
    audio = audio * (0.8 + 0.2 * np.cos(2 * np.pi * 0.7 * t))
    return audio + 0.002 * rng.standard_normal(t.shape)


def add_clicks(audio: np.ndarray, positions, widths, peaks, seed: int = 1) -> np.ndarray:
    """Decaying random-sign bursts of ``widths`` samples and ``peaks`` at ``positions``."""
    rng = np.random.default_rng(seed)
    out = audio.copy()
    for position, width, peak in zip(positions, widths, peaks, strict=True):
        shape = np.exp(-np.arange(width) / max(width / 3, 0.5)) * rng.standard_normal(width)
        shape[0] = 1.2 * np.abs(shape).max() * rng.choice([-1, 1])
        out[position:position + width] += peak * shape / np.abs(shape).max()
    return out


# isolated clicks need strong evidence (SPARSE_EVIDENCE: a sharp onset of clean music must not
# be taken for one): a lone one- or two-sample click here needs a peak of about 0.1 or more
POSITIONS = [4000, 13000, 21000, 30000, 38000, 47000, 55000, 66000, 75000, 86000]
WIDTHS = [1, 3, 8, 20, 50, 2, 5, 12, 30, 70]
PEAKS = [0.15, 0.1, 0.2, 0.4, 0.6, 0.12, 0.3, 0.15, 0.5, 0.3]


def test_finds_every_known_click_and_nothing_else():
    clean = tones(2.0)
    damaged = add_clicks(clean, POSITIONS, WIDTHS, PEAKS)
    mask = detect_clicks(damaged[None], RATE)[0]
    click = (damaged - clean) ** 2
    for position, width in zip(POSITIONS, WIDTHS, strict=True):
        inside = slice(position, position + width)
        assert np.sum(click[inside][mask[inside]]) >= 0.95 * np.sum(click[inside]), position
    near = np.zeros_like(mask)
    for position, width in zip(POSITIONS, WIDTHS, strict=True):
        near[position - 48:position + width + 48] = True
    assert not mask[~near].any()


def test_clean_material_is_left_alone():
    clean = tones(2.0, seed=3)
    repaired, mask = declick(clean[None], RATE)
    assert not mask.any()
    np.testing.assert_array_equal(repaired[0], clean.astype(np.float32))


def test_repair_restores_the_music_and_keeps_the_rest():
    clean = tones(2.0)
    damaged = add_clicks(clean, POSITIONS, WIDTHS, PEAKS)
    repaired, mask = declick(damaged[None], RATE)

    def snr(estimate):
        return 10 * np.log10(np.sum(clean**2) / np.sum((estimate - clean) ** 2))

    assert snr(repaired[0]) > snr(damaged) + 10  # the bar for the declick cases
    np.testing.assert_array_equal(repaired[0][~mask[0]], damaged.astype(np.float32)[~mask[0]])


def test_fill_interpolates_a_tone_across_a_gap():
    t = np.arange(RATE // 4) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    mask = np.zeros(tone.shape, dtype=bool)
    mask[5000:5040] = True
    filled = fill_clicks(np.where(mask, 0.3, tone)[None], mask[None], RATE)[0]
    assert np.max(np.abs(filled[mask] - tone[mask])) < 1e-3


def test_sensitivity_trades_faint_clicks():
    clean = tones(1.0, seed=5)
    # an isolated faint click (peak 0.05, its third sample a tenth of that, under the noise):
    # its evidence is between the thresholds at sensitivity 8 and at 1
    damaged = add_clicks(clean, [20000], [3], [0.05])
    low = detect_clicks(damaged[None], RATE, sensitivity=0.3)[0]
    default = detect_clicks(damaged[None], RATE)[0]
    high = detect_clicks(damaged[None], RATE, sensitivity=8.0)[0]
    assert not low[20000:20003].any() and not default[20000:20003].any()
    assert high[20000:20002].all()


def crackle(seconds: float, per_second: float, peak: float, seed: int = 7):
    """``(positions, widths, peaks)`` of crackle: Poisson positions at least 200 samples apart,
    widths 1-8 samples, all of one ``peak``."""
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(np.arange(2000, int(seconds * RATE) - 2000, 200),
                                   int(per_second * seconds), replace=False))
    widths = rng.integers(1, 9, positions.shape[0])
    return positions.tolist(), widths.tolist(), [peak] * positions.shape[0]


def test_fit_click_finds_a_known_click_and_its_evidence():
    clean = tones(0.5, seed=4)
    damaged = add_clicks(clean, [12000], [6], [0.2])
    block = 1024
    coefficients = levinson(block_autocorrelation(clean, block, 32))[12000 // block]
    rho = predictor_correlations(coefficients[None])[0]
    variance = float(np.var(np.convolve(clean, coefficients, mode="valid")))
    click = fit_click(damaged, coefficients, rho, 12000, (11980, 12030), variance, 240)
    assert click.samples[0] >= 11999 and click.samples[-1] <= 12007
    assert {12000, 12001, 12002}.issubset(click.samples.tolist())
    repaired = damaged.copy()
    repaired[click.samples] += click.delta
    assert np.max(np.abs(repaired - clean)) < 0.02  # the click was 0.2
    assert click.evidence > 1000
    # no click: the evidence of the same samples is chi-square-sized
    quiet = fit_click(clean, coefficients, rho, 12000, (11980, 12030), variance, 240)
    assert quiet.evidence < 30


def test_dense_crackle_lowers_the_evidence_a_click_needs():
    # crackle of peak 0.05, 40 per second: the click rate makes these faint clicks credible
    clean = tones(3.0, seed=6)
    positions, widths, peaks = crackle(3.0, 40, 0.05)
    mask = detect_clicks(add_clicks(clean, positions, widths, peaks)[None], RATE)[0]
    found = [mask[position:position + width].any() for position, width
             in zip(positions, widths, strict=True)]
    assert np.mean(found) >= 0.95
    # one such click alone is not enough evidence (see test_sensitivity_trades_faint_clicks)
    single = add_clicks(clean, positions[:1], widths[:1], peaks[:1])
    assert not detect_clicks(single[None], RATE)[0].any()


def test_note_onsets_are_left_alone():
    # notes that start abruptly (2 ms attack) and decay: prediction-error bursts, no clicks
    t = np.arange(2 * RATE) / RATE
    audio = 0.002 * np.random.default_rng(8).standard_normal(t.shape)
    for start, frequency in ((0.2, 330.0), (0.7, 523.0), (1.1, 262.0), (1.5, 784.0)):
        since = np.clip(t - start, 0.0, None)
        envelope = np.minimum(since / 0.002, 1.0) * np.exp(-since / 0.3) * (t >= start)
        audio += 0.3 * envelope * np.sin(2 * np.pi * frequency * since)
    repaired, mask = declick(audio[None], RATE)
    assert not mask.any()
    np.testing.assert_array_equal(repaired[0], audio.astype(np.float32))


# --- through the real command line ---------------------------------------------------------


run = restore_in_process


@pytest.fixture(scope="module")
def clicky(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("declick")
    left = add_clicks(tones(2.0, seed=0), POSITIONS, WIDTHS, PEAKS)
    right = add_clicks(tones(2.0, seed=1), POSITIONS[::2], WIDTHS[::2], PEAKS[::2], seed=2)
    sf.write(folder / "clicky.wav", np.stack([left, right], axis=1), RATE, subtype="PCM_24")
    return folder


def kept_mask(regions: list[dict], frames: int) -> np.ndarray:
    kept = np.ones(frames, dtype=bool)
    for item in regions:
        kept[int(round(item["start"] * RATE)):int(round(item["end"] * RATE))] = False
    return kept


@pytest.mark.parametrize("method", ["classical", "diffusion"])
def test_cli_repairs_clicks_and_keeps_every_other_sample(clicky, method):
    out = clicky / f"out_{method}.wav"
    labels = clicky / f"labels_{method}.txt"
    extra = ([] if method == "classical" else
             ["--model", str(tiny_model_file(clicky)), "--steps", "2", "--device", "cpu"])
    result = run("declick", str(clicky / "clicky.wav"), "-o", str(out), "--method", method,
                 "--mark-labels", str(labels), *extra)
    assert "clicky.wav -> " in result.output
    original, _ = sf.read(clicky / "clicky.wav", dtype="int32")
    restored, _ = sf.read(out, dtype="int32")
    assert sf.info(str(out)).subtype == "PCM_24" and restored.shape == original.shape
    sidecar = json.loads(Path(f"{out}.restore.json").read_text())
    regions = sidecar["generated_regions"]
    assert {item["task"] for item in regions} == {"declick"}
    assert {item["method"] for item in regions} == {method}
    kept = kept_mask(regions, len(original))
    np.testing.assert_array_equal(restored[kept], original[kept])
    assert not np.array_equal(restored[~kept], original[~kept])
    for position in POSITIONS:
        assert not kept[position]
    assert len(labels.read_text().splitlines()) == len(regions)


def test_cli_skip_existing_and_bad_input(clicky):
    out = clicky / "skip.wav"
    run("declick", str(clicky / "clicky.wav"), "-o", str(out), "--method", "classical")
    before = out.stat().st_mtime_ns
    result = run("declick", str(clicky / "clicky.wav"), "-o", str(out), "--skip-existing")
    assert "skipped (exists)" in result.stderr and out.stat().st_mtime_ns == before
    (clicky / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    result = run("declick", str(clicky / "broken.wav"), "-o", str(clicky / "b.wav"), check=False)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("restore: error: ")
    assert "Traceback" not in result.stderr and not (clicky / "b.wav").exists()


def test_cli_diffusion_needs_a_model_that_knows_the_task(clicky):
    """A model trained on the first three tasks only: one clear line, nothing written."""
    out = clicky / "never.wav"
    result = run("declick", str(clicky / "clicky.wav"), "-o", str(out), "--method",
                 "diffusion", "--model", str(tiny_model_file(clicky, num_tasks=3)), check=False)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1
    assert lines[0].startswith("restore: error: ")
    assert "tiny-3.safetensors: the model does not know task declick" in lines[0]
    assert not out.exists()


def test_api_matches_the_classical_detector():
    damaged = add_clicks(tones(1.0), POSITIONS[:4], WIDTHS[:4], PEAKS[:4])[None]
    repaired, regions = restore.declick(damaged, RATE, method="classical", return_regions=True)
    direct, mask = declick(damaged.astype(np.float32), RATE)
    np.testing.assert_array_equal(repaired, direct)
    runs = len(np.flatnonzero(np.diff(np.concatenate([[0], mask[0], [0]])) == 1))
    assert 0 < len(regions) <= runs  # changed samples only, pieces of one click joined
    changed = np.flatnonzero(repaired[0] != damaged[0].astype(np.float32))
    assert all(any(item["start"] * RATE - 1 <= index < item["end"] * RATE + 1 for item in regions)
               for index in changed)
    assert np.array_equal(damaged, add_clicks(tones(1.0), POSITIONS[:4], WIDTHS[:4],
                                              PEAKS[:4])[None])  # input untouched


@pytest.mark.slow
def test_blocks_repaired_in_processes_equal_those_repaired_here():
    from restore.tasks.repair import BLOCK_SECONDS, RepairPlan, repair_stream, repair_workers
    from restore.tasks.source import ArraySource

    rate = 16_000
    audio = tones(2.5 * BLOCK_SECONDS, rate=rate)  # three blocks
    positions = np.arange(3_000, audio.size - 3_000, 23_456)
    audio = add_clicks(audio, positions, np.full(positions.size, 6),
                       np.full(positions.size, 0.3))
    source = ArraySource(np.stack([audio, audio[::-1]]).astype(np.float32), rate)
    plan = RepairPlan("declick")
    assert repair_workers(3, RepairPlan("declick", "diffusion")) == 1
    assert repair_workers(2, plan) == 1 and repair_workers(3, plan) >= 1
    here = list(repair_stream(source, plan, workers=1))
    there = list(repair_stream(source, plan, workers=2))
    assert len(here) == len(there) == 3
    for (block, flags), (other, other_flags) in zip(here, there, strict=True):
        np.testing.assert_array_equal(block, other)
        np.testing.assert_array_equal(flags, other_flags)
    assert sum(flags.sum() for _, flags in here) > 0  # clicks were repaired
