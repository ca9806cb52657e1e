"""Build the bandwidth-estimator test set and print its error table (docs/io.md).

    python -m tools.bandwidth_testset build DIR     # sources and degraded files, manifest.json
    python -m tools.bandwidth_testset table DIR [--old COMMIT]   # markdown error table

Sources, all from this machine's Debian packages or synthesised: music21 melodies rendered by
FluidSynth (FluidR3_GM and TimGM6mb SoundFonts) on soft instruments; espeak-ng and festival
speech; sine tones. Full-band-but-dark variants: -20/-26 dB treble shelves above 4 kHz, a
5 kHz low-pass under -66 dBFS hiss, -40 LUFS and pianissimo renders (16-bit). Truly
band-limited ones: MP3 (lame), AAC (ffmpeg) and Opus decodes at several bitrates, telephone
speech (300-3400 Hz at 8 kHz), audio resampled down and up again (sox). The reference cutoff
of a degraded file is measured against its source: the highest frequency where the degraded
file's typical spectrum (median over 85 ms segments) is within 20 dB of the source's, where the
source is not silent (its own noise floor counts).

Needs ffmpeg, lame, sox, espeak-ng, festival (text2wave), fluidsynth and the SoundFonts; not
part of the installed package.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import ndimage, signal

from restore.cutoff import estimate_bandwidth

ROOT = Path(__file__).resolve().parents[1]

RATE = 48_000
FONTS = {"fluidr3": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
         "timgm": "/usr/share/sounds/sf2/TimGM6mb.sf2"}
MELODY = ["C4", "E4", "G4", "C5", "B4", "G4", "E4", "D4", "F4", "A4", "C5", "E5"]
INSTRUMENTS = {"flute": 73, "harp": 46, "choir": 52, "strings": 48, "piano": 0, "guitar": 24}
TEXT = ("The archive holds recordings of speech and music. Some were made on tape, others on "
        "lacquer discs, and each one is catalogued, checked and copied.")


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def render(path: Path, program: int, font: str, velocity: int, tempo: int = 80,
           rests: bool = False) -> None:
    """A music21 melody (a rest after every second note with ``rests``) through FluidSynth."""
    import music21

    stream = music21.stream.Stream([music21.tempo.MetronomeMark(number=tempo),
                                    music21.instrument.instrumentFromMidiProgram(program)])
    for index, pitch in enumerate(MELODY):
        note = music21.note.Note(pitch, quarterLength=1.0)
        note.volume.velocity = velocity
        stream.append(note)
        if rests and index % 2:
            stream.append(music21.note.Rest(quarterLength=1.0))
    midi = path.with_suffix(".mid")
    stream.write("midi", fp=str(midi))
    run("fluidsynth", "-ni", "-q", "-F", str(path), "-r", str(RATE), "-g", "0.6", FONTS[font],
        str(midi))
    midi.unlink()


def shelf(audio: np.ndarray, rate: int, gain_db: float, corner_hz: float = 4000.0) -> np.ndarray:
    """RBJ high shelf (slope 1) of ``gain_db`` above ``corner_hz``."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * corner_hz / rate
    alpha = np.sin(w) / 2 * np.sqrt(2)
    cos, root = np.cos(w), 2 * np.sqrt(a) * alpha
    b = [a * ((a + 1) + (a - 1) * cos + root), -2 * a * ((a - 1) + (a + 1) * cos),
         a * ((a + 1) + (a - 1) * cos - root)]
    den = [(a + 1) - (a - 1) * cos + root, 2 * ((a - 1) - (a + 1) * cos),
           (a + 1) - (a - 1) * cos - root]
    return signal.lfilter(b, den, audio, axis=0)


def write16(path: Path, audio: np.ndarray, rate: int, seed: int = 0) -> None:
    """16-bit with TPDF dither (what a careful transfer does)."""
    rng = np.random.default_rng(seed)
    dither = (rng.random(audio.shape) - rng.random(audio.shape)) / 32768
    sf.write(path, np.clip(audio + dither, -1, 1), rate, subtype="PCM_16")


def loudness_scaled(audio: np.ndarray, rate: int, lufs: float) -> np.ndarray:
    import pyloudnorm

    return audio * 10 ** ((lufs - pyloudnorm.Meter(rate).integrated_loudness(audio)) / 20)


