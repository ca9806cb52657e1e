"""The on-disk corpus format shared by the corpus builder, render-bundle and ClipDataset.

A corpus is a folder holding ``manifest.json`` and shard files. A shard is mono 16-bit audio
at 48 kHz: a ``.flac`` file (compact) or a ``.npy`` int16 array (what
``render-bundle`` writes). Clips are runs of samples inside a shard::

    {"format": "restore-corpus", "version": 1, "sample_rate": 48000, "clip_seconds": 4.0,
     "shards": [{"file": "train-00000.flac", "split": "train", "frames": 1920000}],
     "clips": [{"shard": "train-00000.flac", "offset": 0, "frames": 192000, "split": "train",
                "source": "...", "track": "...", "licence": "...", "start_seconds": 12.0,
                "loudness_lufs": -23.4}],
     "skipped": [{"path": "...", "reason": "..."}]}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from restore.errors import RestoreError
from restore.io.atomic import write_text, write_with

FORMAT = "restore-corpus"
VERSION = 1
MANIFEST = "manifest.json"
SPLITS = ("train", "valid", "test")


def read_manifest(corpus_dir: str | Path) -> dict:
    """Load and check ``corpus_dir/manifest.json``; RestoreError when missing or foreign."""
    path = Path(corpus_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise RestoreError(path, "no corpus manifest here (build one with python -m data_prep "
                           "corpus)") from None
    except (OSError, ValueError) as error:
        raise RestoreError(path, f"unreadable corpus manifest: {error}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise RestoreError(path, f"not a {FORMAT} version {VERSION} manifest")
    return manifest


def read_json(path: str | Path, expected_format: str) -> dict:
    """Load a JSON description whose ``format`` must be ``expected_format``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise RestoreError(path, f"unreadable: {error}") from None
    if data.get("format") != expected_format:
        raise RestoreError(path, f"not a {expected_format} file")
    return data


def write_json_atomic(path: str | Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (:mod:`restore.io.atomic`)."""
    write_text(path, json.dumps(data, indent=1))


def load_shard(path: str | Path) -> np.ndarray:
    """Samples of one shard as int16 ``[frames]``."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            data = np.load(path, mmap_mode="r")
            return np.ascontiguousarray(data, dtype=np.int16).reshape(-1)
        data, _ = soundfile.read(str(path), dtype="int16", always_2d=True)
        return np.ascontiguousarray(data[:, 0])
    except (OSError, ValueError, RuntimeError) as error:
        raise RestoreError(path, f"unreadable shard: {error}") from None


def save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` to exactly ``path`` (given a name, np.save would append ".npy" to it)."""
    with open(path, "wb") as stream:
        np.save(stream, array)


def write_shard(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write int16 ``samples [frames]`` atomically as ``.flac`` or ``.npy`` (by suffix)."""
    samples = np.asarray(samples, dtype=np.int16)

    def write(temporary: Path) -> None:
        if Path(path).suffix == ".npy":
            save_npy(temporary, samples)
        else:
            soundfile.write(str(temporary), samples, sample_rate, subtype="PCM_16", format="FLAC")

    write_with(path, write)


def split_seconds(manifest: dict) -> dict[str, float]:
    """Audio duration in seconds per split, from the clips listed in ``manifest``."""
    rate = manifest["sample_rate"]
    totals = {split: 0.0 for split in SPLITS}
    for clip in manifest["clips"]:
        totals[clip["split"]] = totals.get(clip["split"], 0.0) + clip["frames"] / rate
    return totals
