"""``python -m restore.demo`` (``make demo``): restore the bundled damaged example.

The example (``restore/examples/damaged.wav``, 5 s of synthesised music at 22.05 kHz) has three
dropouts and a 5 kHz bandwidth. The demo fills the dropouts (``restore inpaint --detect``), then
extends the bandwidth to 48 kHz (``restore upsample --cutoff 5000``: the band the example was
made with; left to the estimate, its quiet music just below 5 kHz reads as a faint codec-like
edge, which keeps the band as it is), and says where the output is. With the
shipped default model (``restore/models/default.safetensors``) it uses the diffusion model;
without one it falls back to the classical methods (AR interpolation, sinc resampling) and says
so, since those cannot restore the missing band.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import click

from restore.checkpoint import default_model_path
from restore.cli import cli

OUTPUT_FOLDER = Path("demo_out")
EXAMPLE_BAND_HZ = 5000.0  # restore/examples/make_example.py's CUTOFF_HZ


def example_path() -> Path:
    return Path(str(resources.files("restore") / "examples" / "damaged.wav"))


def has_default_model() -> bool:
    return default_model_path().is_file()


def commands(example: Path, folder: Path, method: str) -> list[list[str]]:
    """The restore command lines the demo runs, in order."""
    filled, restored = folder / "example_inpainted.wav", folder / "example_restored.wav"
    common = ["--method", method, "--overwrite"]
    return [
        ["info", str(example)],
        ["inpaint", str(example), "--detect", "-o", str(filled), "--mark-labels",
         str(folder / "example_generated.txt"), *common],
        ["upsample", str(filled), "--rate", "48000", "--cutoff", f"{EXAMPLE_BAND_HZ:g}", "-o",
         str(restored), *common],
    ]


def main(folder: Path = OUTPUT_FOLDER, method: str | None = None) -> int:
    """Run the demo into ``folder``; ``method`` None: diffusion when a default model ships."""
    method = method or ("auto" if has_default_model() else "classical")
    if not has_default_model():
        click.echo("restore demo: no trained model is installed (restore/models/"
                   "default.safetensors); using the classical methods, which fill the gaps "
                   "but cannot add the missing band.")
    folder.mkdir(parents=True, exist_ok=True)
    for args in commands(example_path(), folder, method):
        click.echo(f"$ restore {' '.join(args)}")
        try:
            code = cli.main(args, prog_name="restore", standalone_mode=False)
        except SystemExit as stop:
            code = stop.code
        if code:
            return int(code)
    click.echo(f"\nrestored example: {folder / 'example_restored.wav'} "
               f"(history: {folder / 'example_restored.wav'}.restore.json, generated regions "
               f"as Audacity labels: {folder / 'example_generated.txt'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
