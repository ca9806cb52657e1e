"""Write a copy of a model file with other sampling defaults (sampler, schedule, steps) in its
diffusion config and card; the weights are copied unchanged (fp16 in, fp16 out).

    python -m tools.set_sampling restore/models/default.safetensors /tmp/euler.safetensors \
        --sampler euler --schedule nested --steps 8

The copy is what `python -m evaluation run --model /tmp/euler.safetensors` then measures.
"""

from __future__ import annotations

import dataclasses

import click

from restore import checkpoint
from restore.config import to_dict


@click.command()
@click.argument("model_file")
@click.argument("out")
@click.option("--sampler", default=None, help="e.g. euler, dpmpp_2m, heun")
@click.option("--schedule", default=None, type=click.Choice(["karras", "nested"]))
@click.option("--steps", default=None, type=int)
def main(model_file, out, sampler, schedule, steps) -> None:
    model = checkpoint.load_model(None if model_file == "default" else model_file)
    changes = {key: value for key, value in (("default_sampler", sampler),
                                              ("schedule", schedule), ("default_steps", steps))
               if value is not None}
    diffusion = dataclasses.replace(model.diffusion, **changes)
    model.denoiser.config = diffusion
    card = {**model.card, "diffusion_config": to_dict(diffusion)}
    checkpoint.save_model(out, model.denoiser, model.config, step=int(card.get("steps", 0)),
                          card=card)
    click.echo(f"wrote {out}: {changes}")


if __name__ == "__main__":
    main()
