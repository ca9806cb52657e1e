"""A tiny synthetic corpus in data_prep's format, for the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data_prep import shards
from evaluation.synthetic import synthetic_music

RATE = 48000


def write_corpus(folder: Path, clips_per_split: int = 2, clip_seconds: float = 4.0) -> Path:
    """``folder/manifest.json`` + one ``.npy`` shard per split; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"format": shards.FORMAT, "version": shards.VERSION, "sample_rate": RATE,
                "clip_seconds": clip_seconds, "shards": [], "clips": [], "skipped": []}
    frames = int(clip_seconds * RATE)
    for split_index, split in enumerate(("train", "test")):
        name = f"{split}-00000.npy"
        audio = np.concatenate([synthetic_music(clip_seconds, 100 * split_index + index)
                                for index in range(clips_per_split)])
        shards.write_shard(folder / name, np.round(audio * 32767).astype(np.int16), RATE)
        manifest["shards"].append({"file": name, "split": split, "frames": len(audio)})
        manifest["clips"] += [
            {"shard": name, "offset": index * frames, "frames": frames, "split": split,
             "source": "synthetic", "track": f"{split}{index}", "licence": "CC0"}
            for index in range(clips_per_split)
        ]
    shards.write_json_atomic(folder / shards.MANIFEST, manifest)
    return folder
