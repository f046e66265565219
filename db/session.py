"""Engines and sessions, created in exactly one place.

``get_engine(url)`` returns one engine per URL per process and migrates the database to the newest
schema on first use, so a fresh SQLite file or an empty PostgreSQL database just works.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from digitize.errors import ConfigError, TransientError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
_ADVISORY_LOCK_ID = 0x6469676974  # "digit"

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}


def default_url() -> str:
    from digitize.settings import get_settings

    return get_settings().database_url


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other backends and in-memory SQLite)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).resolve()


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _create_engine(url: str, *, probe_timeout: float | None = None) -> Engine:
    """The engine for ``url``: SQLite with WAL and a 30 s lock wait, PostgreSQL through
    psycopg 3 with a small pool; with ``probe_timeout``, a throw-away one that waits no longer."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        if probe_timeout is not None:
            return create_engine(u, connect_args={"timeout": probe_timeout})
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if backend == "postgresql":
        if u.drivername in ("postgresql", "postgres"):
            u = u.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        if probe_timeout is not None:
            return create_engine(u, connect_args={"connect_timeout": max(1, int(probe_timeout))})
        return create_engine(u, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise ConfigError(f"unsupported database URL {u.render_as_string(hide_password=True)!r}")


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The process-wide engine for ``url`` (default: settings), migrated on first use."""
    url = url or default_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            if migrate:
                try:
                    _upgrade(engine, url)
                except OperationalError as exc:
                    engine.dispose()
                    raise TransientError(f"database unreachable: {exc.orig}") from exc
            _engines[url] = engine
            _sessionmakers[url] = sessionmaker(engine, expire_on_commit=False)
        return engine


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    url = url or default_url()
    get_engine(url)
    return _sessionmakers[url]


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session committed on success, rolled back on error; database outages become transient."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise TransientError(f"database error: {exc.orig}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(url: str | None = None) -> None:
    """One trivial query: raises when the database does not answer."""
    with get_engine(url).connect() as conn:
        conn.execute(text("SELECT 1"))


def init_db(url: str | None = None) -> Engine:
    """Create or upgrade the schema (Alembic ``upgrade head``); safe to call repeatedly."""
    return get_engine(url)


def dispose_engines(*, close: bool = True) -> None:
    """Forget every engine: in tests that drop databases, or in a forked child with
    ``close=False`` (the parent's connections must not be closed from the child)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        _engines.clear()
        _sessionmakers.clear()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


#: The newest migration (``db/migrations/versions``); a test keeps it equal to Alembic's head.
HEAD_REVISION = "0005_web_sessions"


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None: no schema yet)."""
    try:
        with engine.connect() as conn:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no table yet: a new database
        return None
    return None if rev is None else str(rev)


def _at_head(engine: Engine) -> bool:
    """The schema is current: one SELECT instead of loading Alembic and its scripts (~0.1 s
    in every worker process that starts)."""
    return schema_revision(engine) == HEAD_REVISION


def probe(url: str, timeout: float) -> None:
    """One query on a throw-away engine that neither migrates nor waits long (health checks);
    raises when the database does not answer within ``timeout``."""
    engine = _create_engine(url, probe_timeout=timeout)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _upgrade(engine: Engine, url: str) -> None:
    """Run migrations under a lock so workers starting together do not race each other."""
    if _at_head(engine):
        return
    from alembic import command

    path = sqlite_path(url)
    if path is not None:
        with open(f"{path}.migrate-lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                with engine.begin() as conn:
                    _run_upgrade(command, conn, url)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})
        _run_upgrade(command, conn, url)


def _run_upgrade(command: Any, conn: Any, url: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