def build_sources(folder: Path) -> list[dict]:
    entries = []
    for font in FONTS:
        for name, program in INSTRUMENTS.items():
            if font == "timgm" and name not in ("flute", "choir"):
                continue
            path = folder / f"{name}_{font}.wav"
            render(path, program, font, velocity=45)
            entries.append({"file": path.name, "kind": f"soft {name} ({font})", "source": None})
    render(folder / "piano_pp.wav", 0, "fluidr3", velocity=15)
    entries.append({"file": "piano_pp.wav", "kind": "pianissimo piano", "source": None})
    run("espeak-ng", "-w", str(folder / "speech_espeak.wav"), TEXT)
    run("text2wave", str(_text_file(folder)), "-o", str(folder / "speech_festival.wav"))
    entries += [{"file": "speech_espeak.wav", "kind": "speech (espeak-ng, 22.05 kHz)",
                 "source": None},
                {"file": "speech_festival.wav", "kind": "speech (festival, 16 kHz)",
                 "source": None}]
    t = np.arange(6 * RATE) / RATE
    tones = {"sine_1k_-6dBFS_16bit.wav": (0.5 * np.sin(2 * np.pi * 1000 * t), "PCM_16"),
             "sine_1k_-6dBFS_float.wav": (0.5 * np.sin(2 * np.pi * 1000 * t), "FLOAT"),
             "sine_440_-30dBFS_24bit.wav": (0.0316 * np.sin(2 * np.pi * 440 * t), "PCM_24"),
             "tones_100_3k_float.wav": (0.3 * np.sin(2 * np.pi * 100 * t)
                                        + 0.1 * np.sin(2 * np.pi * 3000 * t), "FLOAT")}
    for name, (audio, subtype) in tones.items():
        sf.write(folder / name, audio, RATE, subtype=subtype)
        entries.append({"file": name, "kind": "pure tone", "source": None})
    return entries


def _text_file(folder: Path) -> Path:
    path = folder / "text.txt"
    path.write_text(TEXT + "\n")
    return path


def build_dark(folder: Path) -> list[dict]:
    entries = []
    for name in ("strings_fluidr3.wav", "flute_fluidr3.wav", "choir_fluidr3.wav"):
        audio, rate = sf.read(folder / name)
        stem = name.removesuffix(".wav")
        rng = np.random.default_rng(len(stem))
        variants = {
            f"{stem}_shelf-20.wav": (shelf(audio, rate, -20.0), "treble shelf -20 dB above 4 kHz"),
            f"{stem}_shelf-26.wav": (shelf(audio, rate, -26.0), "treble shelf -26 dB above 4 kHz"),
            f"{stem}_lp5k_hiss-66.wav": (
                signal.sosfiltfilt(signal.butter(8, 5000, fs=rate, output="sos"), audio, axis=0)
                + 10 ** (-66 / 20) * rng.standard_normal(audio.shape),
                "low-passed at 5 kHz under -66 dBFS hiss"),
            f"{stem}_-40LUFS.wav": (loudness_scaled(audio, rate, -40.0), "-40 LUFS (16-bit)"),
        }
        for file, (variant, kind) in variants.items():
            write16(folder / file, variant, rate)
            entries.append({"file": file, "kind": kind, "source": name})
    return entries


def build_bright(folder: Path) -> list[dict]:
    """Brighter sources: sonic-pi samples (44.1 kHz FLAC) and a game-music excerpt (a Vorbis
    decode, itself band-limited near 18 kHz: used only as a source, not listed)."""
    samples = Path("/usr/share/sonic-pi/samples")
    entries = []
    for name in ("loop_amen_full", "ambi_choir", "guit_em9"):
        run("sox", str(samples / f"{name}.flac"), "-b", "24", str(folder / f"{name}.wav"))
        entries.append({"file": f"{name}.wav", "kind": f"sonic-pi {name}", "source": None})
    run("sox", "/usr/share/games/singularity/music/Awakening.ogg", "-b", "24",
        str(folder / "game_music.wav"), "trim", "30", "12")
    return entries


