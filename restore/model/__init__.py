"""The network only: ``UNet1d(config)(x, c_noise, degraded, mask, task_id, cutoff_hz)``."""

from restore.model.unet import UNet1d

__all__ = ["UNet1d"]
