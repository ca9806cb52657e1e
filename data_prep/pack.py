"""Moving corpora in pieces: split one into packs under a size limit, merge packs back."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

from data_prep import shards
from restore.errors import RestoreError

MIB = 2**20


def pack_corpus(
    corpus_dir: str | Path,
    out_dir: str | Path,
    *,
    max_mib: float = 60.0,
    splits: Sequence[str] = shards.SPLITS,
    max_packs: int | None = None,
    seed: int | None = 0,
) -> list[Path]:
    """Group ``corpus_dir``'s shards of ``splits`` into self-contained corpora
    ``out_dir/pack-000``, ``pack-001``, ... each at most ``max_mib`` MiB (shards + manifest).
    Shards are taken in a ``seed``-shuffled order (``None``: manifest order), so the first
    packs already mix sources and splits. Shards are hard-linked when possible (copied
    otherwise). Returns the pack folders."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    manifest = shards.read_manifest(corpus_dir)
    chosen = [s for s in manifest["shards"] if s["split"] in splits]
    if seed is not None:
        order = random.Random(seed).sample(range(len(chosen)), len(chosen))
        chosen = [chosen[i] for i in order]
    groups: list[list[dict]] = [[]]
    used = 0.0
    for shard in chosen:
        size = (corpus_dir / shard["file"]).stat().st_size
        if size > max_mib * MIB - MIB:
            raise RestoreError(corpus_dir / shard["file"], f"shard larger than {max_mib} MiB")
        if groups[-1] and used + size > max_mib * MIB - MIB:  # 1 MiB kept for the manifest
            groups.append([])
            used = 0.0
        groups[-1].append(shard)
        used += size
    groups = [g for g in groups if g][:max_packs]
    packs = []
    for number, group in enumerate(groups):
        target = out_dir / f"pack-{number:03d}"
        target.mkdir(parents=True, exist_ok=True)
        names = {s["file"] for s in group}
        for name in names:
            _link_or_copy(corpus_dir / name, target / name)
        subset = {**manifest, "shards": group,
                  "clips": [c for c in manifest["clips"] if c["shard"] in names],
                  "skipped": [], "done_tracks": []}
        subset["seconds"] = shards.split_seconds(subset)
        shards.write_json_atomic(target / shards.MANIFEST, subset)
        packs.append(target)
    return packs


def merge_corpora(inputs: Sequence[str | Path], out_dir: str | Path) -> dict:
    """One corpus at ``out_dir`` holding every clip of ``inputs`` (shards renamed
    ``<n>-<name>`` so names never clash; hard links where possible)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged: dict | None = None
    for number, corpus_dir in enumerate(map(Path, inputs)):
        manifest = shards.read_manifest(corpus_dir)
        if merged is None:
            merged = {**manifest, "shards": [], "clips": [], "skipped": [], "done_tracks": [],
                      "merged_from": []}
        if manifest["sample_rate"] != merged["sample_rate"]:
            raise RestoreError(corpus_dir, "sample rate differs from the first corpus")
        rename = {s["file"]: f"{number}-{s['file']}" for s in manifest["shards"]}
        for old, new in rename.items():
            _link_or_copy(corpus_dir / old, out_dir / new)
        merged["shards"] += [{**s, "file": rename[s["file"]]} for s in manifest["shards"]]
        merged["clips"] += [{**c, "shard": rename[c["shard"]]} for c in manifest["clips"]]
        merged["skipped"] += manifest.get("skipped", [])
        merged["merged_from"].append(str(corpus_dir))
    if merged is None:
        raise RestoreError(None, "nothing to merge")
    merged["seconds"] = shards.split_seconds(merged)
    shards.write_json_atomic(out_dir / shards.MANIFEST, merged)
    return merged


def _link_or_copy(source: Path, target: Path) -> None:
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