def build_band_limited(folder: Path) -> list[dict]:
    entries = []
    for name in ("piano_fluidr3.wav", "choir_fluidr3.wav", "loop_amen_full.wav",
                 "ambi_choir.wav", "game_music.wav"):
        stem, source = name.removesuffix(".wav"), folder / name
        for kbps in (48, 96, 128, 192):
            entries.append(_codec(folder, source, f"{stem}_mp3_{kbps}", "mp3", kbps))
        for kbps in (64, 128):
            entries.append(_codec(folder, source, f"{stem}_aac_{kbps}", "aac", kbps))
        for kbps in (24, 64):
            entries.append(_codec(folder, source, f"{stem}_opus_{kbps}", "opus", kbps))
        rate = sf.info(source).samplerate
        for low in (16_000, 22_050):
            file = f"{stem}_resampled_{low // 1000}k.wav"
            run("sox", "-G", str(source), "-e", "floating-point", "-b", "32", "-r", str(low),
                str(folder / "low.wav"), "rate", "-v")
            run("sox", str(folder / "low.wav"), "-e", "floating-point", "-b", "32",
                str(folder / file), "rate", "-v", str(rate))  # float: no clipping
            entries.append({"file": file, "kind": f"resampled via {low} Hz", "source": name})
    quiet = folder / "choir_quiet.wav"
    audio, rate = sf.read(folder / "choir_fluidr3.wav")
    write16(quiet, loudness_scaled(audio, rate, -37.0), rate)
    entries.append({"file": "choir_quiet.wav", "kind": "quiet choir (-37 LUFS)", "source": None})
    entry = _codec(folder, quiet, "choir_quiet_mp3_48", "mp3", 48)
    entries.append(entry | {"kind": "quiet choir, MP3 48 kbps"})
    for speech in ("speech_espeak.wav", "speech_festival.wav"):
        file = speech.replace(".wav", "_telephone.wav")
        run("sox", str(folder / speech), "-r", "8000", "-b", "16", str(folder / file),
            "sinc", "300-3400")
        entries.append({"file": file, "kind": "telephone speech (8 kHz)", "source": speech,
                        "nominal_hz": 3400.0})
        wide = file.replace(".wav", "_16k.wav")
        run("sox", str(folder / file), "-r", "16000", str(folder / wide), "rate", "-v")
        entries.append({"file": wide, "kind": "telephone speech stored at 16 kHz",
                        "source": speech, "nominal_hz": 3400.0})
    return entries


def _codec(folder: Path, source: Path, stem: str, codec: str, kbps: int) -> dict:
    encoded = folder / f"{stem}.{ {'mp3': 'mp3', 'aac': 'm4a', 'opus': 'opus'}[codec]}"
    if codec == "mp3":
        run("lame", "--quiet", "-b", str(kbps), str(source), str(encoded))
    elif codec == "aac":
        run("ffmpeg", "-y", "-v", "error", "-i", str(source), "-c:a", "aac", "-b:a",
            f"{kbps}k", str(encoded))
    else:
        run("ffmpeg", "-y", "-v", "error", "-i", str(source), "-c:a", "libopus", "-b:a",
            f"{kbps}k", str(encoded))
    decoded = folder / f"{stem}.wav"
    rate = sf.info(source).samplerate  # Opus decodes at 48 kHz: back to the source's rate
    run("ffmpeg", "-y", "-v", "error", "-i", str(encoded), "-ar", str(rate), "-c:a",
        "pcm_f32le", str(decoded))
    encoded.unlink()
    return {"file": decoded.name, "kind": f"{codec.upper()} {kbps} kbps decode",
            "source": source.name}


def reference_cutoff(degraded: np.ndarray, source: np.ndarray, rate: int
                     ) -> tuple[float, float]:
    """``(reference, source_edge)`` in Hz, from typical spectra (median over 85 ms segments, so
    a codec's sporadic frames above its cutoff do not count as kept).

    ``reference``: the highest frequency where ``degraded`` is within 20 dB of ``source`` (either
    way), over frequencies where the source is not silent (above -110 dBFS-equivalent: a
    recording's own noise floor counts, so this is where the codec or filter cut) and inside
    the source's own band (the game music is itself a Vorbis decode).
    ``source_edge``: the highest frequency where the source is above the estimator's floor
    (-90 dBFS-equivalent).
    """
    def spectrum(audio: np.ndarray) -> np.ndarray:
        _, power = signal.welch(audio.T, fs=rate, nperseg=4096, axis=-1, average="median")
        power = np.atleast_2d(power).mean(axis=0)
        return ndimage.uniform_filter1d(power, 9)

    frames = min(len(degraded), len(source))
    ours, theirs = spectrum(degraded[:frames]), spectrum(source[:frames])
    frequency = np.fft.rfftfreq(4096, 1 / rate)
    floor = 10 ** (-90 / 10) / (rate / 2)
    band = frequency <= estimate_bandwidth(source.T, rate).cutoff_hz
    kept = (ours > 0.01 * theirs) & (ours < 100 * theirs) & (theirs > 0.01 * floor) & band
    reference = float(frequency[np.flatnonzero(kept)[-1]]) if kept.any() else 0.0
    content = np.flatnonzero(theirs > floor)
    return reference, float(frequency[content[-1]]) if content.size else 0.0


