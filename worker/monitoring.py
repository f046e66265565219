"""Worker-side metrics and structured logs, attached through Celery signals.

Nothing here is in the task's path: a failure to count or log is logged and forgotten. The main
worker process serves ``/metrics`` on ``DIGITIZE_METRICS_PORT``; each pool process counts the
documents it finishes and observes per-page stage latencies from the rows it just stored.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import signals

from digitize.log_setup import set_document, setup_logging
from digitize.settings import get_settings
from worker import metrics

log = logging.getLogger("digitize.worker")
_started: dict[str, float] = {}
_tokens: dict[str, Any] = {}


@signals.setup_logging.connect
def _logging(loglevel: Any = None, **_: Any) -> None:
    """Celery leaves logging to us: JSON lines with document ids when configured."""
    setup_logging(loglevel or get_settings().log_level)


@signals.worker_init.connect
def _exporter(**_: Any) -> None:
    port = get_settings().metrics_port
    if port:
        metrics.start_worker_exporter(port)


@signals.worker_process_shutdown.connect
def _process_gone(**_: Any) -> None:
    metrics.mark_process_dead(os.getpid())


def _document_id(args: Any) -> int | None:
    try:
        return int(args[0])
    except (TypeError, ValueError, IndexError):
        return None


@signals.task_prerun.connect
def _before(task_id: str | None = None, args: Any = None, **_: Any) -> None:
    if task_id is None:
        return
    _started[task_id] = time.perf_counter()
    _tokens[task_id] = set_document(_document_id(args))


@signals.task_retry.connect
def _retry(**_: Any) -> None:
    metrics.TASK_RETRIES.inc()


@signals.task_postrun.connect
def _after(task_id: str | None = None, retval: Any = None, **_: Any) -> None:
    if task_id is None:
        return
    started = _started.pop(task_id, None)
    token = _tokens.pop(task_id, None)
    try:
        if isinstance(retval, dict) and started is not None:
            record(retval, time.perf_counter() - started)
    except Exception:
        log.exception("could not record metrics for a task")
    finally:
        if token is not None:
            try:
                token.var.reset(token)
            except ValueError:  # another context; the next task sets its own id anyway
                set_document(None)


def record(result: dict[str, Any], seconds: float) -> None:
    """Count the document and observe its pages' stage timings (read back from its rows)."""
    status, skipped = str(result.get("status")), bool(result.get("skipped"))
    doc_id = result.get("document_id")
    metrics.observe_document(status, seconds, skipped)
    pages = 0
    if status == "done" and not skipped and doc_id is not None:
        timings = page_timings(int(doc_id))
        metrics.observe_pages(timings)
        pages = len(timings)
    log.info(
        "document %s %s",
        doc_id,
        "already finished" if skipped else status,
        extra={"status": status, "skipped": skipped, "pages": pages, "seconds": round(seconds, 3)},
    )


def page_timings(document_id: int) -> list[dict[str, float]]:
    """Each stored page's ``timings_ms`` (the driver measured them while reading)."""
    from db import queries
    from db.session import session_scope

    with session_scope() as session:
        return queries.page_timings(session, document_id)
