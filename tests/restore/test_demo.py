"""The demo restores the bundled example; the example is small and reproducible."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import soundfile as sf

from restore import demo


def test_bundled_example_is_small_damaged_and_reproducible(tmp_path):
    example = demo.example_path()
    assert example.is_file() and example.stat().st_size < 1_000_000
    info = sf.info(str(example))
    assert (info.samplerate, info.channels) == (22_050, 2)
    spec = importlib.util.spec_from_file_location("make_example",
                                                  example.with_name("make_example.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    again = module.main(tmp_path / "again.wav")
    assert again.read_bytes() == example.read_bytes()


def test_demo_restores_the_example(tmp_path, capsys):
    """Classical methods keep the test fast; ``make demo`` uses the default model once shipped."""
    assert demo.main(tmp_path / "demo_out", method="classical") == 0
    printed = capsys.readouterr().out
    restored = tmp_path / "demo_out" / "example_restored.wav"
    assert f"restored example: {restored}" in printed
    info = sf.info(str(restored))
    assert info.samplerate == 48_000 and info.frames == 5 * 48_000
    labels = (tmp_path / "demo_out" / "example_generated.txt").read_text().splitlines()
    assert len(labels) == 3 and all("generated: inpaint" in line for line in labels)
    assert Path(f"{restored}.restore.json").is_file()


def test_the_demo_with_the_shipped_model_generates_the_missing_band(tmp_path):
    assert demo.has_default_model()
    assert demo.main(tmp_path / "demo_out") == 0
    sidecar = json.loads((tmp_path / "demo_out" / "example_restored.wav.restore.json").read_text())
    regions = sidecar["generated_regions"]
    assert regions and all(region["task"] == "bandwidth" for region in regions)
    assert sum(region["end"] - region["start"] for region in regions) > 4.0  # of 5 s
