"""Operator commands: ``digitize migrate`` (schema) and ``digitize check`` (health probes).

Containers use them: a one-shot migration service before anything else starts, and health checks
that need no curl in the image.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import typer
from sqlalchemy import Engine

from digitize.cli import app
from digitize.errors import ConfigError, TransientError
from digitize.settings import get_settings


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest version (safe to repeat)."""
    from sqlalchemy import text

    from db.session import init_db

    url = get_settings().database_url
    engine = init_db(url)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
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
        from sqlalchemy import text

        engine = _probe_engine(settings.database_url, timeout)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            report["database"] = "ok"
        except Exception as exc:
            report["database"] = f"error: {exc.__class__.__name__}: {exc}".splitlines()[0]
        finally:
            engine.dispose()
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


def _probe_engine(url: str, timeout: float) -> Engine:
    """A throw-away engine that neither migrates nor waits long (unlike the app's engines)."""
    from sqlalchemy import create_engine, make_url

    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return create_engine(u, connect_args={"timeout": timeout})
    if backend == "postgresql":
        if u.drivername in ("postgresql", "postgres"):
            u = u.set(drivername="postgresql+psycopg")
        return create_engine(u, connect_args={"connect_timeout": max(1, int(timeout))})
    raise ConfigError(f"unsupported database URL {u.render_as_string(hide_password=True)!r}")
