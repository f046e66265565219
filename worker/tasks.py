"""Thin Celery tasks: an id in, the pipeline driver does the work, transient faults retried."""

from __future__ import annotations

from typing import Any

from celery import Task

from db.session import session_scope
from digitize.errors import TransientError
from digitize.settings import get_settings
from worker import monitoring  # noqa: F401  (metrics and JSON logs via Celery signals)
from worker.celery_app import app
from worker.pipeline import process_document

#: Retry delays grow 2, 4, 8, ... seconds, capped.
BACKOFF_CAP_S = 120


@app.task(bind=True, name="digitize.process_document")
def process_document_task(self: Task, document_id: int) -> dict[str, Any]:
    settings = get_settings()
    try:
        with session_scope() as session:
            out = process_document(session, document_id, settings=settings)
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
