"""Sidecar JSON: fixity values checked against independent computations."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import soundfile as sf

from restore import io
from restore.io import sidecar

RATE = 48_000


def test_sidecar_records_history_and_fixity(tmp_path, rng):
    source = tmp_path / "in.wav"
    sf.write(source, rng.uniform(-0.5, 0.5, (3000, 2)), RATE, subtype="PCM_16")
    audio, info = io.load(source)
    target = tmp_path / "out.flac"
    io.save(target, audio, RATE, like=info)
    path = sidecar.write_sidecar(target, command="restore inpaint in.wav -o out.flac",
                                 parameters={"steps": 8, "gaps": [[0.01, 0.02]]},
                                 inputs=[source], model={"id": "tiny", "sha256": "ab" * 32},
                                 timings={"total": 1.5},
                                 generated_regions=[{"start": 0.01, "end": 0.02}])
    assert path == tmp_path / "out.flac.restore.json"
    document = json.loads(path.read_text())
    assert document["format_version"] == 1 and document["tool"]["name"] == "restore"
    assert document["parameters"]["steps"] == 8 and document["model"]["id"] == "tiny"
    record_in, record_out = document["inputs"][0], document["output"]
    assert record_in["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert record_out["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    blob = source.read_bytes()
    start = blob.index(b"data") + 8
    assert record_in["audio_md5"]["md5"] == hashlib.md5(blob[start:start + 12_000]).hexdigest()
    # FLAC's STREAMINFO MD5 is the MD5 of the decoded 16-bit little-endian interleaved samples
    pcm = sf.read(target, dtype="int16")[0].astype("<i2").tobytes()
    assert record_out["audio_md5"]["md5"] == hashlib.md5(pcm).hexdigest()
    assert record_out["format"]["container"] == "FLAC" and record_out["format"]["frames"] == 3000
    assert document["generated_regions"] == [{"start": 0.01, "end": 0.02}]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".restore-part")] == []


def test_sidecar_is_replaced_atomically(tmp_path):
    target = tmp_path / "out.wav"
    io.save(target, np.zeros((1, 100), np.float32), RATE)
    first = sidecar.write_sidecar(target, command="a", parameters={}, inputs=[])
    second = sidecar.write_sidecar(target, command="b", parameters={}, inputs=[])
    assert first == second and json.loads(second.read_text())["command"] == "b"
