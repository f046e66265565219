"""Job-state queries: batches, documents, claiming, finishing and recovery.

State changes are compare-and-set UPDATEs (``WHERE status IN ...``), so two workers that got the
same message cannot both finish a document: the loser's UPDATE matches no row and it rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db.models import (
    DOCUMENT_STATUSES,
    DONE,
    DUPLICATE,
    FAILED,
    PROCESSING,
    QUEUED,
    Batch,
    Document,
    Field,
    Page,
    utcnow,
)
from db.storage import Storage, sha256_of
from digitize.errors import NotFoundError


def create_batch(
    session: Session, origin: str, templates: Sequence[Any] = (), name: str = ""
) -> Batch:
    """A new batch; ``templates`` are packed entries (dicts) or local paths (stored resolved)."""
    stored = [t if isinstance(t, dict) else str(Path(t).resolve()) for t in templates]
    batch = Batch(origin=origin, name=name, templates=stored)
    session.add(batch)
    session.flush()
    return batch


@dataclass
class Added:
    """What happened to one submitted file: a new document, or an earlier one it duplicates.

    For a repeat, ``document`` is the earlier document (which holds the reading) and ``listed``
    the repeat's own row in this batch (status ``duplicate``), so the batch names every file.
    """

    document: Document
    duplicate: bool
    listed: Document | None = None


def _new_document(
    session: Session, batch: Batch, source: str, sha256: str, **columns: Any
) -> Document:
    """Insert a document row of ``batch``; finished at once unless it is still to be read."""
    now = utcnow()
    unfinished = columns.get("status", QUEUED) in (QUEUED, PROCESSING)
    doc = Document(
        batch_id=batch.id,
        source=source,
        sha256=sha256,
        created_at=now,
        updated_at=now,
        finished_at=None if unfinished else now,
        **columns,
    )
    session.add(doc)
    session.flush()
    return doc


def add_failed_document(
    session: Session, batch: Batch, source: str, sha256: str, size: int, error: str
) -> Document:
    """Record a file that could not even be stored (unreadable, over the size limit)."""
    return _new_document(session, batch, source, sha256, size=size, status=FAILED, error=error)


def add_document(
    session: Session,
    batch: Batch,
    source: str,
    data: bytes,
    storage: Storage,
    *,
    force: bool = False,
    status: str = QUEUED,
    error: str | None = None,
) -> Added:
    """Store the bytes and queue a document, unless the same bytes were submitted before.

    A repeat (same SHA-256, any batch) is listed in this batch as a ``duplicate`` of the earlier
    document and not read again; ``force`` queues it again in this batch (once: within one batch
    the same bytes are never queued twice).
    """
    digest = sha256_of(data)
    read = Document.duplicate_of.is_(None)
    earlier = session.scalar(
        select(Document).where(Document.batch_id == batch.id, Document.sha256 == digest, read)
    )
    if earlier is None and not force:
        earlier = session.scalar(
            select(Document)
            .where(Document.sha256 == digest, read)
            .order_by(Document.id.desc())
            .limit(1)
        )
    if earlier is not None:
        listed = _new_document(
            session,
            batch,
            source,
            digest,
            size=len(data),
            storage=earlier.storage,
            status=DUPLICATE,
            duplicate_of=earlier.id,
        )
        return Added(earlier, True, listed)
    storage.put(session, data)
    doc = _new_document(
        session,
        batch,
        source,
        digest,
        size=len(data),
        storage=storage.kind,
        status=status,
        error=error,
    )
    return Added(doc, False)


def get_document(session: Session, document_id: int) -> Document:
    doc = session.get(Document, document_id, populate_existing=True)
    if doc is None:
        raise NotFoundError(f"document {document_id} does not exist")
    return doc


def claim(session: Session, document_id: int, worker: str, max_attempts: int) -> bool:
    """Mark a queued (or stale processing) document as ours; False when it is already finished.

    A document that already took ``max_attempts`` attempts (each one killed a worker, say) is
    failed instead of being tried forever.
    """
    now = utcnow()
    too_many = session.execute(
        update(Document)
        .where(
            Document.id == document_id,
            Document.status.in_((QUEUED, PROCESSING)),
            Document.attempts >= max_attempts,
        )
        .values(
            status=FAILED,
            error=f"gave up after {max_attempts} attempts (the reader crashed or timed out)",
            updated_at=now,
            finished_at=now,
        )
    )
    if too_many.rowcount:  # type: ignore[attr-defined]
        return False
    res = session.execute(
        update(Document)
        .where(Document.id == document_id, Document.status.in_((QUEUED, PROCESSING)))
        .values(
            status=PROCESSING,
            attempts=Document.attempts + 1,
            started_at=now,
            updated_at=now,
            worker=worker[:255],
        )
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def finish(
    session: Session,
    document_id: int,
    status: str,
    *,
    error: str | None = None,
    page_count: int | None = None,
    timings_ms: dict[str, float] | None = None,
) -> bool:
    """Set the final status once; False when another worker finished the document first."""
    now = utcnow()
    res = session.execute(
        update(Document)
        .where(Document.id == document_id, Document.status.in_((QUEUED, PROCESSING)))
        .values(
            status=status,
            error=error,
            page_count=page_count,
            timings_ms=timings_ms,
            updated_at=now,
            finished_at=now,
        )
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def requeue(session: Session, document_ids: Sequence[int]) -> None:
    """Put finished documents back in the queue (``--force`` reprocessing)."""
    session.execute(
        update(Document)
        .where(Document.id.in_(document_ids))
        .values(status=QUEUED, error=None, attempts=0, updated_at=utcnow(), finished_at=None)
    )


def stale_documents(session: Session, older_than_s: float, limit: int | None = None) -> list[int]:
    """Documents queued/processing with no progress for ``older_than_s``: their message is lost.

    Their ``updated_at`` is touched so a second ``recover`` right after does not send them twice.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    stmt = (
        select(Document.id)
        .where(Document.status.in_((QUEUED, PROCESSING)), Document.updated_at <= cutoff)
        .order_by(Document.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(update(Document).where(Document.id.in_(ids)).values(updated_at=utcnow()))
    return ids


@dataclass
class BatchStatus:
    batch_id: int | None
    counts: dict[str, int]
    pages: int
    fields: int
    needs_review: int
    created_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def read(self) -> int:
        """Documents read or to be read: every one but the listed duplicates."""
        return self.total - self.counts[DUPLICATE]

    @property
    def finished(self) -> bool:
        return self.counts[QUEUED] + self.counts[PROCESSING] == 0


def batch_status(session: Session, batch_id: int | None = None) -> BatchStatus:
    """Document counts per status and field counts, for one batch or everything."""
    q = select(Document.status, func.count(), func.coalesce(func.sum(Document.page_count), 0))
    fq = select(func.count(), func.count().filter(Field.needs_review & Field.reviewed_at.is_(None)))
    created = None
    if batch_id is not None:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise NotFoundError(f"batch {batch_id} does not exist")
        created = batch.created_at
        q = q.where(Document.batch_id == batch_id)
        fq = fq.where(Field.batch_id == batch_id)
    counts = dict.fromkeys(DOCUMENT_STATUSES, 0)
    pages = 0
    for status, n, p in session.execute(q.group_by(Document.status)):
        counts[status] = int(n)
        pages += int(p or 0)
    nf, nr = session.execute(fq).one()
    return BatchStatus(batch_id, counts, pages, int(nf or 0), int(nr or 0), created)


def recent_batches(session: Session, limit: int = 20) -> list[Batch]:
    return list(session.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit)))


