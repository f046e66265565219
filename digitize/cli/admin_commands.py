"""Operator commands: ``digitize migrate`` (schema) and ``digitize check`` (health probes).

Containers use them: a one-shot migration service before anything else starts, and health checks
that need no curl in the image.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import typer

from digitize.cli import app
from digitize.errors import ConfigError, TransientError
from digitize.settings import get_settings


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest version (safe to repeat)."""
    from db.session import init_db, schema_revision

    version = schema_revision(init_db(get_settings().database_url))
    typer.echo(f"database schema at revision {version}")


def _http_ok(url: str, timeout: float) -> str | None:
    """None when ``url`` answers 2xx, else the reason."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


@app.command()
def check(
    database: bool = typer.Option(False, "--database", help="The database answers."),
    broker: bool = typer.Option(False, "--broker", help="The broker answers."),
    http: list[str] | None = typer.Option(
        None, "--http", help="This URL answers 2xx (repeatable), e.g. a /healthz."
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds per probe."),
) -> None:
    """Health probe: exit 0 when every asked check passes (default: database and broker)."""
    settings = get_settings()
    if not (database or broker or http):
        database = broker = True
    report: dict[str, str] = {}
    if database:
        from db.session import probe

        try:
            probe(settings.database_url, timeout)
            report["database"] = "ok"
        except ConfigError:
            raise
        except Exception as exc:
            report["database"] = f"error: {exc.__class__.__name__}: {exc}".splitlines()[0]
    if broker:
        import redis

        try:
            client = redis.Redis.from_url(
                settings.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            client.ping()
            client.close()
            report["broker"] = "ok"
        except (redis.RedisError, ValueError) as exc:
            report["broker"] = f"error: {exc}"
    for url in http or []:
        why = _http_ok(url, timeout)
        report[url] = "ok" if why is None else f"error: {why}"
    typer.echo(json.dumps(report))
    if any(v != "ok" for v in report.values()):
        raise TransientError("unhealthy: " + ", ".join(k for k, v in report.items() if v != "ok"))
