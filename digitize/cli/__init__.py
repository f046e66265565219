"""The ``digitize`` command line: one Typer app, command groups in sibling modules.

Commands only translate arguments and errors; domain logic lives in the packages.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from digitize.errors import DigitizeError
from digitize.logging import setup_cli_logging

app = typer.Typer(
    name="digitize",
    help="Read handwritten digits off scanned forms into a SQL database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that add commands to ``app`` when imported (each calls ``@app.command``).
COMMAND_MODULES = (
    "digitize.cli.model_commands",
    "digitize.cli.predict_commands",
    "digitize.cli.job_commands",
    "digitize.cli.review_commands",
    "digitize.cli.bench_commands",
    "digitize.cli.admin_commands",
)


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not a not-yet-written module
                raise


def main() -> None:
    """Console entry point: run the app, turning ``DigitizeError`` into a message and exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    setup_cli_logging()
    _register()
    try:
        rv = app(standalone_mode=False)
    except DigitizeError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.secho("aborted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(rv if isinstance(rv, int) else 0)
