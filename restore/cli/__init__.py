"""The ``restore`` command line: a click group; each sub-command lives in its own module.

Errors: any :class:`restore.errors.RestoreError` that escapes a command becomes one line
``restore: error: <path>: <reason>`` on stderr and exit code 1; usage errors exit with 2.
Tracebacks are shown only with ``--debug``. SIGTERM (schedulers, torchrun) is handled like
Ctrl-C: temporary files are removed, then the process exits with 143.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys

import click

from restore import __version__
from restore.errors import RestoreError


class Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler: unwinds like Ctrl-C, so every temporary file is removed."""


def _terminate(_signum, _frame) -> None:
    raise Terminated()


class RestoreGroup(click.Group):
    """Click group that turns expected failures into one-line errors."""

    def invoke(self, ctx: click.Context):  # noqa: D102
        try:
            return super().invoke(ctx)
        except RestoreError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"restore: error: {error}", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Terminated:
            click.echo("restore: terminated (SIGTERM); unfinished outputs removed", err=True)
            ctx.exit(143)
        except KeyboardInterrupt:
            click.echo("restore: interrupted", err=True)
            ctx.exit(130)
        except Exception as error:  # an unexpected failure: still one line unless --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"restore: error: {type(error).__name__}: {error}", err=True)
            ctx.exit(1)


@click.group(cls=RestoreGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="restore")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int, quiet: bool) -> None:
    """Repair and upgrade audio: inpaint gaps, extend bandwidth, bridge clips, remove clicks
    and crackle, restore clipped peaks."""
    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, verbose=verbose, quiet=quiet)
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="restore: %(message)s", stream=sys.stderr)


def _register_commands() -> None:
    """Import the command modules; each adds its commands to ``cli``."""
    for name in ("info", "restoration", "repair", "train"):
        try:
            importlib.import_module(f"restore.cli.{name}")
        except ModuleNotFoundError as error:
            # A command module not written yet (during development) is simply absent.
            if error.name != f"restore.cli.{name}":
                raise


_register_commands()


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    cli(prog_name="restore")
