"""Weight averaging of two models of one lineage (a "model soup", Wortsman et al. 2022).

Two runs fine-tuned from the same weights often sit in one basin, so a weighted mean of their
weights can keep what each learned better (docs/model.md, "Stretch 6"). Both files need the
same model and diffusion config; the card is the second model's, with the mix recorded.

    python -m tools.average_models A.safetensors B.safetensors --weight 0.5 --out MIX.safetensors

``--weight`` is B's share: 0 gives A, 1 gives B.
"""

from __future__ import annotations

import copy

import click
import torch

from restore import checkpoint


@click.command()
@click.argument("first", type=click.Path(exists=True, dir_okay=False))
@click.argument("second", type=click.Path(exists=True, dir_okay=False))
@click.option("--weight", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="share of SECOND in the mix")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--name", default=None, help="the card's name (default: SECOND's)")
def main(first: str, second: str, weight: float, out: str, name: str | None) -> None:
    a, b = checkpoint.load_model(first), checkpoint.load_model(second)
    if a.config != b.config or a.diffusion != b.diffusion:
        raise click.ClickException("the two models have different configs")
    mixed = copy.deepcopy(b.denoiser)
    state_a, state_b = a.denoiser.network.state_dict(), b.denoiser.network.state_dict()
    mixed.network.load_state_dict({
        key: torch.lerp(state_a[key].float(), state_b[key].float(), weight).to(value.dtype)
        if value.is_floating_point() else value
        for key, value in state_b.items()
    })
    card = {key: value for key, value in b.card.items()
            if key not in ("format_version", "model_config", "diffusion_config", "sample_rate",
                           "tasks", "steps", "parameters")}
    card["name"] = name or card.get("name", "mix")
    card["weight_average"] = {
        "models": [{"sha256": a.sha256, "name": a.card.get("name")},
                   {"sha256": b.sha256, "name": b.card.get("name")}],
        "weights": [round(1.0 - weight, 6), round(weight, 6)],
    }
    checkpoint.save_model(out, mixed, b.config, step=int(b.card.get("steps", 0)), card=card)
    click.echo(f"wrote {out}: {1.0 - weight:g} x {first} + {weight:g} x {second}")


if __name__ == "__main__":
    main()
