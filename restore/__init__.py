"""restore: repair and upgrade audio with a conditional diffusion model.

``restore.inpaint``, ``restore.upsample``, ``restore.transition``, ``restore.declick`` and
``restore.declip`` (see :mod:`restore.api`) are imported on first use, so ``import restore``
stays cheap (no torch until needed).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("restore")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

_API = ("inpaint", "upsample", "transition", "declick", "declip")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from restore import api

        return getattr(api, name)
    raise AttributeError(f"module 'restore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
