"""The U-Net: shapes for any length, conditioning reaches the output, the size budget."""

from __future__ import annotations

import pytest
import torch

from restore.config import ModelConfig
from restore.model import UNet1d


def _inputs(batch: int, length: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(length)
    return {
        "x": torch.randn(batch, 1, length, generator=generator),
        "c_noise": torch.zeros(batch),
        "degraded": torch.randn(batch, 1, length, generator=generator),
        "mask": torch.ones(batch, 1, length),
        "task_id": torch.zeros(batch, dtype=torch.long),
        "cutoff_hz": torch.full((batch,), 4000.0),
    }


@pytest.fixture(scope="module")
def tiny_net() -> UNet1d:
    torch.manual_seed(0)
    net = UNet1d(ModelConfig.tiny()).eval()
    with torch.no_grad():  # zero-initialised layers would hide wiring bugs behind zeros
        for parameter in net.parameters():
            if parameter.dim() > 1 and not parameter.any():
                parameter.normal_(0, 0.1)
    return net


@pytest.mark.parametrize("length", [1, 2, 7, 8, 9, 255, 1001, 48_000])
def test_forward_keeps_any_length(tiny_net: UNet1d, length: int) -> None:
    with torch.no_grad():
        out = tiny_net(**_inputs(2, length))
    assert out.shape == (2, 1, length)
    assert torch.isfinite(out).all()


def test_default_model_shapes_for_odd_length() -> None:
    net = UNet1d(ModelConfig()).eval()
    with torch.no_grad():
        out = net(**_inputs(1, 1001))
    assert out.shape == (1, 1, 1001)


def test_default_config_fits_the_fp16_file_budget() -> None:
    parameters = sum(p.numel() for p in UNet1d(ModelConfig()).parameters())
    assert 2 * parameters <= 16 * 2**20 - 64 * 1024  # fp16 bytes + room for the header
    assert parameters > 2_000_000  # and is not a toy


def test_every_conditioning_input_changes_the_output(tiny_net: UNet1d) -> None:
    base = _inputs(1, 512)
    with torch.no_grad():
        reference = tiny_net(**base)
        for name, value in [
            ("c_noise", torch.ones(1)),
            ("task_id", torch.ones(1, dtype=torch.long)),
            ("cutoff_hz", torch.full((1,), 12_000.0)),
            ("mask", torch.zeros(1, 1, 512)),
            ("degraded", torch.zeros(1, 1, 512)),
        ]:
            changed = tiny_net(**{**base, name: value})
            assert not torch.allclose(changed, reference), name


def test_items_in_a_batch_are_independent(tiny_net: UNet1d) -> None:
    both = _inputs(2, 300)
    with torch.no_grad():
        batched = tiny_net(**both)
        single = tiny_net(**{name: value[:1] for name, value in both.items()})
    torch.testing.assert_close(batched[:1], single, rtol=1e-4, atol=1e-5)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        ModelConfig(channels=(8, 16), strides=(3,), blocks=(1, 1), groups=4)
