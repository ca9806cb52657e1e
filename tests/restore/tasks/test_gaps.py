"""Gap parsing: Audacity labels, --gap values (seconds and clock times), merging, label files."""

from __future__ import annotations

import pytest

from restore.errors import RestoreError
from restore.tasks.gaps import (
    labels_text,
    merge_gaps,
    parse_gap,
    parse_time,
    read_labels,
    to_frames,
    write_labels,
)
from restore.tasks.inpaint import MAX_GAP_SECONDS, plan_windows
from restore.tasks.provenance import label_rows, region


@pytest.mark.parametrize(("text", "seconds"), [
    ("12.5", 12.5), (".25", 0.25), ("3", 3.0), ("1:02.25", 62.25),
    ("01:02:03.500", 3723.5), ("0:00:00.001", 0.001),
])
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:75", "-1", "1:2:3:4"])
def test_parse_time_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_parse_gap_forms():
    assert parse_gap("12.5:12.75") == (12.5, 12.75)
    assert parse_gap("0:01:02.5-0:01:03") == (62.5, 63.0)
    assert parse_gap("1:00-1:01.5") == (60.0, 61.5)
    for bad in ("3:2", "5", "1:2:3"):
        with pytest.raises(ValueError):
            parse_gap(bad)


def test_read_labels_audacity_format(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("1.000000\t1.250000\tdropout\n\\t200.0\t4000.0\n\n2.5\t2.75\n")
    assert read_labels(path) == [(1.0, 1.25), (2.5, 2.75)]


@pytest.mark.parametrize("content", ["1.0\n", "a\tb\tc\n", "2.0\t2.0\tpoint\n"])
def test_read_labels_errors_name_the_line(tmp_path, content):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(RestoreError, match="line 1"):
        read_labels(path)


def test_missing_label_file_is_a_clear_error(tmp_path):
    with pytest.raises(RestoreError, match="cannot read label file"):
        read_labels(tmp_path / "none.txt")


def test_merge_sorts_joins_and_checks_bounds():
    assert merge_gaps([(3, 4), (1, 2), (1.5, 2.5)], 10) == [(1, 2.5), (3, 4)]
    assert merge_gaps([(1, 2), (2.05, 3)], 10, join_seconds=0.1) == [(1, 3)]
    with pytest.raises(RestoreError, match="outside"):
        merge_gaps([(9, 11)], 10)


def test_to_frames_rounds_outwards_and_clips():
    assert to_frames([(0.10001, 0.2), (9.9, 10.5)], 100, 1000) == [(10, 20), (990, 1000)]
    assert to_frames([(0.1, 1.1)], 48_000, 10**6) == [(4_800, 52_800)]  # 1.1 * 48000 > 52800


def test_a_gap_of_the_longest_length_between_frames_is_accepted():
    longest = to_frames([(1.00001, 1.00001 + MAX_GAP_SECONDS)], 48_000, 10**6)
    assert longest[0][1] - longest[0][0] == round(MAX_GAP_SECONDS * 48_000) + 1
    assert len(plan_windows(longest, 48_000, 10**6)) == 1
    with pytest.raises(RestoreError):
        plan_windows([(0, round(MAX_GAP_SECONDS * 48_000) + 2)], 48_000, 10**6)


def test_labels_round_trip(tmp_path):
    regions = [region(1.0, 1.5, "inpaint"), region(0.0, 3.0, "bandwidth", band_hz=[7000, 24000])]
    path = write_labels(tmp_path / "sub" / "marks.txt", label_rows(regions))
    assert read_labels(path) == [(1.0, 1.5), (0.0, 3.0)]
    assert "generated: bandwidth 7000-24000 Hz" in path.read_text()
    assert labels_text([(0.5, 1.0, "x")]) == "0.500000\t1.000000\tx\n"


def test_negative_gap_times_are_named_and_a_gap_just_past_the_end_is_clamped():
    for text in ("-1:0.5", "1:-2", "-0:00:01-0:00:02"):
        with pytest.raises(ValueError, match="negative"):
            parse_gap(text)
    assert merge_gaps([(9.5, 10.0001)], 10) == [(9.5, 10)]
    with pytest.raises(RestoreError, match="outside"):
        merge_gaps([(9.5, 10.1)], 10)
