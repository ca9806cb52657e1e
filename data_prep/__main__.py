"""``python -m data_prep``: build corpora, pack them, make and render bundles, materialize pairs."""

from __future__ import annotations

import sys

import click

from data_prep import commands  # noqa: F401 - registers the commands on ``main``
from data_prep.cli import main
from restore.errors import RestoreError


def run() -> None:
    try:
        main(standalone_mode=False)
    except RestoreError as error:
        click.echo(f"data_prep: error: {error}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)


if __name__ == "__main__":
    run()
