"""``python -m evaluation run`` (quality report), ``python -m evaluation bench`` (speed) and
``python -m evaluation abpage`` (blind A/B listening page for transitions)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from evaluation.abpage import write_ab_page
from evaluation.bench import MODEL_FREE_TASKS, TASKS, markdown_table, run_bench, settings
from evaluation.evaluate import Plan, evaluate, load_model_for_evaluation, resolve_device
from evaluation.report import json_safe
from restore.diffusion.precision import PRECISIONS
from restore.errors import RestoreError
from restore.io.atomic import write_text


def _parse_list(text: str, kind: type) -> tuple:
    try:
        return tuple(kind(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise click.BadParameter(f"expected a comma-separated list, got {text!r}") from None


@click.group()
def main() -> None:
    """Evaluate restore: quality against classical baselines (run), speed (bench) and a blind
    listening page for transitions between recordings (abpage)."""


@main.command()
@click.option("--model", "model_spec", default="default", show_default=True,
              help="Model file, 'default' (shipped model), 'random' (untrained tiny model) or "
                   "'none' (baselines only).")
@click.option("--data", "corpus", required=True, type=click.Path(path_type=Path),
              help="Corpus folder (data_prep format); cases come from its test split.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Report folder: report.md, report.json, index.html, audio/, spectrograms/.")
@click.option("--quick", is_flag=True, help="CI-sized run: 2 clips of 4 s per condition.")
@click.option("--steps", default="", help="Comma-separated step counts, e.g. 4,8,16,32 "
              "(default: the model's own).")
@click.option("--clips", type=int, default=None, help="Clips per condition (default 16, quick 2).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--via", type=click.Choice(["api", "generate"]), default=None,
              help="Run the model through restore's task API or generate() directly "
                   "(default: the API when it exists).")
@click.option("--tasks", default="", help="Comma-separated tasks to run (inpaint, bandwidth, "
              "transition, declip, declick; default: all).")
@click.option("--conditions", default="", help="Comma-separated conditions to run, e.g. "
              "gap_200ms,gap_1000ms,bridge_1s (default: all).")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="--no-baselines runs the model alone: for comparing two models on the same "
                   "cases (tools/compare_models.py); the issue bars need the baselines.")
def run(model_spec, corpus, out_dir, quick, steps, clips, seed, device, via, tasks,
        conditions, baselines) -> None:
    """Model and every classical baseline on the same seeded cases; writes the report."""
    plan = Plan.quick() if quick else Plan()
    chosen = _parse_list(tasks, str)
    known = ("inpaint", "bandwidth", "transition", "declip", "declick")
    if set(chosen) - set(known):
        raise click.BadParameter(f"unknown tasks {sorted(set(chosen) - set(known))}; "
                                 f"choose from {list(known)}")
    plan = dataclasses.replace(plan, seed=seed, clips=clips or plan.clips,
                               tasks=chosen or None,
                               conditions=_parse_list(conditions, str) or None,
                               baselines=baselines)
    if model_spec == "none" and not baselines:
        raise click.BadParameter("--model none --no-baselines would run nothing")
    device = resolve_device(device)
    model = load_model_for_evaluation(model_spec, device)

    def progress(event: dict) -> None:
        if event["done"] == event["total"]:
            line = f"{event['task']:>10} {event['method']:<12} {event['total']} cases"
            click.echo(line, err=True)

    report = evaluate(model, corpus, out_dir, plan=plan, steps=_parse_list(steps, int),
                      device=device, via=via, callback=progress)
    click.echo(f"wrote {out_dir / 'report.md'}, {out_dir / 'report.json'}, "
               f"{out_dir / 'index.html'} ({len(report['tasks'])} tasks)")


@main.command()
@click.option("--model", "model_spec", default="default", show_default=True,
              help="Model file, 'default' (shipped model) or 'random' (untrained tiny model).")
@click.option("--out", "out_dir", default="bench_out", show_default=True,
              type=click.Path(path_type=Path), help="Folder for bench.json and bench.md.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--steps", default="", help="Comma-separated step counts (default: model's own).")
@click.option("--minutes", default="1,10,60", show_default=True,
              help="Comma-separated input lengths in minutes.")
@click.option("--tasks", default="upsample,inpaint,transition", show_default=True)
@click.option("--quick", is_flag=True, help="CPU-sized run: inputs of 5 and 20 seconds.")
@click.option("--precision", "precisions", default="fp32", show_default=True,
              help="Comma-separated network precisions: auto (bf16 where native), fp32, bf16.")
@click.option("--batch-size", "batch_sizes", default="",
              help="Comma-separated windows per batch (default: the device's, 4 CPU / 32 CUDA).")
@click.option("--compile", "compile_mode", type=click.Choice(["off", "on", "both"]),
              default="off", show_default=True,
              help="torch.compile the network (CUDA, or a CPU with a C++ compiler).")
@click.option("--warmup/--no-warmup", default=None,
              help="Untimed warm-up runs before each setting (default: on CUDA and for compiled "
                   "settings).")
def bench(model_spec, out_dir, device, steps, minutes, tasks, quick, precisions, batch_sizes,
          compile_mode, warmup) -> None:
    """x real time, peak RSS / GPU memory and FLOPs per audio second, per task, steps, length,
    precision, batch size and compilation."""
    chosen = _parse_list(tasks, str)
    unknown = sorted(set(chosen) - set(TASKS))
    if unknown or not chosen:
        raise click.BadParameter(f"unknown tasks {unknown}; choose from {list(TASKS)}")
    if model_spec == "none" and not set(chosen) <= set(MODEL_FREE_TASKS):
        raise click.BadParameter("the benchmark needs a model ('default', 'random' or a file)")
    chosen_precisions = _parse_list(precisions, str)
    if not chosen_precisions or set(chosen_precisions) - set(PRECISIONS):
        raise click.BadParameter(f"precisions must be among {list(PRECISIONS)}, "
                                 f"got {precisions!r}")
    sizes = _parse_list(batch_sizes, int) or (None,)
    if any(size is not None and size < 1 for size in sizes):
        raise click.BadParameter(f"batch sizes must be >= 1, got {batch_sizes!r}")
    compile_modes = {"off": (False,), "on": (True,), "both": (False, True)}[compile_mode]
    device = resolve_device(device)
    model = load_model_for_evaluation(model_spec, device)
    lengths = (5.0, 20.0) if quick else tuple(60.0 * m for m in _parse_list(minutes, float))
    counts = _parse_list(steps, int) or (int(getattr(model, "default_steps", 0)),)

    def progress(row: dict) -> None:
        line = (f"{row['task']:>10} steps {row['steps']:>3} {row['precision']} batch "
                f"{row['batch_size']:>3}{' compiled' if row['compile'] else ''} "
                f"{row['input_seconds']:>7g} s: {row['x_realtime']:.2f} x real time, "
                f"RSS {row['peak_rss_mb']:.0f} MB, GPU {row['peak_gpu_mb']:.0f} MB")
        click.echo(line, err=True)

    result = run_bench(model, device=device, steps=counts, lengths_seconds=lengths,
                       tasks=chosen, setting_list=settings(chosen_precisions, sizes,
                                                           compile_modes),
                       warmup=warmup, callback=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "bench.json", json.dumps(json_safe(result), indent=1) + "\n")
    table = markdown_table(result)
    write_text(out_dir / "bench.md", table)
    click.echo(table)


@main.command()
@click.option("--model", "model_spec", default="default", show_default=True,
              help="Model file, 'default' (shipped model) or 'random' (untrained tiny model).")
@click.option("--data", "corpus", required=True, type=click.Path(path_type=Path),
              help="Corpus folder (data_prep format); clips come from its test split.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Page folder: index.html, audio/, answers.csv and key.json (the key: keep "
                   "it from the listeners).")
@click.option("--pairs", type=int, default=10, show_default=True,
              help="Pairs of clips, each from two different recordings.")
@click.option("--length", "bridge_seconds", type=float, default=1.0, show_default=True,
              help="Transition length in seconds.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Picks the clips and the versions' order; seeds the model's noise.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Sampler steps (default: the model's own).")
def abpage(model_spec, corpus, out_dir, pairs, bridge_seconds, seed, device, steps) -> None:
    """Blind A/B page: the model's transition and the equal-power crossfade between clips of two
    different recordings, in a random order per pair. Measures nothing (no truth exists)."""
    if model_spec == "none":
        raise click.BadParameter("the A/B page compares the model with the crossfade: give a "
                                 "model ('default', 'random' or a file)")
    device = resolve_device(device)
    model = load_model_for_evaluation(model_spec, device)

    def progress(event: dict) -> None:
        click.echo(f"pair {event['done']}/{event['total']}", err=True)

    write_ab_page(model, corpus, out_dir, pairs=pairs, bridge_seconds=bridge_seconds, seed=seed,
                  steps=steps, device=device, callback=progress)
    click.echo(f"wrote {out_dir / 'index.html'} ({pairs} pairs) and the key "
               f"{out_dir / 'key.json'} (not linked from the page)")


def entry() -> None:
    """Run the group, turning RestoreError into one line on stderr and exit status 1."""
    try:
        main.main(standalone_mode=False)
    except RestoreError as error:
        click.echo(f"evaluation: error: {error}", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort:
        sys.exit(130)


if __name__ == "__main__":
    entry()
