"""Real Celery workers on real Redis and PostgreSQL: killed workers, a broker that forgets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from sqlalchemy import func, select

from db.models import DONE, Document, Field, Page
from db.session import session_scope
from tests.fixtures_db import (
    DIGITIZE,
    REPO,
    RedisServer,
    Workers,
    cli,
    job_env,
    png_bytes,
    run_cli,
)
from worker.celery_app import QUEUE

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def many_scans(tmp_path_factory: pytest.TempPathFactory, form_scans: dict[str, Any]) -> Path:
    """Eight distinct files (the same four pages, each twice with different bytes)."""
    from PIL import Image

    out = tmp_path_factory.mktemp("many")
    for src in sorted(Path(form_scans["scans"]).glob("*.png")):
        image = np.asarray(Image.open(src))
        for k in range(2):
            (out / f"{src.stem} copy{k}.png").write_bytes(png_bytes(image, tag=f"copy{k}"))
    return out


def _statuses() -> dict[str, int]:
    with session_scope() as s:
        rows = s.execute(select(Document.status, func.count()).group_by(Document.status)).all()
    return {status: int(n) for status, n in rows}


def _wait(cond: Callable[[], bool], timeout: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {_statuses()}\n{workers.logs()}")


def _exactly_once(expected_docs: int) -> None:
    """Every document done, one page each, and no field written twice."""
    with session_scope() as s:
        docs = s.scalars(select(Document)).all()
        assert len(docs) == expected_docs
        assert {d.status for d in docs} == {DONE}, [(d.source, d.error) for d in docs]
        pages = s.execute(select(Page.document_id, func.count()).group_by(Page.document_id)).all()
        assert sorted(n for _, n in pages) == [1] * expected_docs
        dup = s.execute(
            select(Field.page_id, Field.position, func.count())
            .group_by(Field.page_id, Field.position)
            .having(func.count() > 1)
        ).all()
        assert dup == []


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                pids.append(int(entry))
    return pids


def test_worker_killed_mid_batch_loses_nothing(
    pg_url: str, redis_db: int, many_scans: Path, form_scans: dict[str, Any], workers: Any
) -> None:
    env = job_env(
        pg_url,
        f"redis://127.0.0.1:6379/{redis_db}",
        DIGITIZE_VISIBILITY_TIMEOUT_S="4",
        DIGITIZE_STALE_AFTER_S="3600",
    )
    pool: Workers = workers(env)
    victim = pool.start(concurrency=1)
    pool.start(concurrency=1)
    sub = run_cli(["submit", str(many_scans), "--template", str(form_scans["templates"])], env)
    assert sub.returncode == 0, sub.stderr
    assert sub.stdout.strip().isdigit()  # the batch id, alone on stdout

    def victim_is_busy() -> bool:
        mine = {f":{pid}" for pid in _group_pids(victim.pid)}
        with session_scope() as s:
            busy = s.scalars(select(Document.worker).where(Document.status == "processing"))
            return any(w and any(w.endswith(p) for p in mine) for w in busy)

    _wait(victim_is_busy, 120, "the victim to take a document", pool)
    pool.kill(victim, signal.SIGKILL)  # the whole worker, mid-document
    _wait(lambda: _statuses().get(DONE) == 8, 240, "every document to finish", pool)
    _exactly_once(8)
    with session_scope() as s:
        retried = s.scalar(select(func.count()).where(Document.attempts > 1))
    assert retried and retried >= 1  # the killed worker's document was taken over


def test_broker_restarted_empty_mid_batch_loses_nothing(
    pg_url: str,
    private_redis: RedisServer,
    many_scans: Path,
    form_scans: dict[str, Any],
    workers: Any,
) -> None:
    env = job_env(pg_url, private_redis.url, DIGITIZE_STALE_AFTER_S="3600")
    sub = run_cli(["submit", str(many_scans), "--template", str(form_scans["templates"])], env)
    assert sub.returncode == 0, sub.stderr
    pool: Workers = workers(env)
    pool.start(concurrency=1)
    _wait(lambda: _statuses().get(DONE, 0) >= 1, 180, "a first document", pool)
    private_redis.kill()  # every queued message is gone with it
    private_redis.start()
    broker = redis.Redis(port=private_redis.port)
    # No message survived. The workers may already have reconnected, re-declared their
    # bindings (kombu's own ``_kombu.*`` keys) and taken the lock kombu holds while it looks
    # for unacked messages to restore (``unacked_mutex``), so the database need not be empty.
    assert broker.llen(QUEUE) == 0 and broker.hlen("unacked") == 0
    bookkeeping = (b"_kombu.", b"unacked_mutex")
    assert [k for k in broker.scan_iter() if not k.startswith(bookkeeping)] == []
    time.sleep(3)
    assert _statuses().get(DONE, 0) < 8
    rec = run_cli(["recover", "--older-than", "0"], env)
    assert rec.returncode == 0, rec.stderr
    assert "re-enqueued" in rec.stderr
    _wait(lambda: _statuses().get(DONE) == 8, 240, "every document to finish", pool)
    _exactly_once(8)


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (a readable failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = _first_difference(a.get(k), b.get(k), f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def _normalised(results: dict[str, Any]) -> list[dict[str, Any]]:
    docs = [{k: v for k, v in d.items() if k != "id"} for d in results["documents"]]
    return sorted(docs, key=lambda d: d["source"])


def test_process_submit_and_watch_give_identical_results(
    tmp_path: Path,
    redis_db: int,
    form_scans: dict[str, Any],
    workers: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.fixtures_db import create_pg_database, drop_pg_database

    tpl = str(form_scans["templates"])
    scans = Path(form_scans["scans"])
    broker = f"redis://127.0.0.1:6379/{redis_db}"

    def results(url: str) -> list[dict[str, Any]]:
        monkeypatch.setenv("DIGITIZE_DATABASE_URL", url)
        return _normalised(json.loads(cli(["results", "-f", "json"]).stdout))

    a = f"sqlite:///{tmp_path / 'process.db'}"
    proc = run_cli(["process", str(scans), "--template", tpl], job_env(a, broker))
    assert proc.returncode == 0, proc.stderr

    b = create_pg_database()
    try:
        env_b = job_env(b, broker)
        pool: Workers = workers(env_b)
        pool.start(concurrency=1)
        pool.start(concurrency=1)
        sub = run_cli(["submit", str(scans), "--template", tpl, "--wait"], env_b)
        assert sub.returncode == 0, sub.stderr + pool.logs()
        by_submit = results(b)
    finally:
        from db.session import dispose_engines

        pool.stop_all()
        dispose_engines()
        drop_pg_database(b)

    c = f"sqlite:///{tmp_path / 'watch.db'}"
    inbox = tmp_path / "inbox"
    shutil.copytree(scans, inbox)
    watch = subprocess.run(
        [*DIGITIZE, "watch", str(inbox), "--template", tpl, "--settle", "0.5", "--idle-exit", "3"],
        env=job_env(c, broker),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert watch.returncode == 0, watch.stderr
    assert len(list((inbox / "processed").iterdir())) == 4

    by_process = results(a)
    assert len(by_process) == 4 and all(d["status"] == DONE for d in by_process)
    assert _first_difference(by_process, by_submit) is None
    assert _first_difference(by_process, results(c)) is None


def test_unreachable_database_is_retried_not_failed(
    pg_url: str, redis_db: int, form_scans: dict[str, Any], workers: Any, tmp_path: Path
) -> None:
    broker = f"redis://127.0.0.1:6379/{redis_db}"
    env = job_env(pg_url, broker)
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(Path(form_scans["scans"]) / "claim 0.png", one / "claim.png")
    assert run_cli(["submit", str(one)], env).returncode == 0
    # A worker whose database is down: the task backs off and retries, the document stays queued.
    down = job_env(
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere", broker, DIGITIZE_TASK_MAX_RETRIES="1"
    )
    cut_off: Workers = workers(down)
    proc = cut_off.start(concurrency=1)
    _wait(lambda: "Retry in" in cut_off.logs(), 120, "a retry", cut_off)
    _wait(lambda: "TransientError" in cut_off.logs(), 60, "retries to run out", cut_off)
    cut_off.kill(proc, signal.SIGTERM)
    assert _statuses() == {"queued": 1}
    # The database is back (a worker that can reach it), and recover re-sends the document.
    healthy: Workers = workers(env)
    healthy.start(concurrency=1)
    assert run_cli(["recover", "--older-than", "0"], env).returncode == 0
    _wait(lambda: _statuses() == {DONE: 1}, 120, "the document to finish", healthy)
