"""Portable bundles: what a GPU machine without synthesizers needs to build hours of audio.

A bundle is a folder: randomized MIDI orchestrations of music21 scores, the compressed
FluidR3Mono SoundFont (``.sf3``), and a small corpus of real recordings (FLAC shards plus
manifest), described by ``bundle.json``. ``render_bundle`` renders the MIDI files with
tinysoundfont (adding a random synthetic room), processes them like any track and merges the
recordings, writing the corpus format :class:`data_prep.dataset.ClipDataset` reads.
"""

from __future__ import annotations

import functools
import multiprocessing
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.signal

from data_prep import shards
from data_prep.corpus import build_corpus
from data_prep.processing import ClipOptions
from data_prep.recipes.scores import (
    MUSIC21_LICENCE,
    randomize_midi,
    score_paths,
    score_to_midi,
)
from data_prep.sources import Track, package_licence

BUNDLE = "bundle.json"
BUNDLE_FORMAT = "restore-bundle"
SF3 = Path("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3")
SF3_PACKAGE = "fluidr3mono-gm-soundfont"
# further small General MIDI SoundFonts a bundle carries where installed (timbre variety);
# each MIDI file is rendered with one SoundFont, chosen by a hash of its track id
EXTRA_SOUNDFONTS = ((Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), "timgm6mb-soundfont"),)
RECORDINGS = "recordings"
RATE = 48_000
MAX_RENDER_SECONDS = 302.0  # MIDI files are cut at 300 s (recipes.scores.MAX_SECONDS)
_SYNTHS: dict[str, object] = {}  # one loaded SoundFont per worker process


def _midi_job(job: tuple[str, str, list[int]]) -> list[tuple[str, bytes | None, dict | str]]:
    """Worker: (score path, score id, seeds) -> per seed (track id, MIDI or None, params or
    the error). The score is parsed once for all its orchestrations."""
    path, score_id, seeds = job
    try:
        plain = score_to_midi(Path(path))
        return [(f"{score_id}#{variant}", *randomize_midi(plain, seed))
                for variant, seed in enumerate(seeds)]
    except Exception as error:  # noqa: BLE001 - unparsable scores are counted and skipped
        return [(score_id, None, f"{type(error).__name__}: {error}"[:200])]


def write_midi(bundle_dir: Path, scores: int, variants: int, seed: int, workers: int,
               callback: Callable[[int, int, str], None] | None = None) -> tuple[list, list]:
    """Write ``variants`` randomized MIDI files for each of ``scores`` music21 scores."""
    paths = score_paths()
    chosen = sorted(np.random.default_rng(seed).permutation(len(paths))[:scores])
    jobs = []
    for index in chosen:
        relative = paths[index].as_posix().split("/corpus/", 1)[-1]
        seeds = [zlib.crc32(f"{seed}:{relative}:{variant}".encode()) for variant in range(variants)]
        jobs.append((str(paths[index]), f"music21/{relative}", seeds))
    (bundle_dir / "midi").mkdir(parents=True, exist_ok=True)
    entries, failures = [], []
    licence = f"{MUSIC21_LICENCE}; SoundFont: {package_licence(SF3_PACKAGE)}"
    with multiprocessing.get_context("fork").Pool(max(1, workers)) as pool:
        for number, results in enumerate(pool.imap(_midi_job, jobs), start=1):
            for track_id, midi, params in results:
                if midi is None:
                    failures.append({"track": track_id, "reason": params})
                    continue
                name = f"midi/{len(entries):05d}.mid"
                (bundle_dir / name).write_bytes(midi)
                entries.append({"file": name, "track": track_id,
                                "group": track_id.split("#")[0], "licence": licence,
                                "params": params})
            if callback is not None:
                callback(number, len(jobs), jobs[number - 1][1])
    return entries, failures


SPLIT_SHARES = (("train", 0.8), ("valid", 0.1), ("test", 0.1))


