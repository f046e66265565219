"""Numbers for the dashboard: per-batch progress, throughput and the confidence distribution.

The SQL lives in ``db.dashboard`` (and ``db.queries.batch_status``); this module shapes it for the
page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from db import dashboard as data
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


def build(db: Session, selected: int | None, threshold: float) -> dict[str, Any]:
    batches = data.recent_batches(db, MAX_BATCHES)
    speed = data.throughput(db, [b.id for b in batches])
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
    chart = histogram_svg(
        data.confidence_histogram(db, selected, BINS), threshold=threshold, log=True
    )
    return {
        "batches": rows,
        "selected": selected,
        "selected_label": label,
        "chart": chart,
        "threshold": threshold,
    }
