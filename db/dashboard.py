"""The dashboard's numbers: recent batches, throughput and the confidence distribution.

Functions take the caller's ``Session`` and only read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from db.models import DONE, Batch, Document, Field


def recent_batches(db: Session, limit: int) -> list[Row[Any]]:
    """The newest batches as rows of ``id``, ``name``, ``origin``, ``created_at``."""
    return list(
        db.execute(
            select(Batch.id, Batch.name, Batch.origin, Batch.created_at)
            .order_by(Batch.id.desc())
            .limit(limit)
        )
    )


def throughput(db: Session, batch_ids: list[int]) -> dict[int, float]:
    """Pages per minute over each batch's working span (first start → last finish)."""
    rows = db.execute(
        select(
            Document.batch_id,
            func.coalesce(func.sum(Document.page_count), 0),
            func.min(Document.started_at),
            func.max(Document.finished_at),
        )
        .where(Document.batch_id.in_(batch_ids), Document.status == DONE)
        .group_by(Document.batch_id)
    )
    out: dict[int, float] = {}
    for bid, pages, start, end in rows:
        if start is not None and end is not None and pages:
            span_min = max((end - start).total_seconds(), 1.0) / 60.0
            out[int(bid)] = float(pages) / span_min
    return out


def confidence_histogram(db: Session, batch_id: int | None, bins: int) -> list[int]:
    """How many fields fall in each of ``bins`` equal confidence ranges (all batches or one)."""
    # Scalar two-argument minimum: least() on PostgreSQL, min() on SQLite.
    smallest = func.least if db.get_bind().dialect.name == "postgresql" else func.min
    bucket = smallest(func.floor(Field.confidence * bins), bins - 1)
    stmt = select(bucket, func.count()).group_by(bucket)
    if batch_id is not None:
        stmt = stmt.where(Field.batch_id == batch_id)
    counts = [0] * bins
    for b, n in db.execute(stmt):
        if b is not None:
            counts[max(0, min(bins - 1, int(b)))] += int(n)
    return counts
