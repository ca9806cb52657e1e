"""Materialized pairs on disk (clean, degraded, mask, task, params): for listening, for
inspection and as fixed evaluation sets. Built with the very functions training uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
import torch

from data_prep import shards
from data_prep.degradations.codec import codec_band_limit
from data_prep.pairs import make_batch
from restore.config import TASKS

PAIRS = "pairs.json"
PAIRS_FORMAT = "restore-pairs"


def _item_params(params: dict[str, dict[str, torch.Tensor]], item: int) -> dict:
    """Plain-JSON parameters drawn for batch item ``item``."""
    for task, record in params.items():
        where = (record["index"] == item).nonzero().flatten()
        if where.numel():
            row = int(where[0])
            values = {k: v[row].tolist() for k, v in record.items() if k != "index"}
            return {"task": task, **{k: v for k, v in values.items() if v == v}}  # no NaN
    return {}


def _codec_swap(clean, pairs, generator, share: float, out_params: list) -> None:
    """Replace a ``share`` of the bandwidth pairs with MP3 / Vorbis decodes (CPU)."""
    for item in (pairs.task_id == TASKS.index("bandwidth")).nonzero().flatten().tolist():
        if torch.rand((), generator=generator) < share:
            record: dict = {}
            degraded, _ = codec_band_limit(clean[item:item + 1], generator, record=record)
            pairs.degraded[item] = degraded[0]
            pairs.cutoff_hz[item] = record["cutoff_hz"][0]
            out_params[item] = {"task": "bandwidth", "kind": "codec",
                                **{k: v[0].tolist() for k, v in record.items()}}


def materialize_pairs(
    corpus_dir: str | Path,
    out_dir: str | Path,
    *,
    per_clip: int,
    seed: int,
    split: str = "test",
    max_clips: int | None = None,
    codec_share: float = 0.25,
    callback: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Write ``per_clip`` pairs for each clip of ``split`` (at most ``max_clips``, drawn with
    ``seed``): ``clean/<clip>.wav``, ``degraded/<clip>-<k>.wav`` (float32 WAV),
    ``mask/<clip>-<k>.npy`` (uint8) and ``pairs.json``. Same seed -> same files."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    manifest = shards.read_manifest(corpus_dir)
    clips = [c for c in manifest["clips"] if c["split"] == split]
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(clips), generator=generator).tolist()[:max_clips]
    for folder in ("clean", "degraded", "mask"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    entries, cache = [], {}
    for number, index in enumerate(order):
        clip = clips[index]
        if clip["shard"] not in cache:
            cache = {clip["shard"]: shards.load_shard(corpus_dir / clip["shard"])}
        audio = cache[clip["shard"]][clip["offset"]:clip["offset"] + clip["frames"]]
        clean = torch.from_numpy(audio.astype(np.float32) / 32768.0).view(1, 1, -1)
        batch = clean.expand(per_clip, 1, -1).contiguous()
        pairs = make_batch(batch, generator, sample_rate=manifest["sample_rate"])
        params = [_item_params(pairs.params, item) for item in range(per_clip)]
        _codec_swap(batch, pairs, generator, codec_share, params)
        name = f"{number:05d}"
        soundfile.write(out_dir / "clean" / f"{name}.wav", clean[0, 0].numpy(),
                        manifest["sample_rate"], subtype="FLOAT")
        for item in range(per_clip):
            pair = f"{name}-{item}"
            soundfile.write(out_dir / "degraded" / f"{pair}.wav", pairs.degraded[item, 0].numpy(),
                            manifest["sample_rate"], subtype="FLOAT")
            np.save(out_dir / "mask" / f"{pair}.npy", pairs.mask[item, 0].numpy().astype(np.uint8))
            entries.append({"id": pair, "clean": f"clean/{name}.wav",
                            "degraded": f"degraded/{pair}.wav", "mask": f"mask/{pair}.npy",
                            "task": TASKS[int(pairs.task_id[item])],
                            "task_id": int(pairs.task_id[item]),
                            "cutoff_hz": float(pairs.cutoff_hz[item]), "params": params[item],
                            "source": clip["source"], "track": clip["track"],
                            "start_seconds": clip["start_seconds"]})
        if callback is not None:
            callback(number + 1, len(order), clip["track"])
    description = {"format": PAIRS_FORMAT, "version": 1, "sample_rate": manifest["sample_rate"],
                   "seed": seed, "split": split, "per_clip": per_clip, "pairs": entries}
    shards.write_json_atomic(out_dir / PAIRS, description)
    return description
