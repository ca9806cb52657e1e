"""Listening page: spectrogram comparisons (matplotlib) and audio players for A/B listening.

For the first clip of every condition it writes ``audio/<task>_<condition>_<method>.wav``
(reference, degraded, every method; an excerpt around the gap or bridge) and
``spectrograms/<task>_<condition>.png`` (degraded / each method / reference), and links them
from ``index.html``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.cases import Case
from evaluation.report import DB_METRICS
from evaluation.runner import Results
from restore import io
from restore.classical import sinc_upsample
from restore.config import MODEL_RATE
from restore.errors import RestoreError
from restore.io.atomic import write_text, write_with

EXCERPT_MARGIN_SECONDS = 0.75  # audio kept on each side of a gap or bridge in the excerpts
SINGLE_COLUMN_PANELS = 5  # more spectrograms than this are drawn in two columns


def excerpt_bounds(case: Case) -> tuple[int, int]:
    """Sample range ``[start, end)`` of the reference shown and played for ``case``."""
    length = case.reference.shape[-1]
    if case.region is None:
        return 0, length
    margin = int(EXCERPT_MARGIN_SECONDS * MODEL_RATE)
    return max(0, case.region[0] - margin), min(length, case.region[1] + margin)


def page_head(title: str) -> str:
    """The start of a plain static page (inline style, no scripts) up to the opened body."""
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
            "td{padding:2px 8px;vertical-align:middle}img{max-width:100%}</style></head><body>")


def _degraded_at_model_rate(case: Case) -> np.ndarray:
    if case.input_rate == MODEL_RATE:
        return case.degraded
    return sinc_upsample(case.degraded, case.input_rate, MODEL_RATE)


def _spectrogram_png(path: Path, panels: list[tuple[str, np.ndarray]], title: str) -> None:
    try:
        import matplotlib
    except ImportError:
        raise RestoreError(path, "spectrograms need matplotlib: pip install matplotlib (or "
                                 "the project's dev extra)") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # side by side in two columns once there are many versions (issue 13 adds two baselines)
    columns = 2 if len(panels) > SINGLE_COLUMN_PANELS else 1
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(9 * columns, 2.0 * rows), sharex=True,
                                sharey=True, squeeze=False)
    flat = axes.ravel(order="F")  # down the first column, then the second
    for axis, (label, audio) in zip(flat, panels, strict=False):
        # a -180 dB noise floor: exact digital silence would be -inf dB, drawn as blank
        floor = 1e-9 * np.random.default_rng(0).standard_normal(audio.shape[-1])
        axis.specgram(audio[0].astype(np.float64) + floor, NFFT=1024, Fs=MODEL_RATE,
                      noverlap=768, vmin=-140, vmax=-20, cmap="magma")
        axis.set_ylabel(f"{label}\nHz")
    for axis in flat[len(panels):]:
        axis.set_visible(False)
    figure.suptitle(title)
    for axis in axes[-1]:
        axis.set_xlabel("seconds into excerpt")
    figure.tight_layout()
    write_with(path, lambda temp: figure.savefig(temp, dpi=80, format="png"))
    plt.close(figure)


def write_examples(results: Results, out_dir: Path) -> list[dict[str, Any]]:
    """Write the excerpts' WAVs and PNGs; return one entry per condition for the page."""
    (out_dir / "audio").mkdir(parents=True, exist_ok=True)
    (out_dir / "spectrograms").mkdir(parents=True, exist_ok=True)
    entries = []
    for case in results.cases:
        if case.clip != 0:
            continue
        start, end = excerpt_bounds(case)
        stem = f"{case.task}_{case.condition}"
        sounds = {"reference": case.reference, "degraded": _degraded_at_model_rate(case)}
        for method in results.methods[case.task]:
            sounds[method] = results.examples[(case.name, method)]
        files = {}
        for label, audio in sounds.items():
            name = f"audio/{stem}_{label.replace('@', '_')}.wav"
            clipped = np.clip(audio[:, start:end], -1.0, 1.0)
            io.save(out_dir / name, clipped, MODEL_RATE, subtype="PCM_16", overwrite=True)
            files[label] = name
        order = ["degraded", *results.methods[case.task], "reference"]
        png = f"spectrograms/{stem}.png"
        _spectrogram_png(out_dir / png, [(label, sounds[label][:, start:end]) for label in order],
                         f"{case.task} {case.condition} (clip 0)")
        entries.append({"case": case, "audio": files, "png": png, "order": order})
    return entries


def _score_line(results: Results, case: Case, method: str) -> str:
    scores = results.scores.get((case.name, method))
    if scores is None:
        return ""
    parts = []
    for metric, value in scores.items():
        unit = " dB" if metric in DB_METRICS else ""
        parts.append(f"{metric} {value:.3f}{unit}")
    return ", ".join(parts)


def index_html(results: Results, entries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The page: per condition a spectrogram and one player per version, with its scores."""
    parts = [page_head("restore evaluation"), "<h1>restore evaluation: listening examples</h1>",
             "<p>Tables: <a href='report.md'>report.md</a>, <a href='report.json'>report.json"
             "</a>. Each example is clip 0 of its condition, cut to the region around the gap or "
             "bridge. Scores below are for that clip only.</p><ul>"]
    parts += [f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in meta.items()]
    parts.append("</ul>")
    for entry in entries:
        case: Case = entry["case"]
        parts.append(f"<h2>{html.escape(case.task)}: {html.escape(case.condition)}</h2>")
        parts.append(f"<img src='{entry['png']}' alt='spectrograms {html.escape(case.name)}'>")
        parts.append("<table>")
        for label in entry["order"]:
            scores = html.escape(_score_line(results, case, label))
            parts.append(f"<tr><td>{html.escape(label)}</td><td><audio controls preload='none' "
                         f"src='{entry['audio'][label]}'></audio></td><td><small>{scores}</small>"
                         "</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_listening_page(results: Results, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the examples and ``index.html`` into ``out_dir``; return the page's path."""
    entries = write_examples(results, out_dir)
    return write_text(out_dir / "index.html", index_html(results, entries, meta))
