"""Blind A/B listening page: transitions between two different recordings (issue 13).

A bridge from one recording into another has no true audio to score against, so this measures
nothing: it writes, for ``pairs`` pairs of test-split clips from different recordings (manifest
``track``), the transition A -> B made two ways, the model (``restore.transition`` through
:class:`evaluation.methods.ModelMethod`, as ``python -m evaluation run`` calls it) and the
equal-power crossfade baseline, as "version 1" and "version 2" in a seeded random order. The
page shows only the version numbers; which is which goes to ``key.json`` beside it, which the
page neither links nor embeds.

Both versions of a pair are ``A + bridge + B`` with the same A (the clip's middle
``EXCERPT_SIDE_SECONDS``) and the same B, so they differ only inside the bridge.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.cases import Case, usable_test_clips
from evaluation.html import page_head
from evaluation.methods import ModelMethod, baseline, has_task_api
from restore import io
from restore.checkpoint import LoadedModel
from restore.config import MODEL_RATE
from restore.errors import RestoreError
from restore.io.atomic import write_text
from restore.tasks.transition import MAX_BRIDGE_SECONDS

EXCERPT_SIDE_SECONDS = 1.5  # of A before the bridge and of B after it (the model sees 1 s)
ORDER_SEED_OFFSET = 17  # the versions' order comes from default_rng([seed, 17]), the clips
#                         from default_rng(seed): changing the pair count keeps the clips' order
METHODS = ("model", "crossfade")


@dataclass(frozen=True)
class Pair:
    """Clip A of one recording and clip B of another, to be joined by a bridge.

    ``case`` holds ``A + silence + B`` ``[channels, frames]`` with the bridge as its region;
    there is no truth, so its reference slot holds that same input and is never scored.
    """

    number: int  # 1-based, as the page shows it
    a_entry: dict  # manifest entries of the two clips
    b_entry: dict
    case: Case


def _pair_case(a: np.ndarray, b: np.ndarray, number: int, bridge_seconds: float) -> Case:
    bridge = int(round(bridge_seconds * MODEL_RATE))
    joined = np.concatenate([a, np.zeros((a.shape[0], bridge), np.float32), b], axis=1)
    start = a.shape[1]
    return Case("transition", f"ab_{bridge_seconds:g}s", number, joined, joined,
                region=(start, start + bridge), params={"seconds": bridge_seconds})


def draw_pairs(corpus_dir: str | Path, count: int, bridge_seconds: float, seed: int) -> list[Pair]:
    """``count`` pairs from ``2 count`` different recordings of the corpus's test split.

    Clips come in :func:`evaluation.cases.usable_test_clips`' seeded order (each cut to its
    middle ``EXCERPT_SIDE_SECONDS``); the first usable clip of each recording is kept, and
    consecutive kept clips form a pair (A, B), so no recording is heard in two pairs.
    """
    kept: list[tuple[dict, np.ndarray]] = []
    tracks: set[str] = set()
    for entry, audio in usable_test_clips(corpus_dir, EXCERPT_SIDE_SECONDS, seed):
        if entry["track"] not in tracks:
            tracks.add(entry["track"])
            kept.append((entry, audio))
        if len(kept) == 2 * count:
            break
    else:
        raise RestoreError(corpus_dir, f"only {len(kept)} different recordings (manifest "
                                       f"'track') have a usable test clip of at least "
                                       f"{EXCERPT_SIDE_SECONDS:g} s; {count} pairs need "
                                       f"{2 * count}")
    return [Pair(index + 1, kept[2 * index][0], kept[2 * index + 1][0],
                 _pair_case(kept[2 * index][1], kept[2 * index + 1][1], index + 1,
                            bridge_seconds))
            for index in range(count)]


def blind_orders(count: int, seed: int) -> list[tuple[str, str]]:
    """Per pair the methods heard as version 1 and version 2: the model first in half the pairs
    (rounded up), which half drawn by ``default_rng([seed, ORDER_SEED_OFFSET])``."""
    model_first = np.arange(count) < (count + 1) // 2
    np.random.default_rng([seed, ORDER_SEED_OFFSET]).shuffle(model_first)
    return [METHODS if first else METHODS[::-1] for first in model_first]


def _clip_record(entry: dict) -> dict[str, Any]:
    excerpt_start = (entry["frames"] - round(EXCERPT_SIDE_SECONDS * MODEL_RATE)) // 2
    return {"clip_id": f"{entry['shard']}@{entry['offset']}", "track": entry["track"],
            "source": entry.get("source"), "start_seconds_in_track": entry.get("start_seconds"),
            "excerpt_start_seconds_in_clip": excerpt_start / MODEL_RATE}


def _render(pair: Pair, methods: dict[str, Callable[[Case], np.ndarray]]) -> dict[str, np.ndarray]:
    """Each method's ``A + bridge + B`` for ``pair``; checks they differ only in the bridge."""
    outputs = {name: np.clip(method(pair.case), -1.0, 1.0) for name, method in methods.items()}
    start, end = pair.case.region
    first, second = outputs.values()
    if first.shape != second.shape or not (
            np.array_equal(first[:, :start], second[:, :start])
            and np.array_equal(first[:, end:], second[:, end:])):
        raise RuntimeError(f"pair {pair.number}: the versions differ outside the bridge")
    return outputs


