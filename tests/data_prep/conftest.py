"""Fixtures of the data_prep tests: small synthetic source folders and corpora."""

from __future__ import annotations

import numpy as np
import pytest

from data_prep.corpus import SplitShares, build_corpus
from data_prep.processing import ClipOptions
from data_prep.sources import folder_tracks


def _make_sources(folder, count: int = 8) -> None:
    """Steady coloured noise tracks (some 44.1 kHz stereo), a corrupt file and a duplicate."""
    rng = np.random.default_rng(0)
    import soundfile

    folder.mkdir()
    for index in range(count):
        rate = 44_100 if index % 2 else 48_000
        seconds = 3.2 + index * 0.4
        noise = rng.standard_normal((int(seconds * rate), 2 if index % 3 == 0 else 1))
        tilt = np.ones(1 + index) / (1 + index)  # a different low-pass per track
        noise = np.stack([np.convolve(c, tilt, "same") for c in noise.T], axis=1)
        level = 10 ** (rng.uniform(-30, -6) / 20) / np.abs(noise).max()
        silence = np.zeros((rate // 2, noise.shape[1]))  # trimmed off the ends
        soundfile.write(folder / f"track{index}.wav", np.vstack([silence, noise * level, silence]),
                        rate)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(200))
    data, rate = soundfile.read(folder / "track1.wav")
    soundfile.write(folder / "copy-of-track1.wav", data * 0.5, rate)



@pytest.fixture(scope="session")
def make_sources():
    """``make_sources(folder, count=8)``: write synthetic source files into ``folder``."""
    return _make_sources


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A corpus of 1 s clips from 8 synthetic tracks, all three splits present."""
    root = tmp_path_factory.mktemp("tiny")
    _make_sources(root / "audio")
    build_corpus(folder_tracks(root / "audio", "test-licence"), root / "corpus",
                 ClipOptions(clip_seconds=1.0), shares=SplitShares(valid=0.3, test=0.3),
                 shard_seconds=5.0)
    return root / "corpus"
