"""The supervisor's pages shaped for templates: team throughput, what people correct, the audit
trail and failed documents. The SQL lives in ``db.audit`` (grouped queries, none per row)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from db import audit
from db.models import utcnow

#: The windows the team figures cover (query parameter ``window``).
WINDOWS = {"day": timedelta(days=1), "week": timedelta(days=7)}
AUDIT_PAGE = 50
FAILED_PAGE = 50


def team(db: Session, window: str) -> dict[str, Any]:
    """Per-reviewer throughput and correction rates by field name and by template."""
    if window not in WINDOWS:
        window = "day"
    since = utcnow() - WINDOWS[window]
    people = audit.reviewer_stats(db, since)
    totals = audit.ReviewerStats("all reviewers")
    for p in people:
        for attr in (
            "confirmed",
            "corrected",
            "unreadable",
            "skipped",
            "crops_confirmed",
            "crops_rejected",
            "active_hours",
        ):
            setattr(totals, attr, getattr(totals, attr) + getattr(p, attr))
    return {
        "window": window,
        "windows": list(WINDOWS),
        "since": since,
        "people": people,
        "totals": totals,
        "by_name": audit.correction_rates(db, "name", since),
        "by_template": audit.correction_rates(db, "template", since),
    }


def trail(db: Session, reviewer: str | None, offset: int) -> dict[str, Any]:
    page = audit.audit_trail(db, reviewer or None, offset, AUDIT_PAGE)
    return {
        "events": page.rows,
        "total": page.total,
        "offset": offset,
        "page_size": AUDIT_PAGE,
        "prev_offset": max(0, offset - AUDIT_PAGE) if offset > 0 else None,
        "next_offset": offset + AUDIT_PAGE if offset + AUDIT_PAGE < page.total else None,
        "reviewer": reviewer or "",
        "reviewers": audit.reviewers(db),
    }


def failed(db: Session, batch: int | None, offset: int) -> dict[str, Any]:
    docs, total = audit.failed_documents(db, batch, offset, FAILED_PAGE)
    return {
        "docs": docs,
        "total": total,
        "batch": batch,
        "offset": offset,
        "prev_offset": max(0, offset - FAILED_PAGE) if offset > 0 else None,
        "next_offset": offset + FAILED_PAGE if offset + FAILED_PAGE < total else None,
    }
