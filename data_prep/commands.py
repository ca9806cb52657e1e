"""Commands of ``python -m data_prep`` (thin layers over the library functions)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from data_prep import shards
from data_prep.bundle import make_bundle, render_bundle
from data_prep.cli import Progress, main
from data_prep.corpus import SplitShares, build_corpus
from data_prep.materialize import materialize_pairs
from data_prep.pack import merge_corpora, pack_corpus
from data_prep.processing import ClipOptions
from data_prep.recipes import RECIPES
from data_prep.sources import folder_tracks

out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                          required=True, help="Output folder.")


@main.command()
@out_option
@click.option("--folder", "folders", multiple=True, type=click.Path(exists=True, file_okay=False,
              path_type=Path), help="A folder of your own audio (recursive); repeatable.")
@click.option("--licence", default="user-supplied", show_default=True,
              help="Licence recorded for --folder material.")
@click.option("--recipe", "recipes", multiple=True, type=click.Choice(sorted(RECIPES)),
              help="Built-in recipe; repeatable. Default: all when no --folder is given.")
@click.option("--limit", type=int, default=None, help="Cap on generated tracks per recipe "
              "(scores, speech).")
@click.option("--clip-seconds", type=float, default=4.0, show_default=True)
@click.option("--target-lufs", type=float, default=-23.0, show_default=True)
@click.option("--valid-share", type=float, default=0.05, show_default=True)
@click.option("--test-share", type=float, default=0.05, show_default=True)
@click.option("--shard-seconds", type=float, default=300.0, show_default=True,
              help="Audio per shard (300 s of 16-bit audio is at most 27.5 MiB raw).")
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True)
def corpus(out_dir, folders, licence, recipes, limit, clip_seconds, target_lufs, valid_share,
           test_share, shard_seconds, workers, seed, quiet) -> None:
    """Build (or resume) a corpus: 48 kHz mono clips in FLAC shards plus manifest.json."""
    tracks = [t for folder in folders for t in folder_tracks(folder, licence)]
    for name in recipes or ([] if folders else sorted(RECIPES)):
        tracks += RECIPES[name](seed, limit)
    if not tracks:
        raise click.UsageError("no source tracks found (install the recipe's packages or "
                               "give --folder)")
    options = ClipOptions(clip_seconds=clip_seconds, target_lufs=target_lufs, seed=seed)
    progress = Progress("corpus", quiet)
    manifest = build_corpus(tracks, out_dir, options, workers=workers, callback=progress,
                            shares=SplitShares(valid=valid_share, test=test_share),
                            shard_seconds=shard_seconds)
    progress.close()
    warn_skipped(manifest)
    if not quiet:
        click.echo(summary(manifest, out_dir))


def warn_skipped(manifest: dict, shown: int = 20) -> None:
    """One warning line on stderr per skipped source (the first ``shown``), then a count."""
    for entry in manifest["skipped"][:shown]:
        click.echo(f"data_prep: warning: skipped {entry['track']}: {entry['reason']}", err=True)
    if len(manifest["skipped"]) > shown:
        click.echo(f"data_prep: warning: {len(manifest['skipped']) - shown} more sources "
                   "skipped (see manifest.json)", err=True)


def summary(manifest: dict, out_dir: Path) -> str:
    """One paragraph: hours per split, clips, skipped sources, size on disk."""
    seconds = shards.split_seconds(manifest)
    size = sum((out_dir / shard["file"]).stat().st_size for shard in manifest["shards"])
    parts = ", ".join(f"{split} {seconds[split] / 3600:.2f} h" for split in shards.SPLITS)
    return (f"{out_dir}: {parts}; {len(manifest['clips'])} clips in {len(manifest['shards'])} "
            f"shards, {size / 2**20:.1f} MiB; skipped sources: {len(manifest['skipped'])}; "
            f"duplicate clips dropped: {manifest.get('duplicates_dropped', 0)}")


@main.command()
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(corpus_dir, as_json) -> None:
    """Durations per split, sources and size on disk of a corpus."""
    manifest = shards.read_manifest(corpus_dir)
    if as_json:
        per_source: dict[str, float] = {}
        for clip in manifest["clips"]:
            key = f"{clip['split']}/{clip['source']}"
            per_source[key] = per_source.get(key, 0.0) + clip["frames"] / manifest["sample_rate"]
        click.echo(json.dumps({"seconds": shards.split_seconds(manifest),
                               "seconds_per_split_and_source": per_source}, indent=1))
    else:
        click.echo(summary(manifest, corpus_dir))


@main.command()
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@out_option
@click.option("--max-mib", type=float, default=60.0, show_default=True)
@click.option("--split", "splits", multiple=True, type=click.Choice(shards.SPLITS),
              help="Splits to pack (repeatable; default all).")
@click.option("--max-packs", type=int, default=None)
def pack(corpus_dir, out_dir, max_mib, splits, max_packs) -> None:
    """Split a corpus into self-contained packs of at most --max-mib MiB each."""
    for folder in pack_corpus(corpus_dir, out_dir, max_mib=max_mib,
                              splits=splits or shards.SPLITS, max_packs=max_packs):
        click.echo(summary(shards.read_manifest(folder), folder))


@main.command()
@click.argument("corpora", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@out_option
def merge(corpora, out_dir) -> None:
    """Merge corpora (packs, rendered bundles) into one corpus folder."""
    click.echo(summary(merge_corpora(corpora, out_dir), out_dir))


@main.command("make-bundle")
@click.argument("bundle_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--corpus", "corpus_dir", type=click.Path(exists=True, file_okay=False,
              path_type=Path), help="Corpus to take real recordings from.")
@click.option("--scores", type=int, default=400, show_default=True)
@click.option("--variants", type=int, default=3, show_default=True,
              help="Randomized orchestrations per score.")
@click.option("--recordings-mib", type=float, default=20.0, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True)
def make_bundle_command(bundle_dir, corpus_dir, scores, variants, recordings_mib, workers,
                        seed, quiet) -> None:
    """Write a portable bundle (MIDI + SF3 SoundFont + real recordings) for render-bundle."""
    progress = Progress("scores", quiet)
    description = make_bundle(bundle_dir, corpus_dir, scores=scores, variants=variants,
                              recordings_mib=recordings_mib, seed=seed, workers=workers,
                              callback=progress)
    progress.close()
    size = sum(p.stat().st_size for p in Path(bundle_dir).rglob("*") if p.is_file())
    click.echo(f"{bundle_dir}: {len(description['midi'])} MIDI files, "
               f"{len(description['skipped'])} scores skipped, {size / 2**20:.1f} MiB")


@main.command("render-bundle")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@out_option
@click.option("--workers", type=int, default=1, show_default=True)
@click.option("--quiet", is_flag=True)
def render_bundle_command(bundle_dir, out_dir, workers, quiet) -> None:
    """Render a bundle into a corpus (tinysoundfont; no FluidSynth needed)."""
    progress = Progress("render", quiet)
    manifest = render_bundle(bundle_dir, out_dir, workers=workers, callback=progress)
    progress.close()
    warn_skipped(manifest)
    click.echo(summary(manifest, out_dir))


@main.command()
@click.option("--corpus", "corpus_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path))
@out_option
@click.option("--per-clip", type=int, default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", type=click.Choice(shards.SPLITS), default="test", show_default=True)
@click.option("--max-clips", type=int, default=None)
@click.option("--codec-share", type=float, default=0.25, show_default=True,
              help="Share of bandwidth pairs made with MP3/Vorbis instead of filters.")
@click.option("--quiet", is_flag=True)
def pairs(corpus_dir, out_dir, per_clip, seed, split, max_clips, codec_share, quiet) -> None:
    """Materialize (clean, degraded, mask, task, params) pairs for inspection or evaluation."""
    progress = Progress("pairs", quiet)
    description = materialize_pairs(corpus_dir, out_dir, per_clip=per_clip, seed=seed,
                                    split=split, max_clips=max_clips, codec_share=codec_share,
                                    callback=progress)
    progress.close()
    click.echo(f"{out_dir}: {len(description['pairs'])} pairs")