def finished_documents(
    session: Session, document_ids: Sequence[int]
) -> list[tuple[int, str, str | None]]:
    """``(id, status, error)`` of those of ``document_ids`` that are done or failed."""
    rows = session.execute(
        select(Document.id, Document.status, Document.error).where(
            Document.id.in_(list(document_ids)), Document.status.in_((DONE, FAILED))
        )
    ).all()
    return [(int(i), str(s), e) for i, s, e in rows]


def failed_documents(session: Session, batch_id: int) -> list[tuple[str, str | None]]:
    """``(source, error)`` of the batch's failed documents, in the order they were given."""
    rows = session.execute(
        select(Document.source, Document.error)
        .where(Document.batch_id == batch_id, Document.status == FAILED)
        .order_by(Document.id)
    ).all()
    return [(str(s), e) for s, e in rows]


def page_timings(session: Session, document_id: int) -> list[dict[str, float]]:
    """Each stored page's ``timings_ms`` (the driver measured them while reading), in order."""
    rows = session.scalars(
        select(Page.timings_ms).where(Page.document_id == document_id).order_by(Page.number)
    ).all()
    return [dict(r or {}) for r in rows]


def status_counts(session: Session) -> dict[str, int]:
    """Documents per status, over every batch (statuses with none are absent)."""
    rows = session.execute(select(Document.status, func.count()).group_by(Document.status)).all()
    return {str(s): int(n) for s, n in rows}
