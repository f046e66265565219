"""The Celery edge: thin tasks (an id in, the pipeline driver does the work, transient faults
retried), sending documents, re-sending the ones the broker lost, and the worker's start-up hooks.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
from celery import Task, signals

from db import queries
from db.session import dispose_engines, session_scope
from digitize.errors import TransientError
from digitize.settings import get_settings
from worker import monitoring  # noqa: F401  (metrics and JSON logs via Celery signals)
from worker.celery_app import app
from worker.pipeline import default_classifier, process_document

log = logging.getLogger(__name__)

#: Retry delays grow 2, 4, 8, ... seconds, capped.
BACKOFF_CAP_S = 120


@app.task(bind=True, name="digitize.process_document")
def process_document_task(self: Task, document_id: int) -> dict[str, Any]:
    settings = get_settings()
    try:
        out = process_document(document_id, settings=settings)
    except TransientError as exc:  # database unreachable, lock timeout: try again later
        delay = min(BACKOFF_CAP_S, 2 ** (self.request.retries + 1))
        raise self.retry(exc=exc, countdown=delay, max_retries=settings.task_max_retries) from exc
    return {"document_id": document_id, "status": out.status, "skipped": out.skipped}


def enqueue(document_ids: list[int]) -> None:
    """Send one message per document over a single broker connection."""
    try:
        with app.producer_or_acquire() as producer:
            for doc_id in document_ids:
                process_document_task.apply_async((doc_id,), producer=producer)
    except Exception as exc:  # kombu/redis errors: the documents stay queued in the database
        raise TransientError(
            f"broker unreachable ({exc}); the documents are queued in the database and "
            "`digitize recover` will send them"
        ) from exc


def recover(older_than_s: float | None = None) -> list[int]:
    """Re-enqueue documents queued/processing longer than ``stale_after_s``; returns their ids.

    Re-sending one that is in fact still running costs a redundant read, never a duplicate:
    only the first finisher writes results.
    """
    settings = get_settings()
    age = settings.stale_after_s if older_than_s is None else older_than_s
    with session_scope() as session:
        ids = queries.stale_documents(session, age)
    if ids:
        enqueue(ids)
    return ids


@signals.worker_process_init.connect
def _load_model_once(**_: Any) -> None:
    """Each pool process: one thread per library (processes give the parallelism), model loaded."""
    cv2.setNumThreads(1)
    dispose_engines(close=False)  # never share the parent's connections across fork
    try:
        default_classifier(get_settings())
    except Exception:  # reported per document when a task needs it
        log.exception("could not load the model at worker start")


@signals.worker_ready.connect
def _recover_at_startup(**_: Any) -> None:
    """A starting worker re-sends documents whose messages were lost (broker restart, crash)."""
    try:
        ids = recover()
        if ids:
            log.warning("re-enqueued %d stale documents at start-up", len(ids))
    except Exception:
        log.exception("start-up recovery failed; run `digitize recover` later")
