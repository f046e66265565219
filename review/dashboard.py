"""Numbers for the dashboard: per-batch progress, throughput and the confidence distribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import DONE, Batch, Document, Field
from db.queries import batch_status
from review.charts import histogram_svg

BINS = 20
MAX_BATCHES = 30


@dataclass
class BatchRow:
    id: int
    label: str
    created: str
    queued: int
    processing: int
    done: int
    failed: int
    pages: int
    needs_review: int
    pages_per_minute: float | None


def _throughput(db: Session, batch_ids: list[int]) -> dict[int, float]:
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


def confidence_histogram(db: Session, batch_id: int | None) -> list[int]:
    # Scalar two-argument minimum: least() on PostgreSQL, min() on SQLite.
    smallest = func.least if db.get_bind().dialect.name == "postgresql" else func.min
    bucket = smallest(func.floor(Field.confidence * BINS), BINS - 1)
    stmt = select(bucket, func.count()).group_by(bucket)
    if batch_id is not None:
        stmt = stmt.where(Field.batch_id == batch_id)
    counts = [0] * BINS
    for b, n in db.execute(stmt):
        if b is not None:
            counts[max(0, min(BINS - 1, int(b)))] += int(n)
    return counts


def build(db: Session, selected: int | None, threshold: float) -> dict[str, Any]:
    batches = list(
        db.execute(
            select(Batch.id, Batch.name, Batch.origin, Batch.created_at)
            .order_by(Batch.id.desc())
            .limit(MAX_BATCHES)
        )
    )
    speed = _throughput(db, [b.id for b in batches])
    rows = []
    for b in batches:
        st = batch_status(db, b.id)
        rows.append(
            BatchRow(
                id=b.id,
                label=f"#{b.id} {b.name or b.origin}",
                created=b.created_at.strftime("%Y-%m-%d %H:%M"),
                queued=st.counts["queued"],
                processing=st.counts["processing"],
                done=st.counts["done"],
                failed=st.counts["failed"],
                pages=st.pages,
                needs_review=st.needs_review,
                pages_per_minute=speed.get(b.id),
            )
        )
    label = next((r.label for r in rows if r.id == selected), None)
    chart = histogram_svg(confidence_histogram(db, selected), threshold=threshold)
    return {
        "batches": rows,
        "selected": selected,
        "selected_label": label,
        "chart": chart,
        "threshold": threshold,
    }
