"""Operator metrics and structured logs, scraped from a real worker and the real web app."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bench.end_to_end import children, rss_mb
from db.models import Document, Page
from db.session import session_scope
from digitize.log_setup import DocumentFilter, JsonFormatter, bind_document
from digitize.settings import Settings, get_settings
from tests.deploy_helpers import Samples, http_get, sample, scrape, wait_for
from tests.fixtures_db import free_port, job_env, run_cli
from worker.metrics import STAGES


def test_json_log_lines_carry_the_bound_document() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(DocumentFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.digitize.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("outside")
        with bind_document(42):
            logger.warning("page %d unreadable", 3, extra={"stage": "load"})
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("failed")
        logger.info("after")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["document_id"] for r in lines] == [None, 42, 42, None]
    assert lines[1]["message"] == "page 3 unreadable" and lines[1]["stage"] == "load"
    assert lines[1]["level"] == "WARNING" and lines[1]["logger"] == "test.digitize.json"
    assert "ValueError: boom" in lines[2]["exc"]


@pytest.mark.redis
def test_worker_exports_documents_and_stage_latency(
    sqlite_url: str,
    redis_db: int,
    workers: Any,
    form_scans: dict[str, Any],
    tmp_path: Path,
) -> None:
    port = free_port()
    env = job_env(
        sqlite_url,
        f"redis://127.0.0.1:6379/{redis_db}",
        DIGITIZE_METRICS_PORT=str(port),
        DIGITIZE_LOG_FORMAT="json",
    )
    w = workers(env)
    w.start(concurrency=2)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for("the worker's exporter", lambda: http_get(url)[0] == 200, 60, w.logs)
    before = scrape(url)
    assert sample(before, "digitize_broker_up") == 1
    assert ("digitize_queue_depth", (("queue", "digitize"),)) in before
    assert sample(before, "digitize_documents_processed_total") == 0

    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(form_scans["scans"] / "claim 0.png", inbox / "claim 0.png")
    (inbox / "noise.png").write_bytes(os.urandom(5000))
    proc = run_cli(
        ["submit", str(inbox), "--template", str(form_scans["templates"]), "--wait"], env, 120
    )
    assert proc.returncode == 10, proc.stderr  # the noise file failed

    def counted() -> Samples | None:
        m = scrape(url)
        n = sample(m, "digitize_documents_processed_total")
        return m if n + sample(m, "digitize_documents_failed_total") == 2 else None

    after = wait_for("both documents counted", counted, 30, w.logs)
    assert sample(after, "digitize_documents_processed_total") == 1
    assert sample(after, "digitize_documents_failed_total") == 1
    assert sample(after, "digitize_pages_processed_total") == 1
    assert sample(after, "digitize_document_seconds_count") == 2
    assert sample(after, "digitize_queue_depth", queue="digitize") == 0

    with session_scope(sqlite_url) as db:
        good = db.scalars(select(Document).where(Document.source == "claim 0.png")).one()
        (timings,) = db.scalars(select(Page.timings_ms).where(Page.document_id == good.id)).all()
        good_id = good.id
    for stage in STAGES:  # one observation per stage, the latency the driver measured
        assert sample(after, "digitize_page_stage_seconds_count", stage=stage) == 1
        got = sample(after, "digitize_page_stage_seconds_sum", stage=stage)
        assert got == pytest.approx(timings[stage] / 1000, rel=1e-6, abs=1e-9)

    # The pool processes hold the model: each stays well inside the 400 MB budget.
    pool = children(w.procs[0].pid)
    assert len(pool) == 2 and all(rss_mb(pid) <= 400 for pid in pool), [rss_mb(p) for p in pool]

    records = []
    for log in w.logdir.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
    mine = [r for r in records if r.get("document_id") == good_id]
    assert any(r.get("status") == "done" and r.get("pages") == 1 for r in mine), records[-20:]


def _seed(url: str, tmp_path: Path) -> None:
    """Three stored documents through the real ingest path: one done, one failed, one queued."""
    from db import queries
    from db.storage import get_storage
    from worker.ingest import ingest_file

    settings = get_settings()
    with session_scope(url) as db:
        batch = queries.create_batch(db, "test")
        ids = []
        for i in range(3):
            p = tmp_path / f"scan{i}.png"
            p.write_bytes(b"\x89PNG fake %d" % i)
            ids.append(ingest_file(db, batch, p, get_storage("db"), settings).document_id)
        queries.finish(db, ids[0], "done", page_count=1)
        queries.finish(db, ids[1], "failed", error="not a scan")


def test_web_app_serves_metrics_and_health_without_a_session(
    sqlite_url: str, redis_db: int, tmp_path: Path
) -> None:
    from review.app import create_app

    _seed(sqlite_url, tmp_path)
    settings = Settings(database_url=sqlite_url, broker_url=f"redis://127.0.0.1:6379/{redis_db}")
    with TestClient(create_app(settings)) as client:
        r = client.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        assert client.get("/", follow_redirects=False).status_code == 303  # pages need a session
    from prometheus_client.parser import text_string_to_metric_families

    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    for status, n in {"done": 1, "failed": 1, "queued": 1, "processing": 0}.items():
        assert values[("digitize_documents", (("status", status),))] == n
    assert values[("digitize_database_up", ())] == 1
    assert values[("digitize_broker_up", ())] == 1
    assert values[("digitize_queue_depth", (("queue", "digitize"),))] == 0


def test_health_says_unhealthy_when_the_database_is_gone() -> None:
    from review.app import create_app

    dead = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        broker_url="redis://127.0.0.1:1/0",
    )
    with TestClient(create_app(dead)) as client:
        r = client.get("/healthz")
        assert r.status_code == 503 and r.json()["status"] == "unhealthy"
        m = client.get("/metrics").text
    assert "digitize_database_up 0.0" in m and "digitize_broker_up 0.0" in m
