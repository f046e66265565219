"""Helpers for the deployment tests: waiting on real services and reading their metrics."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select

from db.models import Document

T = TypeVar("T")
#: Prometheus samples: {(metric name, sorted label pairs): value}.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float, logs: Callable[[], str] = str
) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``logs()`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()}")
        time.sleep(0.25)


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(status, body); status 0 when nothing answers."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def scrape(url: str) -> Samples:
    """Every sample of a Prometheus endpoint: {(name, sorted labels): value}."""
    status, body = http_get(url)
    assert status == 200, f"{url} answered {status}"
    out: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def sample(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def status_counts(database_url: str) -> dict[str, int]:
    """Documents per status, read straight from the database (a fresh engine each time)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Document.status, func.count()).group_by(Document.status))
            return {str(s): int(n) for s, n in rows}
    finally:
        engine.dispose()