def build(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    entries = (build_sources(folder) + build_dark(folder) + build_bright(folder)
               + build_band_limited(folder))
    for entry in entries:
        audio, rate = sf.read(folder / entry["file"], always_2d=True)
        entry["rate"] = rate
        if entry["source"] is None or entry["kind"].startswith(("treble", "low-passed", "-40")):
            entry["truth_hz"] = None  # full band
            continue
        source, source_rate = sf.read(folder / entry["source"], always_2d=True)
        if source_rate != rate:
            with tempfile.TemporaryDirectory() as temp:
                run("sox", str(folder / entry["source"]), "-r", str(rate), f"{temp}/s.wav")
                source, _ = sf.read(f"{temp}/s.wav", always_2d=True)
        reference, source_edge = reference_cutoff(audio, source, rate)
        entry["truth_hz"] = entry.get("nominal_hz") or round(reference, 1)
        entry["source_edge_hz"] = round(source_edge, 1)
    (folder / "manifest.json").write_text(json.dumps(entries, indent=1))
    print(f"{len(entries)} files in {folder}")


def old_estimator(commit: str, name: str = "estimate_cutoff_hz"):
    """Function ``name`` of restore.analysis at ``commit`` (before this work)."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:restore/analysis.py"],
                          check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "old_analysis.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_analysis", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_analysis"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return getattr(module, name)


def verdict(estimate: float, nyquist: float, truth: float | None,
            source_edge: float | None) -> str:
    """``ok``; ``missed``; ``wrong``. A band-limited file whose source had nothing typically
    above the floor (-90 dBFS-equivalent) beyond the cutoff lost only its noise floor: full
    band is right too (the conservative answer)."""
    if truth is None or truth >= 0.95 * nyquist:
        return "ok" if estimate >= nyquist else "**wrong: called band-limited**"
    if estimate >= nyquist:
        if source_edge is not None and source_edge - truth < max(1000.0, 0.05 * nyquist):
            return "ok: nothing above the floor lost"
        return "missed (kept as full band)"
    tolerance = max(500.0, 0.03 * nyquist)
    if estimate < truth - tolerance:
        if source_edge is not None and source_edge <= estimate + tolerance:
            return f"ok ({estimate - truth:+.0f} Hz, only content below the floor above it)"
        return f"**wrong: {estimate - truth:+.0f} Hz, real content replaced**"
    return f"ok ({estimate - truth:+.0f} Hz)"


def table(folder: Path, old_commit: str | None) -> None:
    entries = json.loads((folder / "manifest.json").read_text())
    old = old_estimator(old_commit) if old_commit else None
    head = "| file | material | reference | estimate (drop, floor above) | verdict |"
    if old:
        head = head.replace("| estimate", "| before | estimate")
    print(head)
    print("|" + " --- |" * head.count(" | ") + " --- |")
    counts: dict[str, int] = {}
    for entry in entries:
        audio, rate = sf.read(folder / entry["file"], always_2d=True)
        nyquist, truth = rate / 2, entry["truth_hz"]
        result = estimate_bandwidth(audio.T, rate)
        shown = ("full band" if not result.band_limited else f"{result.cutoff_hz:.0f} Hz "
                 f"({result.drop_db:.0f} dB, {result.floor_dbfs:.0f} dBFS)")
        reference = "full band" if truth is None or truth >= 0.95 * nyquist else f"{truth:.0f} Hz"
        cells = [entry["file"], f"{entry['kind']}, {rate / 1000:g} kHz", reference]
        if old:
            before = old(audio.T, rate)
            cells.append("full band" if before >= nyquist else f"{before:.0f} Hz")
        cells += [shown, verdict(result.cutoff_hz, nyquist, truth, entry.get("source_edge_hz"))]
        print("| " + " | ".join(cells) + " |")
        group = "full band" if reference == "full band" else "band-limited"
        key = f"{group}: {cells[-1].split(' (')[0].strip('*').split(':')[0]}"
        counts[key] = counts.get(key, 0) + 1
    print("\n" + ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["build", "table"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--old", default=None, help="commit whose estimator to compare with")
    arguments = parser.parse_args()
    if arguments.action == "build":
        build(arguments.folder)
    else:
        table(arguments.folder, arguments.old)


if __name__ == "__main__":
    main()
