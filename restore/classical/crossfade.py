"""Equal-power crossfade bridge: the classical transition between two clips."""

from __future__ import annotations

import numpy as np

from restore import dsp


def equal_power_bridge(a: np.ndarray, b: np.ndarray, bridge_samples: int) -> np.ndarray:
    """Bridge ``[channels, bridge_samples]`` between ``a [channels, Ta]`` and ``b [channels, Tb]``.

    ``a`` is continued past its end by mirroring its tail (``a[-2], a[-3], ...``) and ``b`` is
    continued before its start by mirroring its head, so both sides join their clip without a
    jump; the two continuations are crossfaded with equal-power (cos/sin) fades over the bridge.
    """
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"a and b must be [channels, frames] alike, got {a.shape} and {b.shape}")
    if bridge_samples < 1:
        return np.zeros((a.shape[0], 0), dtype=np.float32)
    if a.shape[1] < 2 or b.shape[1] < 2:
        raise ValueError("a and b need at least 2 samples each")
    tail = np.pad(a, ((0, 0), (0, bridge_samples)), mode="reflect")[:, a.shape[1] :]
    head = np.pad(b, ((0, 0), (bridge_samples, 0)), mode="reflect")[:, :bridge_samples]
    fade_out, fade_in = (fade.numpy() for fade in dsp.equal_power_fades(bridge_samples))
    return (fade_out * tail + fade_in * head).astype(np.float32)
