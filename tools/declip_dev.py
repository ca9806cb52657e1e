"""Declip tuning on the corpus's train or valid split (never the test split).

Cuts music and speech clips the way :mod:`evaluation.repair_cases` cuts the test split's,
clips each to an input SDR of 3 and 7 dB, runs the shipped classical declipper (or A-SPADE with
overridden :class:`restore.classical.declip.SpadeSettings`), and prints the SDR improvement
per clip and per condition, with the CPU time. Per-clip results go to ``--out`` as JSON.

    python -m tools.declip_dev --split valid --clips 6 --seconds 3 \\
        --settings '{"window_seconds": 0.1707}' --out runs/declip_dev/w8192.json
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click
import numpy as np

import restore
from evaluation.repair_cases import _sdr, clip_level_for, load_clips_of_kind
from restore.classical.clip_detect import clipped_mask, detect_clipping
from restore.classical.declip import SPADE, spade_declip
from restore.config import MODEL_RATE


def dev_cases(corpus: Path, split: str, clips: int, seconds: float, seed: int,
              input_sdrs: list[float], kinds: list[str]) -> list[dict]:
    """``{kind, sdr, index, reference, degraded}`` for every kind, input SDR and clip."""
    if split == "test":
        raise click.BadParameter("tune on train or valid, never on test", param_hint="--split")
    cases = []
    for kind in kinds:
        references = load_clips_of_kind(corpus, clips, seconds, seed, speech=kind == "speech",
                                        split=split)
        for input_sdr in input_sdrs:
            for index, reference in enumerate(references):
                level = clip_level_for(reference, input_sdr)
                degraded = np.clip(reference, -level, level).astype(np.float32)
                cases.append(dict(kind=kind, sdr=input_sdr, index=index, reference=reference,
                                  degraded=degraded))
    return cases


def declipper(settings_json: str | None):
    """``degraded [channels, frames] -> restored``: the shipped path, or A-SPADE with the
    given settings overrides on the same measured clip levels."""
    if settings_json is None:
        return lambda degraded: restore.declip(degraded, MODEL_RATE, method="classical")
    settings = dataclasses.replace(SPADE, **json.loads(settings_json))

    def run(degraded: np.ndarray) -> np.ndarray:
        mask = clipped_mask(degraded, detect_clipping(degraded))
        return spade_declip(degraded, mask, MODEL_RATE, settings)
    return run


@click.command()
@click.option("--data", "corpus", type=click.Path(path_type=Path), default=Path("corpus"))
@click.option("--split", default="valid", show_default=True)
@click.option("--clips", default=6, show_default=True, help="Clips per kind.")
@click.option("--seconds", default=3.0, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--sdrs", default="3,7", show_default=True, help="Input SDRs in dB.")
@click.option("--kinds", default="music,speech", show_default=True)
@click.option("--settings", "settings_json", default=None,
              help="JSON overrides of SpadeSettings (default: the shipped restore.declip).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="JSON of the per-clip results; an .npz beside it holds the outputs.")
def main(corpus: Path, split: str, clips: int, seconds: float, seed: int, sdrs: str,
         kinds: str, settings_json: str | None, out: Path | None) -> None:
    cases = dev_cases(corpus, split, clips, seconds, seed,
                      [float(value) for value in sdrs.split(",")], kinds.split(","))
    run = declipper(settings_json)
    rows, outputs = [], {}
    for case in cases:
        start = time.process_time()
        restored = run(case["degraded"])
        cpu = time.process_time() - start
        outputs[f"{case['kind']}_{case['sdr']:g}_{case['index']}"] = restored
        gain = _sdr(restored, case["reference"]) - _sdr(case["degraded"], case["reference"])
        rows.append(dict(kind=case["kind"], sdr=case["sdr"], index=case["index"], gain=gain,
                         cpu=cpu, clipped=float(np.mean(restored != case["degraded"]))))
        print(f"{case['kind']:6s} {case['sdr']:g} dB clip {case['index']}: {gain:+.2f} dB "
              f"({cpu:.1f} s CPU)", flush=True)
    for kind in kinds.split(","):
        for input_sdr in sdrs.split(","):
            chosen = [row for row in rows
                      if row["kind"] == kind and row["sdr"] == float(input_sdr)]
            if chosen:
                gain = np.mean([row["gain"] for row in chosen])
                print(f"{kind} {input_sdr} dB: mean gain {gain:+.2f} dB, CPU "
                      f"{sum(row['cpu'] for row in chosen):.1f} s for "
                      f"{len(chosen) * seconds:g} s of audio")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(dict(settings=settings_json, split=split, seed=seed,
                                       seconds=seconds, rows=rows), indent=1))
        np.savez(out.with_suffix(".npz"), **outputs)


if __name__ == "__main__":
    main()
