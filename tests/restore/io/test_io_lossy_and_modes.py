"""Lossy inputs are written losslessly; outputs and sidecars get the usual file mode."""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from restore import io


def _mp3(path, rate=44_100):
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    try:
        sf.write(path, tone, rate, format="MP3")
    except (sf.LibsndfileError, TypeError, ValueError) as error:
        pytest.skip(f"this libsndfile cannot write MP3: {error}")


def test_lossy_input_becomes_pcm_24_wav(tmp_path):
    source, output = tmp_path / "in.mp3", tmp_path / "out.wav"
    _mp3(source)
    audio, info = io.load(source)
    assert info.subtype == "MPEG_LAYER_III"
    io.save(output, audio, info.sample_rate, like=info)
    assert sf.info(str(output)).subtype == "PCM_24"


def test_lossy_subtype_is_refused_clearly(tmp_path):
    from restore.errors import RestoreError

    with pytest.raises(RestoreError, match="not valid for WAV"):
        io.save(tmp_path / "out.wav", np.zeros((1, 10), np.float32), 48_000,
                subtype="MPEG_LAYER_III")


def test_outputs_and_sidecars_get_the_umask_mode(tmp_path):
    source = tmp_path / "in.wav"
    sf.write(source, np.zeros(4800, np.float32), 48_000, subtype="PCM_16")
    output = tmp_path / "out.wav"
    script = ("import os, sys; os.umask(0o022); from restore.cli import main; "
              "sys.argv = ['restore', 'convert', sys.argv[1], '-o', sys.argv[2]]; main()")
    subprocess.run([sys.executable, "-c", script, str(source), str(output)], check=True)
    for path in (output, tmp_path / "out.wav.restore.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path