def copy_recordings(corpus_dir: Path, target: Path, budget_mib: float, seed: int,
                    split_shares=SPLIT_SHARES, exclude: set | None = None,
                    renders: bool = False) -> dict:
    """A sub-corpus of ``corpus_dir``'s recorded clips (music21 renders left out unless
    ``renders``: the bundle renders those) of about ``budget_mib`` FLAC, balanced over
    sources, split as ``split_shares`` says (80 % train / 10 % valid / 10 % test by
    default), in new FLAC shards under ``target``. Clips whose ``(track, start_seconds)``
    is in ``exclude`` (e.g. those an earlier pack carried) are not taken."""
    manifest = shards.read_manifest(corpus_dir)
    rng = np.random.default_rng(seed)
    exclude = exclude or set()
    sizes = {s["file"]: (corpus_dir / s["file"]).stat().st_size / max(s["frames"], 1)
             for s in manifest["shards"]}
    target.mkdir(parents=True, exist_ok=True)
    result = {**{k: manifest[k] for k in ("format", "version", "sample_rate", "clip_seconds")},
              "shards": [], "clips": [], "skipped": [], "complete": True}
    for split, share in split_shares:
        clips = [c for c in manifest["clips"] if c["split"] == split
                 and (renders or not c["source"].startswith("music21"))
                 and (c["track"], c.get("start_seconds")) not in exclude]
        picked = _balanced_pick(clips, sizes, budget_mib * share * 2**20, rng)
        if picked:
            _write_picked(corpus_dir, target, f"rec-{split}-00000.flac", picked, result)
    shards.write_json_atomic(target / shards.MANIFEST, result)
    return result


def _balanced_pick(clips: list[dict], bytes_per_frame: dict, budget: float, rng) -> list[dict]:
    by_source: dict[str, list[dict]] = {}
    for clip in clips:
        by_source.setdefault(clip["source"], []).append(clip)
    queues = [[group[i] for i in rng.permutation(len(group))] for group in by_source.values()]
    picked, spent = [], 0.0
    while spent < budget and any(queues):
        for queue in queues:
            if queue and spent < budget:
                clip = queue.pop()
                picked.append(clip)
                spent += clip["frames"] * bytes_per_frame[clip["shard"]]
    return picked


def _write_picked(corpus_dir: Path, target: Path, name: str, picked: list, result: dict) -> None:
    audio, offset, cache = [], 0, {}
    for clip in sorted(picked, key=lambda c: (c["shard"], c["offset"])):
        if clip["shard"] not in cache:
            cache = {clip["shard"]: shards.load_shard(corpus_dir / clip["shard"])}
        audio.append(cache[clip["shard"]][clip["offset"]:clip["offset"] + clip["frames"]])
        result["clips"].append({**clip, "shard": name, "offset": offset})
        offset += clip["frames"]
    shards.write_shard(target / name, np.concatenate(audio), RATE)
    result["shards"].append({"file": name, "split": result["clips"][-1]["split"],
                             "frames": offset})


