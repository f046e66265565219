"""Prometheus metrics for operators: documents done/failed, page latency per stage, queue depth.

Workers are Celery prefork pools: documents are read in child processes, so a worker with
``DIGITIZE_METRICS_PORT`` set runs prometheus_client in multiprocess mode (each child writes its
counters to files in ``PROMETHEUS_MULTIPROC_DIR``; the parent serves their sum on that port).
The web app serves the same ``/metrics`` plus ``/healthz`` from a middleware (``OperatorEndpoints``)
that sits outside its routing, so neither needs a session nor shows up among the app's routes.
Queue depth and per-status document counts are read live at scrape time (gauges that cannot drift).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Receive, Scope, Send

from digitize.settings import Settings, get_settings

log = logging.getLogger(__name__)

STAGES = ("load", "register", "segment", "classify", "assemble", "validate")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _configure_multiprocess() -> str | None:
    """Switch prometheus_client to multiprocess values when this process exports for a pool.

    Must run before the metrics below are created; it also works when prometheus_client was
    imported earlier, because each metric reads ``values.ValueClass`` when it is created.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory and get_settings().metrics_port:
        directory = tempfile.mkdtemp(prefix="digitize-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    if directory:
        os.makedirs(directory, exist_ok=True)
        values.ValueClass = values.get_value_class()
    return directory


MULTIPROC_DIR = _configure_multiprocess()

DOCUMENTS_PROCESSED = Counter(
    "digitize_documents_processed", "Documents read to the end and stored (status done)."
)
DOCUMENTS_FAILED = Counter(
    "digitize_documents_failed", "Documents that ended failed (bad input or a reader error)."
)
PAGES_PROCESSED = Counter("digitize_pages_processed", "Pages read and stored.")
TASK_RETRIES = Counter(
    "digitize_task_retries", "Tasks put back for a transient fault (database or broker)."
)
PAGE_STAGE_SECONDS = Histogram(
    "digitize_page_stage_seconds",
    "Time one page spends in each pipeline stage.",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
PAGE_SECONDS = Histogram(
    "digitize_page_seconds", "Time to read one page, all stages.", buckets=LATENCY_BUCKETS
)
DOCUMENT_SECONDS = Histogram(
    "digitize_document_seconds",
    "Wall time of one document task (fetch, read, store).",
    buckets=LATENCY_BUCKETS,
)


def observe_pages(page_timings_ms: Iterable[Mapping[str, float]]) -> None:
    """One histogram sample per page and stage, from the driver's ``timings_ms``."""
    for timings in page_timings_ms:
        total = 0.0
        for stage, ms in timings.items():
            if stage in STAGES:
                PAGE_STAGE_SECONDS.labels(stage).observe(ms / 1000)
                total += ms
        PAGE_SECONDS.observe(total / 1000)
        PAGES_PROCESSED.inc()


def observe_document(status: str, seconds: float, skipped: bool = False) -> None:
    """Count a finished document once (a redelivered, already finished one is not counted)."""
    if skipped:
        return
    if status == "done":
        DOCUMENTS_PROCESSED.inc()
    elif status == "failed":
        DOCUMENTS_FAILED.inc()
    DOCUMENT_SECONDS.observe(seconds)


class QueueCollector(Collector):
    """``digitize_queue_depth``: messages waiting in the Redis broker queue, read at scrape time."""

    def __init__(self, broker_url: str, queue: str = "digitize") -> None:
        self.broker_url = broker_url
        self.queue = queue

    def collect(self) -> Iterable[GaugeMetricFamily]:
        import redis

        up = GaugeMetricFamily("digitize_broker_up", "1 when the broker answered this scrape.")
        depth = GaugeMetricFamily(
            "digitize_queue_depth", "Messages waiting in the broker queue.", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(
                self.broker_url, socket_timeout=2, socket_connect_timeout=2
            )
            try:
                n = int(client.llen(self.queue))
            finally:
                client.close()
        except (redis.RedisError, ValueError) as exc:
            log.warning("queue depth unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        depth.add_metric([self.queue], n)
        yield up
        yield depth


class DatabaseCollector(Collector):
    """``digitize_documents{status}``: documents per status in the database (the truth)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from db import queries
        from db.session import session_scope
        from digitize.errors import DigitizeError

        up = GaugeMetricFamily("digitize_database_up", "1 when the database answered this scrape.")
        docs = GaugeMetricFamily(
            "digitize_documents", "Documents per status in the database.", labels=["status"]
        )
        try:
            with session_scope(self.database_url) as session:
                counted = queries.status_counts(session)
        except DigitizeError as exc:
            log.warning("document counts unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        counts = {"queued": 0, "processing": 0, "done": 0, "failed": 0, **counted}
        for status, n in sorted(counts.items()):
            docs.add_metric([status], n)
        yield up
        yield docs


def worker_registry(settings: Settings | None = None) -> CollectorRegistry:
    """What a worker exports: its pool's counters (summed over processes) and the queue depth."""
    settings = settings or get_settings()
    registry = CollectorRegistry()
    if MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        for metric in (
            DOCUMENTS_PROCESSED,
            DOCUMENTS_FAILED,
            PAGES_PROCESSED,
            TASK_RETRIES,
            PAGE_STAGE_SECONDS,
            PAGE_SECONDS,
            DOCUMENT_SECONDS,
        ):
            registry.register(metric)
    registry.register(QueueCollector(settings.broker_url))
    return registry


def start_worker_exporter(port: int, settings: Settings | None = None) -> bool:
    """Serve the worker's metrics on ``port`` (all interfaces); False when the port is taken."""
    try:
        start_http_server(port, registry=worker_registry(settings))
    except OSError as exc:
        log.error("metrics exporter not started on port %d: %s", port, exc)
        return False
    log.info("metrics on :%d/metrics", port)
    return True


def mark_process_dead(pid: int) -> None:
    """A pool process exited: drop its live-gauge files (counters keep their totals)."""
    if MULTIPROC_DIR:
        multiprocess.mark_process_dead(pid, MULTIPROC_DIR)


def web_registry(settings: Settings) -> CollectorRegistry:
    """What the web app exports: queue depth and documents per status."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(settings.broker_url))
    registry.register(DatabaseCollector(settings.database_url))
    return registry


def health(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """The database answers a query (the web app is useless without it)."""
    from db.session import ping

    t = time.perf_counter()
    try:
        ping(settings.database_url)
    except Exception as exc:  # any failure (DigitizeError included) is unhealthy, with why
        return False, {"status": "unhealthy", "database": f"error: {exc}"}
    ms = round((time.perf_counter() - t) * 1000, 1)
    return True, {"status": "ok", "database": "ok", "database_ms": ms}


class OperatorEndpoints:
    """ASGI middleware answering ``GET /metrics`` and ``GET /healthz`` before the app's routing."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.registry = web_registry(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path not in ("/metrics", "/healthz") or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        from starlette.concurrency import run_in_threadpool

        if path == "/metrics":
            body = await run_in_threadpool(generate_latest, self.registry)
            status, ctype = 200, CONTENT_TYPE_LATEST
        else:
            ok, info = await run_in_threadpool(health, self.settings)
            body = json.dumps(info).encode()
            status, ctype = (200 if ok else 503), "application/json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", ctype.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})
