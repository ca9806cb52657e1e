"""Sources and sinks: an array and a file give the task pipelines the same audio."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from restore.tasks.source import ArraySink, ArraySource, FileSink, FileSource


def test_array_and_file_sources_read_alike_with_zeros_outside(tmp_path) -> None:
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 3000)).astype(np.float32)
    sf.write(tmp_path / "in.wav", audio.T, 8000, subtype="FLOAT")
    array, file = ArraySource(audio, 8000), FileSource(tmp_path / "in.wav")
    assert (file.sample_rate, file.channels, file.frames) == (8000, 2, 3000)
    for start, length in ((-100, 300), (2900, 250), (-5, 3010), (500, 0)):
        window = array.read(start, length)
        np.testing.assert_array_equal(window, file.read(start, length))
        inside = slice(max(0, -start), max(0, min(length, 3000 - start)))
        assert not window[:, :inside.start].any() and not window[:, inside.stop:].any()
    np.testing.assert_array_equal(np.concatenate(list(file.blocks()), axis=1), audio)


def test_sinks_keep_blocks_and_a_file_sink_clips_integer_formats(tmp_path) -> None:
    blocks = [np.full((1, 100), 0.25, np.float32), np.full((1, 50), 1.5, np.float32)]
    array = ArraySink()
    with array.open(8000, 1) as out:
        for block in blocks:
            out.write(block)
    np.testing.assert_array_equal(array.result(), np.concatenate(blocks, axis=1))
    sink = FileSink(tmp_path / "out.wav", subtype="PCM_24")
    with sink.open(8000, 1) as out:
        for block in blocks:
            out.write(block)
    written, _ = sf.read(tmp_path / "out.wav", always_2d=True)
    assert sink.over_full_scale == 50 and written.max() <= 1.0
