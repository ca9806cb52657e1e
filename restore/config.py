"""Frozen configuration dataclasses shared by the model, diffusion, training and tasks.

Everything here serialises to plain JSON (``to_dict`` / ``from_dict``); unknown keys fail loudly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

MODEL_RATE = 48_000  # Hz: the rate the network works at

# Task ids are part of the model's conditioning: never reorder, only append.
TASKS: tuple[str, ...] = ("inpaint", "bandwidth", "transition", "declip", "declick")
TASK_ID: dict[str, int] = {name: index for index, name in enumerate(TASKS)}

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys raise ``ValueError``."""
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}")
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            value = data[field.name]
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-JSON dict of a config dataclass (tuples become lists)."""
    return json_ready(dataclasses.asdict(obj))


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


# ---------------------------------------------------------------------------------------------
# Model, diffusion and training configs (owned by the model/training part).


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the conditional 1D U-Net (see docs/model.md for the reasoning)."""

    channels: tuple[int, ...] = (16, 48, 96, 192, 256)  # width of each level, full rate first
    strides: tuple[int, ...] = (4, 4, 4, 4)  # down-sampling between consecutive levels
    blocks: tuple[int, ...] = (1, 1, 2, 2, 2)  # residual blocks per level (encoder and decoder)
    kernel_size: int = 3  # odd kernel of the residual convolutions
    dilations: tuple[int, ...] = (1, 3)  # dilation cycle inside a level's blocks
    bottleneck_attention: int = 2  # self-attention layers at the lowest rate
    attention_heads: int = 4  # heads of each attention layer
    embed_dim: int = 128  # width of the noise/task/cutoff embedding that drives FiLM
    noise_fourier: int = 64  # Fourier features of c_noise
    cutoff_fourier: int = 16  # Fourier features of the normalised cutoff frequency
    num_tasks: int = len(TASKS)  # size of the task embedding table
    groups: int = 8  # GroupNorm groups (must divide every width)

    @property
    def length_multiple(self) -> int:
        """Input lengths are padded internally to a multiple of this (product of strides)."""
        multiple = 1
        for stride in self.strides:
            multiple *= stride
        return multiple

    def __post_init__(self) -> None:
        if len(self.strides) != len(self.channels) - 1 or len(self.blocks) != len(self.channels):
            raise ValueError(
                "ModelConfig: need len(strides) == len(channels) - 1 == len(blocks) - 1"
            )
        if any(width % self.groups for width in self.channels):
            raise ValueError("ModelConfig: every channel width must be a multiple of groups")
        if self.kernel_size % 2 == 0:
            raise ValueError("ModelConfig: kernel_size must be odd")
        if any(stride < 2 or stride % 2 for stride in self.strides):
            raise ValueError("ModelConfig: strides must be even numbers >= 2")

    @classmethod
    def tiny(cls) -> ModelConfig:
        """A few-thousand-parameter model for tests (fast on CPU, untrained quality).

        Its one attention layer sits at 1/64 of the sample rate: attention cost grows with the
        square of the sequence, so at 1/8 a 2 s window needed 12,000 tokens (GBs of memory).
        """
        return cls(
            channels=(8, 16, 16, 16),
            strides=(4, 4, 4),
            blocks=(1, 1, 1, 1),
            kernel_size=3,
            dilations=(1,),
            bottleneck_attention=1,
            attention_heads=2,
            embed_dim=32,
            noise_fourier=8,
            cutoff_fourier=4,
            groups=4,
        )


@dataclass(frozen=True)
class DiffusionConfig:
    """EDM (Karras et al. 2022) preconditioning, training noise and sampling defaults."""

    sigma_data: float = 0.5  # std of the (level-normalised) training audio
    sigma_min: float = 0.002  # lowest sampling noise level
    sigma_max: float = 20.0  # highest sampling noise level (conditional task: no need for 80)
    rho: float = 7.0  # Karras schedule curvature (EDM eq. 5)
    p_mean: float = -1.2  # log-normal training sigma: mean of ln(sigma)
    p_std: float = 1.2  # log-normal training sigma: std of ln(sigma)
    default_steps: int = 16  # sampler steps when the caller gives none
    default_sampler: str = "dpmpp_2m"  # one of restore.diffusion.sampling.SAMPLERS
    schedule: str = "karras"  # noise levels of n steps: "karras" or "nested" (distilled models)
    level_rms: float = 0.5  # known audio is scaled to this RMS before the network sees it
    level_floor: float = 1e-4  # RMS below which audio counts as silence (no amplification)

    def __post_init__(self) -> None:
        if self.schedule not in ("karras", "nested"):  # restore.diffusion.sampling.SCHEDULES
            raise ValueError(f"unknown schedule {self.schedule!r}; choose karras or nested")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and bookkeeping of one training run."""

    batch_size: int = 48  # clips per optimiser step (per process under DDP)
    clip_samples: int = 65_536  # samples per training clip at 48 kHz (~1.37 s)
    learning_rate: float = 4e-4  # peak AdamW learning rate
    weight_decay: float = 0.01  # AdamW decoupled weight decay
    betas: tuple[float, ...] = (0.9, 0.99)  # AdamW betas
    warmup_steps: int = 500  # linear warm-up steps
    total_steps: int = 100_000  # cosine decay horizon (training may stop earlier)
    min_lr_ratio: float = 0.05  # cosine floor as a fraction of the peak
    grad_clip: float = 1.0  # max global gradient norm
    ema_decay: float = 0.999  # EMA of weights per step
    bf16: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False  # torch.compile the network on CUDA
    seed: int = 0  # seeds weights, data order, pairs and noise
    source_balance: float = 0.0  # 0: every clip equally likely; 1: every source equally likely
    silence_share: float = 0.0  # items given digital silence (data_prep.pairs.SILENCE_TASKS)
    distill_steps: int = 0  # > 0: progressive distillation into this many steps (docs/model.md)
    teacher: str = ""  # the model file a distillation run learns from
    teacher_sampler: str = "euler"  # "euler", "heun" or "dpmpp_2m" (restore/training/distill.py)
    teacher_sigma_min: bool = False  # the teacher's last steps end at sigma_min, then denoise
    spectral_weight: float = 0.0  # log-magnitude STFT term added to the loss (docs/model.md)
    log_every: int = 50  # steps between log lines
    val_every: int = 1000  # steps between validation passes
    ckpt_every: int = 1000  # steps between checkpoints (also the data-stream segment length)
    val_clips: int = 16  # fixed validation pairs
    val_steps: int = 8  # sampler steps for the validation LSD
    task_weights: tuple[float, ...] = (1.0,) * len(TASKS)  # relative frequency of each task


@dataclass(frozen=True)
class RunConfig:
    """What a training config file holds: ``{"model": {...}, "diffusion": {...}, "train": {...}}``.

    Missing sections or keys take the defaults; unknown keys fail loudly.
    """

    model: ModelConfig = ModelConfig()
    diffusion: DiffusionConfig = DiffusionConfig()
    train: TrainConfig = TrainConfig()

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> RunConfig:
        unknown = sorted(set(data) - {"model", "diffusion", "train"})
        if unknown:
            raise ValueError(f"RunConfig: unknown sections {unknown}")
        return cls(
            model=from_dict(ModelConfig, data.get("model", {})),
            diffusion=from_dict(DiffusionConfig, data.get("diffusion", {})),
            train=from_dict(TrainConfig, data.get("train", {})),
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {"model": to_dict(self.model), "diffusion": to_dict(self.diffusion),
                "train": to_dict(self.train)}
