"""Build a corpus (shards + manifest.json, see :mod:`data_prep.shards`) from source tracks.

The split is decided per track (a hash of its id and the seed), so no track is ever in two
splits. Builds are resumable: the manifest lists the tracks whose clips are already in
finished shards, and a rerun with the same output folder continues after them.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from data_prep import shards
from data_prep.processing import (
    ClipOptions,
    DuplicateFinder,
    TrackClips,
    fingerprint,
    process_track,
)
from data_prep.sources import Track
from restore.config import MODEL_RATE
from restore.errors import RestoreError
from restore.io.atomic import write_with

SAVE_EVERY_SECONDS = 20.0  # the growing manifest is rewritten at most this often (resume point)
PROFILES = "profiles.npy"  # content profiles of the clips, in manifest order (dedup, resume)


@dataclasses.dataclass(frozen=True)
class SplitShares:
    valid: float = 0.05
    test: float = 0.05


def split_of(track_id: str, seed: int, shares: SplitShares) -> str:
    """The split of a track: a function of its id and the seed only."""
    position = zlib.crc32(f"split:{seed}:{track_id}".encode()) / 2**32
    if position < shares.test:
        return "test"
    return "valid" if position < shares.test + shares.valid else "train"


class _CorpusWriter:
    """Accumulates clips per split and writes a shard whenever a shard's worth is pending.

    A track counts as done (for resuming) once none of its clips is still pending.
    """

    def __init__(self, out_dir: Path, manifest: dict, shard_frames: int, suffix: str) -> None:
        self.out_dir, self.manifest = out_dir, manifest
        self.shard_frames, self.suffix = shard_frames, suffix
        self.pending: dict[str, list[tuple[np.ndarray, dict, np.ndarray]]] = {
            split: [] for split in shards.SPLITS}
        self.pending_tracks: dict[str, list[str]] = {split: [] for split in shards.SPLITS}
        self.written_profiles = _written_profiles(out_dir, manifest)
        self.saved_at = time.monotonic()
        self.duplicates = DuplicateFinder()
        for profile in self.written_profiles:
            self.duplicates.seen(profile)

    def add(self, result: TrackClips, split: str) -> None:
        self.pending_tracks[split].append(result.track.track)
        for clip, start, mark in zip(result.clips if result.clips is not None else [],
                                     result.starts, result.fingerprints, strict=False):
            if self.duplicates.seen(mark):
                self.manifest["duplicates_dropped"] += 1
                continue
            self.pending[split].append((clip, {
                "split": split, "frames": int(len(clip)), "source": result.track.source,
                "track": result.track.track, "licence": result.track.licence,
                "start_seconds": round(start, 4), "target_lufs": round(result.target_lufs, 3),
                "loudness_lufs": round(result.loudness_lufs, 3), **result.track.extra,
            }, mark))
        self.flush(split, final=False)

    def flush(self, split: str, final: bool = True) -> None:
        """Write full shards of ``split`` (and, if ``final``, the remainder)."""
        while self.pending[split]:
            frames = np.cumsum([len(clip) for clip, _, _ in self.pending[split]])
            if frames[-1] < self.shard_frames and not final:
                break
            count = max(1, int(np.searchsorted(frames, self.shard_frames, side="right")))
            self._write_shard(split, self.pending[split][:count])
            self.pending[split] = self.pending[split][count:]
        waiting = {entry["track"] for _, entry, _ in self.pending[split]}
        finished = [track for track in self.pending_tracks[split] if track not in waiting]
        if finished:
            self.manifest["done_tracks"] += finished
            self.pending_tracks[split] = [t for t in self.pending_tracks[split] if t in waiting]
            if final or time.monotonic() - self.saved_at > SAVE_EVERY_SECONDS:
                self.save()

    def _write_shard(self, split: str, items: list) -> None:
        index = sum(1 for shard in self.manifest["shards"] if shard["split"] == split)
        name = f"{split}-{index:05d}{self.suffix}"
        samples = np.concatenate([clip for clip, _, _ in items])
        shards.write_shard(self.out_dir / name, samples, MODEL_RATE)
        offset = 0
        for clip, entry, _ in items:
            entry.update(shard=name, offset=offset)
            offset += len(clip)
        self.manifest["shards"].append({"file": name, "split": split,
                                        "frames": int(len(samples))})
        self.manifest["clips"] += [entry for _, entry, _ in items]
        self.written_profiles += [mark for _, _, mark in items]

    def save(self, complete: bool = False) -> None:
        if self.written_profiles:  # profiles of the written clips, for dedup on resume
            profiles = np.stack(self.written_profiles)
            write_with(self.out_dir / PROFILES, lambda temp: shards.save_npy(temp, profiles))
        self.saved_at = time.monotonic()
        self.manifest["complete"] = complete
        self.manifest["seconds"] = shards.split_seconds(self.manifest)
        self.manifest["skipped_count"] = len(self.manifest["skipped"])
        shards.write_json_atomic(self.out_dir / shards.MANIFEST, self.manifest)


def _written_profiles(out_dir: Path, manifest: dict) -> list[np.ndarray]:
    """Profiles of the clips already in ``manifest`` (from profiles.npy, else from shards)."""
    clips = manifest["clips"]
    path = out_dir / PROFILES
    if path.exists():
        stored = np.load(path)
        if len(stored) >= len(clips):
            return list(stored[: len(clips)])
    profiles, cache = [], {}
    for clip in clips:
        if clip["shard"] not in cache:
            cache = {clip["shard"]: shards.load_shard(out_dir / clip["shard"])}
        audio = cache[clip["shard"]]
        profiles.append(fingerprint(audio[clip["offset"]:clip["offset"] + clip["frames"]]))
    return profiles


def _start_manifest(out_dir: Path, options: ClipOptions, shares: SplitShares) -> dict:
    settings = {"clip_options": dataclasses.asdict(options),
                "split_shares": dataclasses.asdict(shares)}
    if (out_dir / shards.MANIFEST).exists():
        manifest = shards.read_manifest(out_dir)
        if manifest.get("settings") != settings:
            raise RestoreError(out_dir, "a corpus built with other settings is here; use "
                               "another folder or the same settings to resume")
        return manifest
    return {"format": shards.FORMAT, "version": shards.VERSION, "sample_rate": MODEL_RATE,
            "clip_seconds": options.clip_seconds, "settings": settings, "complete": False,
            "shards": [], "clips": [], "skipped": [], "done_tracks": [],
            "duplicates_dropped": 0, "tracks_without_clips": 0}


def build_corpus(
    tracks: Iterable[Track],
    out_dir: str | Path,
    options: ClipOptions | None = None,
    *,
    shares: SplitShares | None = None,
    workers: int = 1,
    shard_seconds: float = 300.0,
    suffix: str = ".flac",
    callback: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Process ``tracks`` into ``out_dir`` and return the manifest.

    Tracks already listed as done in an existing manifest (same settings) are skipped.
    Unreadable tracks are recorded under ``skipped`` with the reason. ``callback(done, total,
    track_id)`` is called after each track.
    """
    options = options or ClipOptions()
    shares = shares or SplitShares()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _start_manifest(out_dir, options, shares)
    done = set(manifest["done_tracks"])
    todo = [track for track in tracks if track.track not in done]
    if len({track.track for track in todo}) != len(todo):
        raise ValueError("track ids must be unique")
    writer = _CorpusWriter(out_dir, manifest, int(shard_seconds * MODEL_RATE), suffix)
    for number, result in enumerate(_process_all(todo, options, workers), start=1):
        if result.error is not None:
            manifest["skipped"].append({"track": result.track.track, "reason": result.error})
            manifest["done_tracks"].append(result.track.track)
        else:
            manifest["tracks_without_clips"] += result.clips is None  # too short or silent
            writer.add(result, split_of(result.track.split_key, options.seed, shares))
        if callback is not None:
            callback(number, len(todo), result.track.track)
    for split in shards.SPLITS:
        writer.flush(split)
    writer.save(complete=True)
    return manifest


def _process_all(tracks: list[Track], options: ClipOptions, workers: int):
    if workers <= 1:
        yield from (process_track(track, options) for track in tracks)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        yield from pool.imap(_process_star, [(track, options) for track in tracks])


def _process_star(arguments: tuple[Track, ClipOptions]) -> TrackClips:
    return process_track(*arguments)
