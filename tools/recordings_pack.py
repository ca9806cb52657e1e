"""Packs of real recordings for the GPU slices: train-split clips of the local corpus, balanced
over sources, none repeated across packs (docs/model.md, "Training in slices").

    python tools/recordings_pack.py corpus work_data/packs --mib 40 --count 3

Writes ``work_data/packs/pack-NNN`` (a corpus each, carried as ``.device_data/pack``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from data_prep import shards
from data_prep.bundle import copy_recordings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mib", type=float, default=40.0, help="FLAC budget per pack")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--exclude", type=Path, nargs="*", default=[],
                        help="corpora (e.g. a bundle's recordings) whose clips are not repeated")
    parser.add_argument("--split", default="train", choices=("train", "valid"))
    parser.add_argument("--renders", action="store_true",
                        help="take the corpus's music21 renders too (slices that carry no bundle)")
    args = parser.parse_args()
    used = set()
    for other in args.exclude:
        used |= {(c["track"], c.get("start_seconds")) for c in shards.read_manifest(other)["clips"]}
    for number in range(args.count):
        target = args.out / f"pack-{number:03d}"
        result = copy_recordings(args.corpus, target, args.mib, seed=1000 + number,
                                 split_shares=((args.split, 1.0),), exclude=used,
                                 renders=args.renders)
        used |= {(c["track"], c.get("start_seconds")) for c in result["clips"]}
        seconds = sum(c["frames"] for c in result["clips"]) / 48_000
        print(f"{target}: {len(result['clips'])} clips, {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
