"""Model files: round trip, card, version/shape/corruption errors, the default model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from restore.checkpoint import (
    FORMAT_VERSION,
    default_model_path,
    load_model,
    random_model,
    save_model,
)
from restore.config import ModelConfig
from restore.diffusion import generate
from restore.errors import ModelError


def _sample(model, seed: int = 0) -> torch.Tensor:
    degraded = torch.randn(1, 1, 500, generator=torch.Generator().manual_seed(1)) * 0.1
    mask = torch.ones_like(degraded)
    mask[..., 200:300] = 0
    return generate(model.denoiser, degraded * mask, mask, torch.tensor([0]),
                    torch.tensor([24_000.0]), steps=3,
                    generator=torch.Generator().manual_seed(seed))


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = random_model(seed=3)
    with torch.no_grad():  # fp16 storage: make the in-memory weights fp16-exact first
        for parameter in model.denoiser.parameters():
            parameter.copy_(parameter.half().float())
    path = save_model(tmp_path / "m.safetensors", model.denoiser, model.config, step=12,
                      card={"name": "unit", "validation": {"lsd": 1.0}})
    loaded = load_model(path)
    assert loaded.config == model.config and loaded.diffusion == model.diffusion
    assert loaded.card["steps"] == 12 and loaded.card["format_version"] == FORMAT_VERSION
    assert loaded.model_id.startswith("unit-") and len(loaded.sha256) == 64
    assert json.loads(path.with_suffix(".json").read_text())["validation"] == {"lsd": 1.0}
    assert torch.equal(_sample(model), _sample(loaded))


def test_weights_are_stored_as_fp16(tmp_path: Path) -> None:
    from safetensors import safe_open

    model = random_model()
    path = save_model(tmp_path / "m.safetensors", model.denoiser, model.config, step=0)
    with safe_open(str(path), framework="pt") as stream:
        dtypes = {stream.get_tensor(name).dtype for name in stream.keys()}  # noqa: SIM118
    assert dtypes == {torch.float16}


def test_corrupt_and_foreign_files_give_model_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a model at all" * 10)
    with pytest.raises(ModelError, match="corrupt"):
        load_model(garbage)
    model = random_model()
    good = save_model(tmp_path / "good.safetensors", model.denoiser, model.config, step=0)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(ModelError):
        load_model(truncated)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, str(foreign))
    with pytest.raises(ModelError, match="not a restore model"):
        load_model(foreign)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.safetensors")


def _rewrite(source: Path, target: Path, edit_metadata=None, edit_tensors=None) -> Path:
    from safetensors import safe_open

    with safe_open(str(source), framework="pt") as stream:
        metadata = dict(stream.metadata())
        tensors = {name: stream.get_tensor(name) for name in stream.keys()}  # noqa: SIM118
    if edit_metadata:
        edit_metadata(metadata)
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, str(target), metadata=metadata)
    return target


def test_wrong_version_keys_and_shapes_fail_loudly(tmp_path: Path) -> None:
    model = random_model()
    good = save_model(tmp_path / "good.safetensors", model.denoiser, model.config, step=0)
    newer = _rewrite(good, tmp_path / "v99.safetensors",
                     edit_metadata=lambda m: m.update(format_version="99"))
    with pytest.raises(ModelError, match="version '99'"):
        load_model(newer)
    name = "stem.weight"
    missing = _rewrite(good, tmp_path / "missing.safetensors",
                       edit_tensors=lambda t: t.pop(name))
    with pytest.raises(ModelError, match="missing"):
        load_model(missing)
    reshaped = _rewrite(good, tmp_path / "shape.safetensors",
                        edit_tensors=lambda t: t.update({name: torch.zeros(1, 2, 3).half()}))
    with pytest.raises(ModelError, match="shape"):
        load_model(reshaped)
    other = ModelConfig.tiny().__class__(**{**ModelConfig.tiny().__dict__, "embed_dim": 16})
    mismatch = _rewrite(good, tmp_path / "config.safetensors", edit_metadata=lambda m: m.update(
        model_config=json.dumps({**json.loads(m["model_config"]), "embed_dim": other.embed_dim})))
    with pytest.raises(ModelError, match="shape"):
        load_model(mismatch)


def test_missing_default_model_is_a_clear_error() -> None:
    if default_model_path().is_file():
        assert load_model(None).sample_rate == 48_000
    else:
        with pytest.raises(ModelError, match="no default model is installed"):
            load_model(None)
