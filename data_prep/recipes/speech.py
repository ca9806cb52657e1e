"""Synthetic speech: espeak-ng (English voices, varied variants, rates and pitches) and Festival
(kal diphone and the SLT HTS voice), reading English prose from the system's licence texts."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from data_prep.sources import Track, package_licence, read_audio_bytes

TEXT_FOLDER = Path("/usr/share/common-licenses")
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                 "en-gb-x-gbcwmd", "en-029")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "croak", "klatt", "klatt2", "klatt3", "whisper")
FESTIVAL_VOICES = (("kal_diphone", "festvox-kallpc16k"), ("cmu_us_slt_arctic_hts",
                                                          "festvox-us-slt-hts"))
CHUNK_CHARACTERS = (600, 1400)


def prose_chunks(seed: int) -> list[str]:
    """Paragraph-sized pieces of the licence texts (plain English prose), in a seeded order."""
    words: list[str] = []
    for path in sorted(TEXT_FOLDER.glob("*")):
        if path.is_file() and path.stat().st_size < 200_000:
            words += path.read_text(errors="replace").split()
    rng = np.random.default_rng(seed)
    chunks, start = [], 0
    while start < len(words):
        size = int(rng.integers(*CHUNK_CHARACTERS)) // 6
        chunks.append(" ".join(words[start:start + size]))
        start += size
    return [chunks[i] for i in rng.permutation(len(chunks))]


def _espeak(text: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as folder:
        output, source = Path(folder) / "speech.wav", Path(folder) / "text.txt"
        source.write_text(text)
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch),
                        "-w", str(output), "-f", str(source)], check=True, capture_output=True,
                       timeout=600)
        return read_audio_bytes(output)


def _festival(text: str, voice: str, stretch: float) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as folder:
        output, source = Path(folder) / "speech.wav", Path(folder) / "text.txt"
        source.write_text(text)
        subprocess.run(["text2wave", "-o", str(output), "-eval", f"(voice_{voice})",
                        "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.2f})",
                        str(source)], check=True, capture_output=True, timeout=900)
        return read_audio_bytes(output)


def speech_tracks(seed: int = 0, limit: int | None = None) -> list[Track]:
    """``limit`` (default 60) speech tracks; about a third Festival when text2wave exists."""
    has_espeak, has_festival = shutil.which("espeak-ng"), shutil.which("text2wave")
    if not (has_espeak or has_festival):
        return []
    rng = np.random.default_rng(seed)
    tracks = []
    for index, text in enumerate(prose_chunks(seed)[: limit or 60]):
        if has_festival and (not has_espeak or rng.random() < 0.35):
            voice, package = FESTIVAL_VOICES[int(rng.integers(len(FESTIVAL_VOICES)))]
            stretch = float(rng.uniform(0.8, 1.3))
            loader = functools.partial(_festival, text, voice, stretch)
            extra = {"voice": voice, "stretch": round(stretch, 2)}
        else:
            voice = (f"{rng.choice(ESPEAK_VOICES)}+{rng.choice(ESPEAK_VARIANTS)}")
            rate, pitch = int(rng.integers(110, 220)), int(rng.integers(20, 80))
            package = "espeak-ng"
            loader = functools.partial(_espeak, text, voice, rate, pitch)
            extra = {"voice": voice, "rate_wpm": rate, "pitch": pitch}
        tracks.append(Track(f"speech/{index:04d}-{voice}", package, _speech_licence(package),
                            loader, extra))
    return tracks


@functools.lru_cache(maxsize=8)
def _speech_licence(package: str) -> str:
    return (f"voice: {package_licence(package)}; text: licence texts of "
            f"{TEXT_FOLDER} (verbatim copying permitted)")
