"""Classical restoration methods (``--method classical`` and the evaluation baselines).

Everything works on ``np.ndarray [channels, frames]`` float32 on the CPU.
"""

from restore.classical.ar import ar_inpaint
from restore.classical.crossfade import equal_power_bridge
from restore.classical.neighbour import neighbour_bridge, neighbour_crossfade
from restore.classical.resample import sinc_upsample
from restore.classical.similarity import similarity_bridge, similarity_copy
from restore.classical.simple import gap_runs, linear_interpolate, zero_fill

__all__ = [
    "ar_inpaint",
    "equal_power_bridge",
    "gap_runs",
    "linear_interpolate",
    "neighbour_bridge",
    "neighbour_crossfade",
    "similarity_bridge",
    "similarity_copy",
    "sinc_upsample",
    "zero_fill",
]
