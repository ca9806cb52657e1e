"""Gap lists: Audacity label files, ``--gap START:END`` values, merging, label writing.

A gap is ``(start, end)`` in seconds of the file's timeline. Audacity label tracks are text
lines ``start<TAB>end[<TAB>label]`` (seconds, ``.`` decimal point); point labels (start == end)
carry no gap and are refused, because a zero-length gap would silently do nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from restore.errors import RestoreError
from restore.io.atomic import write_bytes

Gap = tuple[float, float]

_SECONDS_PAIR = re.compile(r"^\s*(-?[\d.]+)\s*:\s*(-?[\d.]+)\s*$")
# A gap that ends this little past the end of the file is clamped to the end (labels rounded
# or made at another rate); one that ends further out is refused (probably another recording).
END_TOLERANCE_SECONDS = 0.02
_CLOCK = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


def parse_time(text: str) -> float:
    """Seconds from ``"12.5"``, ``"1:02.25"`` (mm:ss.ms) or ``"01:02:03.500"`` (hh:mm:ss.ms)."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"not a time: {text!r} (use seconds or hh:mm:ss.ms)")
    hours, minutes, seconds = match.groups()
    if (hours or minutes) and float(seconds) >= 60:
        raise ValueError(f"not a time: {text!r} (seconds field must be below 60)")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def parse_gap(text: str) -> Gap:
    """``"START:END"`` or ``"START-END"`` -> ``(start, end)`` seconds; times as in parse_time.

    With clock times (which contain ``:``), use ``-`` between start and end, e.g.
    ``0:01:02.5-0:01:03``; ``START:END`` is accepted when both are plain seconds.
    """
    text = text.strip()
    pair = _SECONDS_PAIR.match(text)
    if pair and any(value.startswith("-") for value in pair.groups()):
        raise ValueError(f"gap {text!r}: times are seconds from the start of the file and "
                         "cannot be negative")
    if pair:
        start_text, end_text = pair.groups()
    elif text.startswith("-"):
        raise ValueError(f"gap {text!r}: times cannot be negative")
    elif "-" in text:
        start_text, _, end_text = text.partition("-")
    elif text.count(":") == 1:
        start_text, _, end_text = text.partition(":")
    else:
        raise ValueError(f"not a gap: {text!r} (use START:END in seconds or "
                         "hh:mm:ss.ms-hh:mm:ss.ms)")
    start, end = parse_time(start_text), parse_time(end_text)
    if end <= start:
        raise ValueError(f"gap {text!r} ends before it starts")
    return start, end


def read_labels(path: str | Path) -> list[Gap]:
    """Gaps from an Audacity label file; blank lines and Audacity's frequency lines are skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RestoreError(path, f"cannot read label file: {error}") from error
    gaps: list[Gap] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("\\"):  # "\\t f_low f_high" lines
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            fields = line.split()
        try:
            start, end = float(fields[0]), float(fields[1])
        except (ValueError, IndexError):
            raise RestoreError(path, f"line {number}: expected start<TAB>end[<TAB>label] in "
                                     f"seconds, got {line!r}") from None
        if end <= start:
            raise RestoreError(path, f"line {number}: label ends at or before its start "
                                     "(point labels mark no gap)")
        gaps.append((start, end))
    return gaps


def labels_text(regions: Iterable[tuple[float, float, str]]) -> str:
    """Audacity label track text: ``start<TAB>end<TAB>label`` per line (6 decimals)."""
    return "".join(f"{start:.6f}\t{end:.6f}\t{label}\n" for start, end, label in regions)


def write_labels(path: str | Path, regions: Iterable[tuple[float, float, str]]) -> Path:
    """Write an Audacity label file (atomically: temp file, then rename)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RestoreError(path, f"cannot write label file: {error}") from error
    write_bytes(path, labels_text(regions).encode("utf-8"))
    return path


def merge_gaps(gaps: Sequence[Gap], duration: float, *, path: str | Path | None = None,
               join_seconds: float = 0.0) -> list[Gap]:
    """Sorted gaps with overlapping ones (or ones closer than ``join_seconds``) merged.

    Gaps must lie inside ``[0, duration]``: one ending at most ``END_TOLERANCE_SECONDS`` past
    the end is clamped to it; one ending further out is refused, since the label file probably
    belongs to another recording.
    """
    checked = []
    for start, end in gaps:
        if start < duration and duration < end <= duration + END_TOLERANCE_SECONDS:
            end = duration
        if start < 0 or end > duration + 1e-9:
            raise RestoreError(path, f"gap {start:.3f}-{end:.3f} s lies outside the recording "
                                     f"(0-{duration:.3f} s)")
        checked.append((float(start), float(end)))
    merged: list[Gap] = []
    for start, end in sorted(checked):
        if merged and start <= merged[-1][1] + join_seconds:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def to_frames(gaps: Sequence[Gap], sample_rate: int, frames: int) -> list[tuple[int, int]]:
    """Gaps in seconds -> ``[start, end)`` frame ranges (outward rounding, clipped to the file).

    Positions within a millionth of a frame of a frame boundary count as on it, so that float
    noise (``3.2 * 48000 = 153600.00000000003``) does not add a frame."""
    ranges = []
    for start, end in gaps:
        first = max(0, math.floor(round(start * sample_rate, 6)))
        last = min(frames, math.ceil(round(end * sample_rate, 6)))
        if last > first:
            ranges.append((first, last))
    return ranges