def make_bundle(
    bundle_dir: str | Path,
    corpus_dir: str | Path | None,
    *,
    scores: int = 400,
    variants: int = 3,
    recordings_mib: float = 20.0,
    seed: int = 0,
    workers: int = 1,
    callback: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Write a bundle: SoundFont, randomized MIDI of ``scores`` scores x ``variants``, and
    about ``recordings_mib`` of real recordings taken from ``corpus_dir`` (if given)."""
    bundle_dir = Path(bundle_dir)
    bundle_dir.mkdir(parents=True, exist_ok=True)
    settings = {"scores": scores, "variants": variants, "seed": seed}
    previous = bundle_dir / BUNDLE
    old = shards.read_json(previous, BUNDLE_FORMAT) if previous.exists() else {}
    if old.get("midi_settings") == settings:  # MIDI already written: only add recordings
        midi, failures = old["midi"], old["skipped"]
    else:
        midi, failures = write_midi(bundle_dir, scores, variants, seed, workers, callback)
    soundfonts = []
    for path, package in ((SF3, SF3_PACKAGE), *EXTRA_SOUNDFONTS):
        if path == SF3 or path.exists():
            shutil.copyfile(path, bundle_dir / path.name)
            soundfonts.append({"file": path.name, "licence": package_licence(package)})
    if corpus_dir is not None:
        copy_recordings(Path(corpus_dir), bundle_dir / RECORDINGS, recordings_mib, seed)
    has_recordings = (bundle_dir / RECORDINGS / shards.MANIFEST).exists()
    description = {"format": BUNDLE_FORMAT, "version": 1, "seed": seed,
                   "midi_settings": settings,
                   "soundfonts": soundfonts,
                   "midi": midi, "skipped": failures,
                   "recordings": RECORDINGS if has_recordings else None}
    shards.write_json_atomic(bundle_dir / BUNDLE, description)
    return description


def _synth(soundfont: str):
    import tinysoundfont

    if soundfont not in _SYNTHS:
        synth = tinysoundfont.Synth(samplerate=RATE)
        synth.sfload(soundfont)
        _SYNTHS[soundfont] = synth
    return _SYNTHS[soundfont]


def room_response(rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: direct sound plus exponentially decaying noise (RT60 0.2 to 2.5 s,
    darker as it decays, wet level -20 to -3 dB), or none for a third of the tracks."""
    if rng.random() < 1 / 3:
        return np.ones(1, np.float32)
    rt60 = rng.uniform(0.2, 2.5)
    length = int(rt60 * RATE)
    time = np.arange(length) / RATE
    tail = rng.standard_normal(length) * 10 ** (-3.0 * time / rt60)
    smoothing = np.cumsum(tail) / np.arange(1, length + 1) * time / rt60  # duller tail
    tail = (tail * (1 - time / rt60) + smoothing) / np.sqrt(np.sum(tail**2) + 1e-12)
    response = np.zeros(length + int(rng.uniform(0.005, 0.03) * RATE))
    response[0] = 1.0
    response[-length:] += tail * 10 ** (rng.uniform(-20, -3) / 20)
    return response.astype(np.float32)


def render_midi(path: str, soundfont: str, seed: int) -> tuple[np.ndarray, int]:
    """Render one MIDI file with tinysoundfont at 48 kHz mono (random gain and room)."""
    import tinysoundfont  # the data extra, needed only to render

    synth = _synth(soundfont)
    synth.notes_off()
    synth.sounds_off()
    sequencer = tinysoundfont.Sequencer(synth)
    events = tinysoundfont.midi.load(path, persistent=False)
    if not events:
        raise ValueError("MIDI file without events")
    sequencer.add(events)
    frames = int(min(max(event.t for event in events) + 2.0, MAX_RENDER_SECONDS) * RATE)
    stereo = np.frombuffer(synth.generate(frames), dtype=np.float32).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    dry = stereo.mean(axis=1) * rng.uniform(0.5, 1.0)
    wet = scipy.signal.fftconvolve(dry, room_response(rng))[: len(dry)]
    return wet.astype(np.float32), RATE


def bundle_tracks(bundle_dir: Path, description: dict) -> list[Track]:
    """Tracks of a bundle's MIDI files, grouped by score for the split; each is rendered with
    one of the bundle's SoundFonts, chosen by a hash of its track id."""
    soundfonts = description.get("soundfonts") or [description["soundfont"]]  # version 1 had one
    tracks = []
    for entry in description["midi"]:
        seed = zlib.crc32(entry["track"].encode())
        font = soundfonts[seed % len(soundfonts)]
        loader = functools.partial(render_midi, str(bundle_dir / entry["file"]),
                                   str(bundle_dir / font["file"]), seed)
        licence = entry["licence"].split("; SoundFont:")[0] + f"; SoundFont: {font['licence']}"
        tracks.append(Track(entry["track"], "music21+tinysoundfont", licence, loader,
                            {"orchestration": entry["params"], "soundfont": font["file"]},
                            group=entry["group"]))
    return tracks


def merge_recordings(bundle_dir: Path, out_dir: Path, manifest: dict) -> None:
    """Copy the bundle's recordings corpus into ``out_dir`` and list its clips (once)."""
    source = bundle_dir / RECORDINGS
    if manifest.get("recordings_merged") or not (source / shards.MANIFEST).exists():
        return
    recordings = shards.read_manifest(source)
    for shard in recordings["shards"]:
        shutil.copyfile(source / shard["file"], out_dir / shard["file"])
        manifest["shards"].append(shard)
    manifest["clips"] += recordings["clips"]
    manifest["recordings_merged"] = True
    manifest["seconds"] = shards.split_seconds(manifest)
    shards.write_json_atomic(out_dir / shards.MANIFEST, manifest)


def render_bundle(
    bundle_dir: str | Path,
    out_dir: str | Path,
    *,
    workers: int = 1,
    options: ClipOptions | None = None,
    callback: Callable[[int, int, str], None] | None = None,
) -> dict:
    """Render a bundle into a corpus at ``out_dir`` (``.npy`` shards for the renders, the
    bundle's FLAC shards for recordings). Resumable like :func:`build_corpus`."""
    bundle_dir, out_dir = Path(bundle_dir), Path(out_dir)
    description = shards.read_json(bundle_dir / BUNDLE, BUNDLE_FORMAT)
    options = options or ClipOptions(seed=description["seed"])
    manifest = build_corpus(bundle_tracks(bundle_dir, description), out_dir, options,
                            workers=workers, suffix=".npy", callback=callback)
    merge_recordings(bundle_dir, out_dir, manifest)
    return manifest
