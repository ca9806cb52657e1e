"""make_batch: the contract with training (shapes, masks, task ids, cutoffs, seeding)."""

from __future__ import annotations

import pytest
import torch

from data_prep.pairs import make_batch
from restore.config import TASK_ID

RATE = 48_000


def clean_batch(batch: int = 12, samples: int = RATE) -> torch.Tensor:
    return 0.3 * torch.randn(batch, 1, samples, generator=torch.Generator().manual_seed(0))


def test_batch_contract():
    clean = clean_batch(batch=24)
    pairs = make_batch(clean, torch.Generator().manual_seed(1))
    assert pairs.degraded.shape == clean.shape and pairs.mask.shape == clean.shape
    assert pairs.task_id.dtype == torch.long and pairs.task_id.shape == (24,)
    assert pairs.cutoff_hz.shape == (24,) and pairs.cutoff_hz.dtype == torch.float32
    assert set(pairs.task_id.tolist()) == set(TASK_ID.values())
    for item in range(24):
        task = pairs.task_id[item].item()
        mask, degraded, reference = pairs.mask[item], pairs.degraded[item], clean[item]
        if task == TASK_ID["bandwidth"]:
            assert torch.all(mask == 1)
            assert 2000 <= pairs.cutoff_hz[item] <= 20000
            continue
        assert pairs.cutoff_hz[item] == RATE / 2
        assert (mask == 0).any() or task == TASK_ID["declick"]  # a sparse item may miss clicks
        if task == TASK_ID["declip"]:  # clipped samples keep the sign, at most the true size
            clipped = degraded[mask == 0]
            assert torch.all(torch.sign(clipped) == torch.sign(reference[mask == 0]))
            assert torch.all(clipped.abs() <= reference[mask == 0].abs())
            assert torch.equal(degraded[mask == 1], reference[mask == 1])
        elif task == TASK_ID["declick"]:  # reliable samples are the damaged audio's: clicks sit
            assert torch.all(degraded[mask == 0] == 0)  # under the mask, nearly everything else
            assert (degraded[mask == 1] == reference[mask == 1]).float().mean() > 0.99
        else:
            assert torch.all(degraded[mask == 0] == 0)
            assert torch.equal(degraded[mask == 1], reference[mask == 1])


def test_same_seed_same_batch_and_clean_untouched():
    clean = clean_batch()
    first = make_batch(clean, torch.Generator().manual_seed(5))
    second = make_batch(clean, torch.Generator().manual_seed(5))
    for name in ("degraded", "mask", "task_id", "cutoff_hz"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert torch.equal(clean, clean_batch())


@pytest.mark.parametrize("task", list(TASK_ID))
def test_single_task_and_short_clips(task):
    clean = clean_batch(batch=4, samples=4096)
    pairs = make_batch(clean, torch.Generator().manual_seed(2), tasks=[task])
    assert torch.all(pairs.task_id == TASK_ID[task])
    assert pairs.degraded.shape == clean.shape


def test_task_weights_and_unknown_task():
    pairs = make_batch(clean_batch(), torch.Generator().manual_seed(3),
                       task_weights=[0.0, 1.0, 0.0, 0.0, 0.0])
    assert torch.all(pairs.task_id == TASK_ID["bandwidth"])
    with pytest.raises(ValueError):
        make_batch(clean_batch(), torch.Generator(), tasks=["denoise"])


def test_codec_like_band_limit_leaves_nothing_above_the_cutoff():
    from data_prep.degradations import codec_like

    clean = clean_batch(batch=3)
    record: dict = {}
    coded, mask = codec_like(clean, torch.Generator().manual_seed(4), record=record)
    assert torch.all(mask == 1) and coded.shape == clean.shape
    spectrum = torch.fft.rfft(coded[:, 0, 4096:-4096]).abs().square()
    frequencies = torch.fft.rfftfreq(coded.shape[-1] - 8192, 1 / RATE)
    for item, cutoff in enumerate(record["cutoff_hz"].tolist()):
        above = spectrum[item, frequencies > cutoff * 1.1].sum()
        assert above < 1e-4 * spectrum[item].sum()


def test_gate_silence_makes_exact_zeros_in_a_share_of_items():
    from data_prep.pairs import gate_silence

    clean = clean_batch(batch=200, samples=4800)
    gated = gate_silence(clean, torch.Generator().manual_seed(0), share=0.25, sample_rate=RATE)
    changed = (gated != clean).any(dim=2).flatten()
    assert 0.15 < changed.float().mean() < 0.35
    assert torch.all(gated[changed].eq(0).sum(dim=2) >= 0.05 * RATE * 0.99)
    assert torch.equal(gated[~changed], clean[~changed])


def test_gated_silence_only_where_the_input_shows_it():
    """Gaps and bridges never get a silence the model could not see coming (it would learn to
    fill too quietly); the items of SILENCE_TASKS do, in their targets and their inputs alike."""
    from data_prep.pairs import SILENCE_TASKS

    clean = clean_batch(batch=120, samples=RATE // 2)
    pairs = make_batch(clean, torch.Generator().manual_seed(4), silence_share=0.5)
    gated = (pairs.clean.eq(0).sum(dim=2) >= 0.05 * RATE * 0.99).flatten()
    shows = torch.isin(pairs.task_id, torch.tensor([TASK_ID[task] for task in SILENCE_TASKS]))
    assert not gated[~shows].any()
    assert torch.equal(pairs.clean[~shows], clean[~shows])
    assert 0.35 < gated[shows].float().mean() < 0.65
    bandwidth = (pairs.task_id == TASK_ID["bandwidth"]) & gated
    assert bandwidth.any()  # the low-passed input is (near) silent where the target is
    for item in bandwidth.nonzero().flatten().tolist():
        silent = pairs.clean[item, 0] == 0
        inside, outside = pairs.degraded[item, 0, silent], pairs.degraded[item, 0, ~silent]
        assert inside.square().mean() < 0.01 * outside.square().mean()  # filter tails only
    assert make_batch(clean, torch.Generator().manual_seed(4)).clean is clean
