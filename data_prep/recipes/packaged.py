"""Recordings shipped in Debian packages: game soundtracks, tracker modules, sonic-pi samples."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

from data_prep.processing import to_model_rate
from data_prep.sources import (
    Track,
    package_files,
    package_licence,
    package_tracks,
    read_audio_bytes,
)

MUSIC_PACKAGES = ("warzone2100-music", "ufoai-music", "nexuiz-music", "hyperrogue-music",
                  "singularity-music")
MODULE_PACKAGES = ("fb-music-high",)
MODULE_SUFFIXES = (".xm", ".mod", ".it", ".s3m")
SONIC_PI = "sonic-pi-samples"


def music_package_tracks(seed: int = 0, limit: int | None = None) -> list[Track]:
    """Every audio file (and audio in .pk3 archives) of the packaged game soundtracks."""
    return [track for package in MUSIC_PACKAGES for track in package_tracks(package)]


def _render_module(path: Path) -> tuple[np.ndarray, int]:
    """Render a tracker module to mono 48 kHz with openmpt123 (one pass, no loop)."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "render.wav"
        subprocess.run(["openmpt123", "--quiet", "--batch", "--samplerate", "48000",
                        "--channels", "1", "--output", str(output), "--force", str(path)],
                       check=True, capture_output=True, timeout=600)
        return read_audio_bytes(output)


def module_tracks(seed: int = 0, limit: int | None = None) -> list[Track]:
    """Tracker modules of fb-music-high rendered by openmpt123 (empty if it is absent)."""
    if shutil.which("openmpt123") is None:
        return []
    tracks = []
    for package in MODULE_PACKAGES:
        for path in package_files(package):
            if path.suffix.lower() in MODULE_SUFFIXES and path.is_file():
                tracks.append(Track(f"{package}/{path.name}", package,
                                    package_licence(package, path),
                                    functools.partial(_render_module, path)))
    return tracks


def _sample_group(paths: tuple[Path, ...], seed: int) -> tuple[np.ndarray, int]:
    """Concatenate one-shot samples with random pauses (0.05 to 0.6 s) at 48 kHz."""
    rng = np.random.default_rng(seed)
    pieces = []
    for path in paths:
        samples, rate = read_audio_bytes(path)
        pieces.append(to_model_rate(samples, rate))
        pieces.append(np.zeros(int(rng.uniform(0.05, 0.6) * 48_000), np.float32))
    return np.concatenate(pieces), 48_000


def sonic_pi_tracks(seed: int = 0, limit: int | None = None) -> list[Track]:
    """sonic-pi-samples grouped by family (``ambi_``, ``bd_``, ``tabla_``, ...): each family's
    samples played one after another form one track, so one-shots shorter than a clip count."""
    groups: dict[str, list[Path]] = {}
    for path in package_files(SONIC_PI):
        if path.suffix.lower() in (".flac", ".wav") and "/samples/" in path.as_posix():
            groups.setdefault(re.split(r"[_-]", path.stem)[0], []).append(path)
    tracks = []
    for family, paths in sorted(groups.items()):
        licence = package_licence(SONIC_PI, paths[0])
        group_seed = zlib.crc32(f"{seed}:{family}".encode())
        loader = functools.partial(_sample_group, tuple(sorted(paths)), group_seed)
        tracks.append(Track(f"{SONIC_PI}/{family}", SONIC_PI, licence, loader))
    return tracks
