"""Music rendered from real scores: music21's corpus -> randomized General MIDI -> a SoundFont
synthesizer (FluidSynth here; tinysoundfont in :mod:`data_prep.bundle`).

Randomized per score (seeded): instrument program of every channel, tempo (x0.7 to x1.4),
velocity (x0.5 to x1.2, plus jitter), and for FluidSynth the SoundFont, gain, reverb and chorus.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

from data_prep.sources import Track, package_licence, read_audio_bytes

SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
SOUNDFONTS = (("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
              ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"))
PERCUSSION_CHANNEL = 9  # General MIDI channel 10
MELODIC_PROGRAMS = 112  # GM programs 0..111: pianos to ethnic; sound effects left out
MAX_SECONDS = 300.0
MAX_SCORE_BYTES = 50_000  # larger files (symphonic movements) take minutes to parse
MUSIC21_LICENCE = ("music21 corpus (BSD-3-Clause toolkit; scores public domain or as noted in "
                   "music21/corpus)")


def score_paths() -> list[Path]:
    """Paths of music21's bundled scores up to MAX_SCORE_BYTES (multi-tune .abc files give
    their first tune)."""
    from music21 import corpus

    return sorted(Path(p) for p in corpus.getCorePaths()
                  if Path(p).suffix in SCORE_SUFFIXES and Path(p).stat().st_size <= MAX_SCORE_BYTES)


def score_to_midi(path: Path) -> bytes:
    """Standard MIDI file of a score (the first score of an opus)."""
    import music21

    parsed = music21.converter.parse(str(path))
    if isinstance(parsed, music21.stream.Opus):
        parsed = parsed.scores[0]
    return music21.midi.translate.music21ObjectToMidiFile(parsed).writestr()


def randomize_midi(data: bytes, seed: int) -> tuple[bytes, dict]:
    """Re-orchestrate a MIDI file: a random program per channel, scaled tempo and velocities.

    Returns the new file and the parameters drawn.
    """
    import mido

    rng = np.random.default_rng(seed)
    song = mido.MidiFile(file=io.BytesIO(data))
    tempo_scale = float(rng.uniform(0.7, 1.4))
    velocity_scale = float(rng.uniform(0.5, 1.2))
    programs = {channel: int(rng.integers(MELODIC_PROGRAMS)) for channel in range(16)}
    used_channels: set[int] = set()
    for track in song.tracks:
        messages = [m for m in track if m.type != "program_change"]
        for message in messages:
            if message.type == "set_tempo":
                message.tempo = max(1, int(message.tempo / tempo_scale))
            elif message.type == "note_on" and message.velocity > 0:
                jitter = rng.normal(1.0, 0.08)
                message.velocity = int(np.clip(message.velocity * velocity_scale * jitter, 1, 127))
            if hasattr(message, "channel"):
                used_channels.add(message.channel)
        track[:] = messages
    head = [mido.Message("program_change", channel=c, program=programs[c], time=0)
            for c in sorted(used_channels) if c != PERCUSSION_CHANNEL]
    if not any(m.type == "set_tempo" for t in song.tracks for m in t):
        head.append(mido.MetaMessage("set_tempo", tempo=int(500_000 / tempo_scale), time=0))
    song.tracks[0][:0] = head
    song = truncate_midi(song, MAX_SECONDS)
    output = io.BytesIO()
    song.save(file=output)
    used = {str(c): programs[c] for c in sorted(used_channels) if c != PERCUSSION_CHANNEL}
    return output.getvalue(), {"tempo_scale": round(tempo_scale, 3), "programs": used,
                               "velocity_scale": round(velocity_scale, 3)}


def truncate_midi(song, max_seconds: float):
    """``song`` (a mido.MidiFile) cut after ``max_seconds``, as one track at a fixed tempo
    (timing kept), ending with all notes off; unchanged when it is short enough."""
    import mido

    if song.length <= max_seconds:
        return song
    ticks_per_second = 960  # 480 ticks per beat at 120 beats per minute
    out = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    elapsed, last_tick = 0.0, 0
    for message in song:  # merged tracks, times in seconds
        elapsed += message.time
        if elapsed > max_seconds:
            break
        if message.is_meta:
            continue
        tick = int(round(elapsed * ticks_per_second))
        track.append(message.copy(time=tick - last_tick))
        last_tick = tick
    track += [mido.Message("control_change", channel=c, control=123, value=0, time=0)
              for c in range(16)]
    out.tracks.append(track)
    return out


def _fluidsynth_options(rng: np.random.Generator) -> list[str]:
    reverb, chorus = rng.random() < 0.7, rng.random() < 0.4
    return [
        "-g", f"{rng.uniform(0.3, 0.8):.2f}",
        "-R", str(int(reverb)), "-C", str(int(chorus)),
        "-o", f"synth.reverb.room-size={rng.uniform(0.1, 0.95):.2f}",
        "-o", f"synth.reverb.damp={rng.uniform(0.0, 0.8):.2f}",
        "-o", f"synth.reverb.level={rng.uniform(0.2, 0.9):.2f}",
        "-o", f"synth.chorus.depth={rng.uniform(2.0, 12.0):.1f}",
        "-o", f"synth.chorus.level={rng.uniform(0.5, 2.0):.2f}",
    ]


def render_score(path: Path, seed: int, soundfont: str) -> tuple[np.ndarray, int]:
    """Parse, re-orchestrate and render one score with FluidSynth at 48 kHz (<= 5 minutes)."""
    midi, _ = randomize_midi(score_to_midi(path), seed)
    rng = np.random.default_rng(seed + 1)
    with tempfile.TemporaryDirectory() as folder:
        source, output = Path(folder) / "score.mid", Path(folder) / "render.wav"
        source.write_bytes(midi)
        subprocess.run(["fluidsynth", "-ni", "-q", "-T", "wav", "-r", "48000", "-F", str(output),
                        *_fluidsynth_options(rng), soundfont, str(source)],
                       check=True, capture_output=True, timeout=300)
        samples, rate = read_audio_bytes(output)
    return samples[: int(MAX_SECONDS * rate)], rate


def score_tracks(seed: int = 0, limit: int | None = None) -> list[Track]:
    """``limit`` (default 300) scores, drawn evenly over the corpus, each one track."""
    if shutil.which("fluidsynth") is None:
        return []
    fonts = [(font, package) for font, package in SOUNDFONTS if Path(font).exists()]
    if not fonts:
        return []
    paths = score_paths()
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.permutation(len(paths))[: limit or 300])
    tracks = []
    for index in chosen:
        path = paths[index]
        relative = path.as_posix().split("/corpus/", 1)[-1]
        track_seed = zlib.crc32(f"{seed}:{relative}".encode())
        font, package = fonts[track_seed % len(fonts)]
        licence = f"{MUSIC21_LICENCE}; SoundFont: {package_licence(package)}"
        loader = functools.partial(render_score, path, track_seed, font)
        tracks.append(Track(f"music21/{relative}", "music21+fluidsynth", licence, loader,
                            {"soundfont": Path(font).name}))
    return tracks
