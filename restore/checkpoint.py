"""Model files: save / load / build, with format-version, key and shape checks.

Inference file: ``NAME.safetensors`` holding the EMA weights in fp16 and, in the safetensors
metadata, ``format`` ("restore-model"), ``format_version``, ``sample_rate``, ``step``,
``model_config`` / ``diffusion_config`` (JSON) and ``card`` (JSON). A human-readable copy of the
card is written next to it as ``NAME.json``. Training state (optimizer, EMA, RNG) lives in a
separate file, see :mod:`restore.training.state`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from restore.config import MODEL_RATE, TASKS, DiffusionConfig, ModelConfig, from_dict, to_dict
from restore.diffusion.denoiser import Denoiser
from restore.errors import ModelError
from restore.io.atomic import write_with
from restore.model import UNet1d

FORMAT_NAME = "restore-model"
FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "default.safetensors"  # inside the package folder restore/models/


@dataclass
class LoadedModel:
    """A ready-to-sample model: ``denoiser`` in eval mode plus what the file says about it."""

    denoiser: Denoiser
    config: ModelConfig
    diffusion: DiffusionConfig
    card: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    model_id: str = ""
    sample_rate: int = MODEL_RATE

    def to(self, device: str | torch.device) -> LoadedModel:
        """Move the denoiser to ``device`` (in place); returns ``self``."""
        self.denoiser.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.denoiser.parameters()).device

    @property
    def default_steps(self) -> int:
        return self.diffusion.default_steps

    @property
    def default_sampler(self) -> str:
        return self.diffusion.default_sampler

    @property
    def length_multiple(self) -> int:
        return self.config.length_multiple


def build_denoiser(config: ModelConfig, diffusion: DiffusionConfig) -> Denoiser:
    """A freshly initialised network wrapped in its EDM preconditioning."""
    return Denoiser(UNet1d(config), diffusion)


def random_model(
    config: ModelConfig | None = None, seed: int = 0, diffusion: DiffusionConfig | None = None
) -> LoadedModel:
    """An untrained model (tiny by default) for tests of the parts that use a model.

    Its output head starts at zero, so small random weights are put there too: the sampler
    then produces signal-dependent, non-trivial output.
    """
    config = config or ModelConfig.tiny()
    diffusion = diffusion or DiffusionConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        denoiser = build_denoiser(config, diffusion)
        with torch.no_grad():
            head = denoiser.network.head[-1]
            head.weight.normal_(0.0, 0.02)
    denoiser.eval()
    card = {"name": "random", "tasks": list(TASKS), "trained": False, "seed": seed}
    return LoadedModel(denoiser, config, diffusion, card, "", f"random-{seed}", MODEL_RATE)


def save_model(
    path: str | Path,
    denoiser: Denoiser,
    config: ModelConfig,
    *,
    step: int,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write ``denoiser``'s weights as fp16 safetensors plus its card (``.json`` beside it)."""
    path = Path(path)
    card = {
        "format_version": FORMAT_VERSION,
        "model_config": to_dict(config),
        "diffusion_config": to_dict(denoiser.config),
        "sample_rate": MODEL_RATE,
        "tasks": list(TASKS),
        "steps": step,
        "parameters": sum(p.numel() for p in denoiser.parameters()),
        **(card or {}),
    }
    tensors = {
        name: tensor.detach().to("cpu", torch.float16).contiguous()
        if tensor.is_floating_point() else tensor.detach().cpu().contiguous()
        for name, tensor in denoiser.network.state_dict().items()
    }
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "sample_rate": str(MODEL_RATE),
        "step": str(step),
        "model_config": json.dumps(to_dict(config)),
        "diffusion_config": json.dumps(to_dict(denoiser.config)),
        "card": json.dumps(card),
    }
    write_with(path, lambda temp: save_file(tensors, str(temp), metadata=metadata))
    card_text = json.dumps(card, indent=2) + "\n"
    write_with(path.with_suffix(".json"), lambda temp: temp.write_text(card_text))
    return path


def default_model_path() -> Path:
    """Where the shipped default model lives (inside the installed package)."""
    return Path(str(resources.files("restore") / "models" / DEFAULT_MODEL_NAME))


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model file (``None``: the default model shipped in ``restore/models/``).

    Raises :class:`ModelError` for a missing, corrupt, wrong-format or wrong-version file and
    for weights whose names or shapes do not match the stored config.
    """
    if path is None:
        path = default_model_path()
        if not path.is_file():
            raise ModelError(None, "no default model is installed (restore/models/"
                             f"{DEFAULT_MODEL_NAME} is missing): pass --model PATH or train one "
                             "with `restore train`")
    path = Path(path)
    if not path.is_file():
        raise ModelError(path, "model file not found")
    metadata, tensors = _read_safetensors(path)
    config, diffusion, card = _parse_metadata(path, metadata)
    denoiser = build_denoiser(config, diffusion)
    _load_weights(path, denoiser, tensors)
    denoiser.to(device).eval()
    digest = _sha256(path)
    model_id = f"{card.get('name', path.stem)}-{digest[:12]}"
    return LoadedModel(denoiser, config, diffusion, card, digest, model_id, MODEL_RATE)


def _read_safetensors(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as stream:
            metadata = stream.metadata() or {}
            tensors = {name: stream.get_tensor(name) for name in stream.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelError(path, f"not a readable model file (corrupt or not safetensors): "
                         f"{error}") from None
    return metadata, tensors


def _parse_metadata(path: Path, metadata: dict[str, str]):
    if metadata.get("format") != FORMAT_NAME:
        raise ModelError(path, f"not a restore model file (format {metadata.get('format')!r})")
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        raise ModelError(path, f"unsupported model format version {version!r} "
                         f"(this restore reads version {FORMAT_VERSION})")
    if metadata.get("sample_rate") != str(MODEL_RATE):
        raise ModelError(path, f"model sample rate {metadata.get('sample_rate')} is not "
                         f"{MODEL_RATE} Hz")
    try:
        config = from_dict(ModelConfig, json.loads(metadata["model_config"]))
        diffusion = from_dict(DiffusionConfig, json.loads(metadata["diffusion_config"]))
        card = json.loads(metadata.get("card", "{}"))
    except (KeyError, ValueError, TypeError) as error:
        raise ModelError(path, f"bad model config in file: {error}") from None
    return config, diffusion, card


def _load_weights(path: Path, denoiser: Denoiser, tensors: dict[str, torch.Tensor]) -> None:
    expected = denoiser.network.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelError(path, f"weights do not match the config: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise ModelError(path, f"weight {name} has shape {tuple(tensor.shape)}, config "
                             f"needs {tuple(expected[name].shape)}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelError(path, f"weight {name} holds non-finite values")
    denoiser.network.load_state_dict(
        {name: tensor.to(expected[name].dtype) for name, tensor in tensors.items()}
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
