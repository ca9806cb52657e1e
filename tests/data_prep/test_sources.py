"""Sources: licences as a Debian copyright file states them, archives, MIDI truncation."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from data_prep import sources

DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: game

Files: *
Copyright: 2010 Someone
License: GPL-2+

Files: music/calm-*.ogg
       music/storm.ogg
Copyright: 2011 A Composer
License: CC-BY-SA-3.0

Files: debian/*
License: GPL-2+
"""


@pytest.fixture
def doc_folder(tmp_path, monkeypatch):
    (tmp_path / "game-music").mkdir()
    (tmp_path / "game-music" / "copyright").write_text(DEP5)
    (tmp_path / "old-style").mkdir()
    (tmp_path / "old-style" / "copyright").write_text(
        "This package is free software; you can redistribute it under the terms of the GNU "
        "General Public License as published by the Free Software Foundation; either version 2 "
        "of the License, or (at your option) any later version.\n")
    monkeypatch.setattr(sources, "DEBIAN_DOC", tmp_path)
    return tmp_path


def test_dep5_licence_per_file(doc_folder):
    calm = Path("/usr/share/game/music/calm-sea.ogg")
    assert sources.package_licence("game-music", calm).startswith("CC-BY-SA-3.0 (per ")
    other = Path("/usr/share/game/music/battle.ogg")
    assert sources.package_licence("game-music", other).startswith("GPL-2+ (per ")


def test_free_text_and_missing_copyright(doc_folder):
    assert sources.package_licence("old-style").startswith("GPL-2+ (per ")
    assert sources.package_licence("absent").startswith("unknown")


def test_audio_inside_archives_is_found(tmp_path):
    audio = tmp_path / "tone.wav"
    soundfile.write(audio, np.zeros(4800, np.float32), 48_000)
    with zipfile.ZipFile(tmp_path / "music.pk3", "w") as archive:
        archive.write(audio, "sound/tone.wav")
        archive.writestr("readme.txt", "not audio")
    audio.unlink()
    tracks = sources.folder_tracks(tmp_path, "x", source="set")
    assert [t.track for t in tracks] == ["set/music.pk3!sound/tone.wav"]
    samples, rate = tracks[0].load()
    assert rate == 48_000 and samples.shape == (4800,)


def test_long_midi_is_cut_with_timing_kept():
    mido = pytest.importorskip("mido")
    from data_prep.recipes.scores import truncate_midi

    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=1_000_000, time=0)])
    for _ in range(100):  # one note per beat, a beat lasting 1 s
        track += [mido.Message("note_on", note=60, velocity=80, time=0),
                  mido.Message("note_off", note=60, velocity=0, time=480)]
    song.tracks.append(track)
    assert song.length == pytest.approx(100.0)
    cut = truncate_midi(song, 10.5)
    assert cut.length <= 10.5
    onsets, elapsed = [], 0.0
    for message in cut:
        elapsed += message.time
        if message.type == "note_on":
            onsets.append(elapsed)
    assert onsets[:3] == pytest.approx([0.0, 1.0, 2.0], abs=2e-3) and len(onsets) == 11
    assert truncate_midi(song, 200.0) is song
