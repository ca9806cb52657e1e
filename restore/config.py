"""Frozen configuration dataclasses shared by the model, diffusion, training and tasks.

Everything here serialises to plain JSON (``to_dict`` / ``from_dict``); unknown keys fail loudly.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

MODEL_RATE = 48_000  # Hz: the rate the network works at

# Task ids are part of the model's conditioning: never reorder, only append.
TASKS: tuple[str, ...] = ("inpaint", "bandwidth", "transition")
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
