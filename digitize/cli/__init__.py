"""The ``digitize`` command line: one Typer app, command groups in sibling modules.

Commands only translate arguments and errors; domain logic lives in the packages.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import sys
from contextlib import nullcontext

import typer

from digitize.cli.output import stdout_for_document_only, wants_document
from digitize.errors import ConfigError, DigitizeError
from digitize.log_setup import setup_cli_logging

app = typer.Typer(
    name="digitize",
    help="Read handwritten digits off scanned forms into a SQL database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def global_options(
    database_url: str | None = typer.Option(
        None, "--database-url", help="SQLAlchemy database URL.", envvar="DIGITIZE_DATABASE_URL"
    ),
    broker_url: str | None = typer.Option(
        None, "--broker-url", help="Celery broker URL.", envvar="DIGITIZE_BROKER_URL"
    ),
    review_threshold: float | None = typer.Option(
        None,
        "--review-threshold",
        min=0.0,
        max=1.0,
        help="Fields below this confidence need review.",
        envvar="DIGITIZE_REVIEW_THRESHOLD",
    ),
    storage_url: str | None = typer.Option(
        None,
        "--storage-url",
        help="'db' or a shared folder for originals.",
        envvar="DIGITIZE_STORAGE_URL",
    ),
    log_level: str | None = typer.Option(
        None, "--log-level", help="DEBUG, INFO, WARNING….", envvar="DIGITIZE_LOG_LEVEL"
    ),
) -> None:
    """Flags override DIGITIZE_* variables; both feed the one settings object.

    They are written to the environment so that worker processes started by a command see the
    same configuration.
    """
    from digitize.settings import get_settings

    given = {
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "REVIEW_THRESHOLD": review_threshold,
        "STORAGE_URL": storage_url,
        "LOG_LEVEL": log_level,
    }
    for name, value in given.items():
        if value is not None:
            os.environ[f"DIGITIZE_{name}"] = str(value)
    get_settings.cache_clear()
    if log_level is not None:
        logging.getLogger().setLevel(log_level.upper())


#: What the ``train`` extra brings: a command that needs one says how to install it.
TRAINING_MODULES = frozenset({"tensorflow", "keras", "matplotlib"})

#: Modules that add commands to ``app`` when imported (each calls ``@app.command``).
COMMAND_MODULES = (
    "digitize.cli.model_commands",
    "digitize.cli.predict_commands",
    "digitize.cli.job_commands",
    "digitize.cli.review_commands",
    "digitize.cli.bench_commands",
    "digitize.cli.admin_commands",
    "digitize.cli.template_commands",
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
    # Whatever happens, the objects left at exit are not searched for cycles one last time:
    # that final collection took ~0.1 s of every command's run (atexit handlers still run).
    atexit.register(gc.freeze)
    quiet_stdout = stdout_for_document_only() if wants_document(sys.argv[1:]) else nullcontext()
    try:
        with quiet_stdout:
            rv = app(standalone_mode=False)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in TRAINING_MODULES:
            raise
        typer.secho(
            f"error: this command needs {exc.name}, which comes with the training tools: "
            "pip install 'digitize[train]'",
            err=True,
            fg=typer.colors.RED,
        )
        sys.exit(ConfigError.exit_code)
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
    except typer.TyperException as exc:  # usage errors: bad option values, unknown commands
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(rv if isinstance(rv, int) else 0)
