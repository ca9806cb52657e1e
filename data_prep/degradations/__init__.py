"""Seeded, vectorized torch degradations: each returns ``(degraded, mask)``.

Audio is ``[batch, channels, time]``; masks are ``[batch, 1, time]`` with 1 = reliable sample.
Every random draw comes from the caller's ``torch.Generator``; the same seed gives the same
output on a given device. All but :mod:`.codec` (libsndfile, CPU) run on CPU or CUDA tensors.
"""

from data_prep.degradations.artifacts import clicks, clipping, crackle, hiss, hum, wow_flutter
from data_prep.degradations.band import (
    PROTOTYPES,
    RESAMPLE_RATES,
    codec_like,
    lowpass_filters,
    resample_down_up,
)
from data_prep.degradations.codec import codec_band_limit
from data_prep.degradations.gaps import (
    GAP_FILLS,
    gaps,
    intervals_mask,
    join_for_transition,
    transition,
)

__all__ = [
    "GAP_FILLS",
    "PROTOTYPES",
    "RESAMPLE_RATES",
    "clicks",
    "clipping",
    "codec_band_limit",
    "codec_like",
    "crackle",
    "gaps",
    "hiss",
    "hum",
    "intervals_mask",
    "join_for_transition",
    "lowpass_filters",
    "resample_down_up",
    "transition",
    "wow_flutter",
]
