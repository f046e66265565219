"""Fixtures for the db/worker tests: real SQLite and PostgreSQL databases, Redis, worker processes.

PostgreSQL databases are created per test on 127.0.0.1:5432 with unique names and dropped after;
Redis tests get a database index nobody else uses (reserved with a marker key, flushed after).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from db.session import dispose_engines
from digitize.settings import get_settings

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REPO = Path(__file__).resolve().parent.parent
DIGITIZE = [str(Path(sys.executable).parent / "digitize")]


def _pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def create_pg_database() -> str:
    name = f"digitize_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def _settings_pointed_at(
    url: str, monkeypatch: pytest.MonkeyPatch, *, drop: bool = False
) -> Iterator[str]:
    """DIGITIZE_DATABASE_URL = ``url`` for one test; engines disposed (and PG dropped) after."""
    monkeypatch.setenv("DIGITIZE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield url
    finally:
        dispose_engines()
        get_settings.cache_clear()
        if drop:
            drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh, empty database of each kind; DIGITIZE_DATABASE_URL points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        if not _pg_available():
            pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (run `make services`)")
        url = create_pg_database()
    with _settings_pointed_at(url, monkeypatch, drop=request.param == "postgresql"):
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    with _settings_pointed_at(url, monkeypatch):
        yield url


@pytest.fixture
def pg_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with _settings_pointed_at(create_pg_database(), monkeypatch, drop=True) as url:
        yield url


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """An unused Redis database index (1-15) on the shared server, reserved and flushed after."""
    import redis

    marker = f"digitize-test-reserved-{os.getpid()}"
    for index in range(15, 0, -1):
        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=index)
        if r.dbsize() == 0 and r.set("digitize-test-reserved", marker, nx=True, ex=3600):
            break
    else:
        pytest.fail("no free Redis database index 1-15")
    try:
        yield index
    finally:
        r.flushdb()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A private redis-server (no persistence) that a test may kill and restart empty."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.kill()


@dataclass
class Workers:
    """``digitize worker`` subprocesses, each in its own process group (so SIGKILL takes all)."""

    env: dict[str, str]
    logdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, concurrency: int = 1) -> subprocess.Popen[bytes]:
        log = (self.logdir / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [*DIGITIZE, "worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(30)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                self.kill(p, signal.SIGTERM)
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)  # leftovers of the group

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logdir.glob("*.log"))


def job_env(database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    keep = ("DIGITIZE_MODEL_PATH",)  # the model under test, when one is configured
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_") or k in keep}
    env.update(
        DIGITIZE_DATABASE_URL=database_url,
        DIGITIZE_BROKER_URL=broker_url,
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Workers]]:
    made: list[Workers] = []

    def make(env: dict[str, str]) -> Workers:
        logdir = tmp_path / f"workers{len(made)}"
        logdir.mkdir()
        w = Workers(env, logdir)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop_all()


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``digitize ARGS`` as a user runs it (a real process)."""
    return subprocess.run(
        [*DIGITIZE, *args],
        env=env,
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def png_bytes(image: np.ndarray, tag: str = "") -> bytes:
    """PNG of a greyscale page; ``tag`` goes in a text chunk so equal pages get distinct bytes."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if tag:
        info.add_text("digitize-test", tag)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


@pytest.fixture(scope="session")
def form_scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A few filled forms (three layouts and a template-free page) with their templates."""
    from model.training import synthetic

    root = tmp_path_factory.mktemp("forms")
    templates = root / "templates"
    templates.mkdir()
    synthetic.write_templates(templates)
    scans = root / "scans"
    scans.mkdir()
    source = synthetic.font_digit_source(seed=0)
    truth: dict[str, dict[str, str]] = {}
    for i, layout in enumerate(["claim", "survey", "order"]):
        page = synthetic.make_page(layout, source, seed=100 + i, strength=0.5)
        name = f"{layout} {i}.png"
        (scans / name).write_bytes(png_bytes(page.image))
        truth[name] = page.values
    free = synthetic.make_free_page(source, seed=7, strength=0.5)
    (scans / "free page.png").write_bytes(png_bytes(free.image))
    truth["free page.png"] = free.values
    return {"templates": templates, "scans": scans, "truth": truth}


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def cli(args: list[str]) -> CliResult:
    """``digitize ARGS`` in this process (no interpreter start-up): for the quick query commands.

    Uses the environment of the test (``DIGITIZE_*`` set by the database fixtures).
    """
    from typer.testing import CliRunner

    from digitize.cli import _register, app

    _register()
    get_settings.cache_clear()
    res = CliRunner().invoke(app, args)
    exc = res.exception if not isinstance(res.exception, SystemExit) else None
    return CliResult(res.exit_code, res.stdout, res.stderr, exc)