def page_html(count: int, files: list[tuple[str, str]], bridge_seconds: float) -> str:
    """The listening page: instructions, then per pair two players labelled by number only."""
    side = EXCERPT_SIDE_SECONDS
    parts = [page_head("restore: blind A/B listening"),
             "<h1>Blind A/B listening: transitions between two recordings</h1>",
             f"<p>Each of the {count} pairs plays {side:g} s of one recording, a "
             f"{bridge_seconds:g} s transition, then {side:g} s of another recording. Its two "
             f"versions are identical except for the transition (from {side:g} s to "
             f"{side + bridge_seconds:g} s); the order of the versions changes from pair to "
             "pair. Listen to both and write in answers.csv which transition sounds more "
             "natural: 1 or 2, or 0 for no preference. There is no right answer to compare "
             "against.</p>"]
    for number, (first, second) in enumerate(files, start=1):
        parts.append(f"<h2>Pair {number}</h2><table>")
        for version, name in ((1, first), (2, second)):
            parts.append(f"<tr><td>version {version}</td><td><audio controls preload='none' "
                         f"src='{html.escape(name)}'></audio></td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _methods(model: LoadedModel, steps: int, seed: int, device: str) -> dict:
    if not has_task_api():
        raise RestoreError(None, "the A/B page needs restore.transition (the task API)")
    return {"model": ModelMethod(model, steps, seed=seed, device=device, via="api"),
            "crossfade": baseline("transition", "crossfade")}


def _write_pair(pair: Pair, order: tuple[str, str], methods: dict, out_dir: Path,
                width: int) -> dict[str, Any]:
    """Render ``pair``, write its two versions in ``order``; return its entry of the key."""
    outputs = _render(pair, methods)
    names = tuple(f"audio/pair{pair.number:0{width}d}_v{version}.flac" for version in (1, 2))
    for name, method in zip(names, order, strict=True):
        io.save(out_dir / name, outputs[method], MODEL_RATE, subtype="PCM_16", overwrite=True)
    return {"pair": pair.number, "versions": {"1": order[0], "2": order[1]},
            "files": {"1": names[0], "2": names[1]}, "bridge_frames": list(pair.case.region),
            "a": _clip_record(pair.a_entry), "b": _clip_record(pair.b_entry)}


def _check_request(pairs: int, bridge_seconds: float) -> None:
    if pairs < 1:
        raise RestoreError(None, f"pairs must be >= 1, got {pairs}")
    if not 0 < bridge_seconds <= MAX_BRIDGE_SECONDS:
        raise RestoreError(None, f"transition length {bridge_seconds:g} s outside "
                                 f"(0, {MAX_BRIDGE_SECONDS:g}] s")


def write_ab_page(
    model: LoadedModel,
    corpus_dir: str | Path,
    out_dir: str | Path,
    *,
    pairs: int = 10,
    bridge_seconds: float = 1.0,
    seed: int = 0,
    steps: int | None = None,
    device: str = "cpu",
    callback: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """Write ``index.html``, ``audio/pairNN_v1.flac`` / ``_v2.flac`` (16-bit, 48 kHz),
    ``answers.csv`` and ``key.json`` into ``out_dir``; return the key.

    ``steps``: the model's sampler steps (default its own); ``seed`` picks the clips and the
    versions' order and seeds the model's noise. ``callback`` gets ``{"done", "total"}`` after
    each pair.
    """
    _check_request(pairs, bridge_seconds)
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    drawn = draw_pairs(corpus_dir, pairs, bridge_seconds, seed)
    steps = steps or int(model.default_steps)
    methods = _methods(model, steps, seed, device)
    (out_dir / "audio").mkdir(parents=True, exist_ok=True)
    records = []
    for pair, order in zip(drawn, blind_orders(pairs, seed), strict=True):
        records.append(_write_pair(pair, order, methods, out_dir, max(2, len(str(pairs)))))
        if callback is not None:
            callback({"done": pair.number, "total": pairs})
    key = {"what": "key to index.html: which version of each pair is which; keep it from the "
                   "listeners. Nothing is scored: no true transition exists.",
           "model_id": model.model_id or "n/a", "model_sha256": model.sha256 or "n/a",
           "steps": steps, "sampler": model.default_sampler, "seed": seed,
           "bridge_seconds": bridge_seconds, "side_seconds": EXCERPT_SIDE_SECONDS,
           "sample_rate": MODEL_RATE, "corpus": str(corpus_dir), "pairs": records}
    write_text(out_dir / "key.json", json.dumps(key, indent=1) + "\n")
    rows = ["pair,preferred,comment", *(f"{number},," for number in range(1, pairs + 1))]
    write_text(out_dir / "answers.csv", "\n".join(rows) + "\n")
    files = [(record["files"]["1"], record["files"]["2"]) for record in records]
    write_text(out_dir / "index.html", page_html(pairs, files, bridge_seconds))
    return key
