"""Inference precision (bf16 autocast around the network only), compile option, batch sizes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import restore
import restore.diffusion.precision as precision_module
from restore.checkpoint import random_model
from restore.cli import cli
from restore.config import TASK_ID, ModelConfig
from restore.diffusion import generate
from restore.diffusion.precision import (
    AutocastNetwork,
    compile_supported,
    inference_denoiser,
    native_bf16,
    resolve_precision,
)
from restore.tasks.sampler import (
    CPU_BATCH_SIZE,
    CUDA_BATCH_SIZE,
    SamplingOptions,
    default_batch_size,
    resolve_batch_size,
)


def conditioning(batch: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    degraded = torch.randn(batch, 1, length, generator=generator) * 0.3
    mask = torch.ones(batch, 1, length)
    mask[..., length // 3:length // 2] = 0.0
    return {"degraded": degraded * mask, "mask": mask,
            "task_id": torch.full((batch,), TASK_ID["inpaint"]),
            "cutoff_hz": torch.full((batch,), 24_000.0)}


def test_precision_resolves_per_device_and_rejects_unknown_names():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    native = torch.bfloat16 if native_bf16(cpu) else None  # AVX512-BF16 / AMX CPUs: bf16
    assert resolve_precision("auto", cpu) is native and resolve_precision("fp32", cuda) is None
    assert resolve_precision("auto", cuda) is torch.bfloat16
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision must be one of"):
        SamplingOptions(random_model(), steps=1, seed=0, device="cpu", precision="half")
    with pytest.raises(ValueError, match="precision must be one of"):
        restore.upsample(np.zeros((1, 800), np.float32), 8000, precision="fp16", device="cpu")


def test_cpu_defaults_leave_the_denoiser_untouched(monkeypatch):
    """fp32 on a CPU changes nothing, nor does compile where no C++ compiler is installed."""
    denoiser = random_model().denoiser
    assert inference_denoiser(denoiser, "fp32") is denoiser
    monkeypatch.setattr(precision_module.shutil, "which", lambda name: None)
    assert not compile_supported(torch.device("cpu"))
    assert inference_denoiser(denoiser, "fp32", compile=True) is denoiser


@pytest.mark.skipif(not compile_supported(torch.device("cpu")), reason="no C++ compiler")
def test_compiled_network_on_a_cpu_gives_the_plain_result():
    model = random_model()
    compiled = inference_denoiser(model.denoiser, "fp32", compile=True)
    assert compiled is not model.denoiser
    assert inference_denoiser(model.denoiser, "fp32", compile=True).network is compiled.network
    inputs, x = conditioning(2, 4096), torch.randn(2, 1, 4096)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x, torch.tensor([0.5, 2.0]), **inputs),
                                   model.denoiser(x, torch.tensor([0.5, 2.0]), **inputs),
                                   rtol=1e-4, atol=1e-5)


# oneDNN in torch 2.14 on AVX512-BF16/AMX CPUs computes a bf16 strided Conv1d with 8 or 12
# input channels and kernel 8 wrongly (relative error about 1; 16 and more channels are right):
# the tiny config's first level (8 channels) hits it, the shipped model's levels (16 and more)
# do not (docs/performance.md, "bf16"). This test is about the autocast wrapper, so its tiny
# network starts at 16 channels.
BF16_SAFE_TINY = dataclasses.replace(ModelConfig.tiny(), channels=(16, 16, 16, 16))


def test_bf16_network_runs_in_bf16_and_returns_float32():
    model = random_model(BF16_SAFE_TINY)
    network = AutocastNetwork(model.denoiser.network, "cpu", torch.bfloat16)
    inputs = conditioning(2, 1000)
    x, c_noise = torch.randn(2, 1, 1000), torch.zeros(2)
    seen, stem = [], []
    hooks = [model.denoiser.network.head[-1].register_forward_hook(
                 lambda _module, _args, out: seen.append(out.dtype)),
             model.denoiser.network.stem.register_forward_hook(
                 lambda _module, _args, out: stem.append(out.dtype))]
    with torch.no_grad():
        low = network(x, c_noise, **inputs)
        full = model.denoiser.network(x, c_noise, **inputs)
    for hook in hooks:
        hook.remove()
    assert seen == [torch.bfloat16, torch.float32]  # convolutions ran in bf16, then in fp32
    assert stem == [torch.float32, torch.float32]  # the stem reads the waveforms in fp32
    assert low.dtype == torch.float32
    error = (low - full).norm() / full.norm()
    assert 0 < error < 0.05


def test_bf16_generate_matches_fp32_and_keeps_known_samples_exact():
    """Only the network runs in bf16: the projection still restores known samples bit-exact,
    and the filled samples stay close to the fp32 result."""
    model = random_model()
    inputs = conditioning(2, 1500)
    results = {}
    for precision in ("fp32", "bf16"):
        results[precision] = generate(
            model.denoiser, inputs["degraded"], inputs["mask"], inputs["task_id"],
            inputs["cutoff_hz"], steps=3, sampler="dpmpp_2m",
            generator=torch.Generator().manual_seed(1), precision=precision)
    known = inputs["mask"] > 0
    bf16, fp32 = results["bf16"], results["fp32"]
    assert bf16.dtype == torch.float32
    assert torch.equal(bf16[known], inputs["degraded"][known])
    gap = ~known
    assert (bf16[gap] - fp32[gap]).norm() / fp32[gap].norm() < 0.05


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_batch_denoises_like_its_items_one_by_one(precision: str):
    model = random_model()
    denoiser = inference_denoiser(model.denoiser, precision)
    inputs = conditioning(3, 1200, seed=2)
    x, sigma = torch.randn(3, 1, 1200, generator=torch.Generator().manual_seed(3)), 0.7
    with torch.no_grad():
        batched = denoiser(x, sigma, **inputs)
        single = torch.cat([denoiser(x[i:i + 1], sigma, **{key: value[i:i + 1] for key, value
                                                              in inputs.items()})
                            for i in range(3)])
    tolerance = 1e-5 if precision == "fp32" else 2e-2
    torch.testing.assert_close(batched, single, atol=tolerance, rtol=tolerance)


def test_batch_size_defaults_by_device_and_checks_values():
    assert default_batch_size("cpu") == resolve_batch_size(None, "cpu") == CPU_BATCH_SIZE
    assert default_batch_size(None) == CPU_BATCH_SIZE  # no model: the classical method
    assert default_batch_size(torch.device("cuda:0")) == CUDA_BATCH_SIZE
    assert resolve_batch_size(7, "cuda") == 7
    with pytest.raises(ValueError, match="batch_size"):
        resolve_batch_size(0, "cpu")


def test_api_upsample_in_bf16_keeps_shape_and_stays_near_fp32():
    model = random_model()
    t = np.arange(8000) / 8000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    kwargs = {"cutoff_hz": 3000.0, "model": model, "steps": 1, "device": "cpu"}
    fp32 = restore.upsample(audio, 8000, **kwargs, precision="fp32", batch_size=2)
    bf16 = restore.upsample(audio, 8000, **kwargs, precision="bf16", batch_size=2)
    assert bf16.shape == fp32.shape == (1, 48_000)
    assert np.sqrt(np.mean((bf16 - fp32) ** 2)) < 0.02 * np.sqrt(np.mean(fp32**2))


def test_cli_refuses_an_unknown_precision():
    result = CliRunner().invoke(cli, ["upsample", "in.wav", "--precision", "fp16"])
    assert result.exit_code == 2 and "fp16" in result.output
