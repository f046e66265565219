"""The database is the source of truth: re-send documents whose messages went missing."""

from __future__ import annotations

from db import queries
from db.session import session_scope
from digitize.settings import get_settings


def recover(older_than_s: float | None = None) -> list[int]:
    """Re-enqueue documents queued/processing longer than ``stale_after_s``; returns their ids.

    Re-sending one that is in fact still running costs a redundant read, never a duplicate:
    only the first finisher writes results.
    """
    from worker.tasks import enqueue

    settings = get_settings()
    age = settings.stale_after_s if older_than_s is None else older_than_s
    with session_scope() as session:
        ids = queries.stale_documents(session, age)
    if ids:
        enqueue(ids)
    return ids
