"""The supervisor's numbers: who reviewed how much, what people had to correct, the audit trail
and the documents that failed.

Functions take the caller's ``Session`` and only read. Each answers in one or two grouped queries
(never one per row or per person), so the pages stay fast however many events there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from db.models import FAILED, Batch, Document, Field, ReviewEvent

#: Verdicts on a whole field (group verification's per-crop events carry a ``digit_id``).
FIELD_VERDICTS = ("confirm", "correct", "unreadable")


def _hour(db: Session) -> ColumnElement[Any]:
    """``created_at`` truncated to the hour, as something to group by (any value per hour)."""
    if db.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", ReviewEvent.created_at)
    return func.strftime("%Y-%m-%d %H", ReviewEvent.created_at)


@dataclass
class ReviewerStats:
    username: str
    confirmed: int = 0  # fields the person found right
    corrected: int = 0  # fields the person changed
    unreadable: int = 0
    skipped: int = 0
    crops_confirmed: int = 0  # group verification, per crop
    crops_rejected: int = 0
    active_hours: int = 0  # distinct clock hours with at least one field verdict
    first: datetime | None = None
    last: datetime | None = None

    @property
    def fields(self) -> int:
        """Fields reviewed: confirmations + corrections + unreadable."""
        return self.confirmed + self.corrected + self.unreadable

    @property
    def per_hour(self) -> float | None:
        """Fields reviewed per hour of work (hours in which the person gave a verdict)."""
        return self.fields / self.active_hours if self.active_hours else None


def reviewer_stats(db: Session, since: datetime) -> list[ReviewerStats]:
    """Per reviewer since ``since``: field verdicts by kind, skips, group-verification crops and
    the hours worked; busiest first."""
    hour = _hour(db)
    is_field = ReviewEvent.digit_id.is_(None)
    stmt = (
        select(
            ReviewEvent.username,
            ReviewEvent.action,
            is_field,
            hour,
            func.count(),
            func.min(ReviewEvent.created_at),
            func.max(ReviewEvent.created_at),
        )
        .where(ReviewEvent.created_at >= since)
        .group_by(ReviewEvent.username, ReviewEvent.action, is_field, hour)
    )
    out: dict[str, ReviewerStats] = {}
    hours: dict[str, set[Any]] = {}
    for username, action, whole_field, h, n, first, last in db.execute(stmt):
        s = out.setdefault(username, ReviewerStats(username))
        n = int(n)
        if whole_field:
            if action == "confirm":
                s.confirmed += n
            elif action == "correct":
                s.corrected += n
            elif action == "unreadable":
                s.unreadable += n
            elif action == "skip":
                s.skipped += n
            if action in FIELD_VERDICTS:
                hours.setdefault(username, set()).add(h)
        elif action == "confirm":
            s.crops_confirmed += n
        elif action == "reject":
            s.crops_rejected += n
        s.first = first if s.first is None or (first and first < s.first) else s.first
        s.last = last if s.last is None or (last and last > s.last) else s.last
    for username, hs in hours.items():
        out[username].active_hours = len(hs)
    return sorted(out.values(), key=lambda s: (-s.fields, s.username))


@dataclass
class CorrectionRate:
    key: str  # a field name or a template name
    reviewed: int
    corrected: int
    unreadable: int

    @property
    def rate(self) -> float:
        """Share of reviewed fields the machine had wrong (corrected or unreadable)."""
        return (self.corrected + self.unreadable) / self.reviewed if self.reviewed else 0.0


def correction_rates(
    db: Session, by: str, since: datetime | None = None, limit: int = 50
) -> list[CorrectionRate]:
    """Reviewed fields grouped by field ``name`` or ``template``, most often wrong first.

    Counts each field's latest verdict (``fields.review_status``), so a field reviewed twice
    counts once.
    """
    if by not in ("name", "template"):
        raise ValueError(by)
    key = Field.name if by == "name" else func.coalesce(Field.template, "(no template)")
    stmt = (
        select(
            key,
            func.count(),
            func.sum(case((Field.review_status == "corrected", 1), else_=0)),
            func.sum(case((Field.review_status == "unreadable", 1), else_=0)),
        )
        .where(Field.reviewed_at.is_not(None))
        .group_by(key)
    )
    if since is not None:
        stmt = stmt.where(Field.reviewed_at >= since)
    rows = [
        CorrectionRate(str(k), int(n), int(c or 0), int(u or 0)) for k, n, c, u in db.execute(stmt)
    ]
    rows.sort(key=lambda r: (-r.rate, -r.reviewed, r.key))
    return rows[:limit]


@dataclass
class AuditRow:
    id: int
    created_at: datetime
    username: str
    action: str
    field_id: int | None
    digit_id: int | None
    field_name: str | None
    source: str | None
    old_value: str | None
    new_value: str | None


@dataclass
class AuditPage:
    rows: list[AuditRow] = field(default_factory=list)
    total: int = 0


def audit_trail(db: Session, reviewer: str | None, offset: int, limit: int) -> AuditPage:
    """One page of ``review_events``, newest first, optionally of one reviewer; and the total."""
    conds = [ReviewEvent.username == reviewer] if reviewer else []
    ids = (
        select(ReviewEvent.id)
        .where(*conds)
        .order_by(ReviewEvent.id.desc())
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(
            ReviewEvent.id,
            ReviewEvent.created_at,
            ReviewEvent.username,
            ReviewEvent.action,
            ReviewEvent.field_id,
            ReviewEvent.digit_id,
            Field.name,
            Document.source,
            ReviewEvent.old_value,
            ReviewEvent.new_value,
        )
        .join(ids, ids.c.id == ReviewEvent.id)
        .outerjoin(Field, Field.id == ReviewEvent.field_id)
        .outerjoin(Document, Document.id == Field.document_id)
        .order_by(ReviewEvent.id.desc())
    )
    rows = [AuditRow(*tuple(r)) for r in db.execute(stmt)]
    total = int(db.scalar(select(func.count()).select_from(ReviewEvent).where(*conds)) or 0)
    return AuditPage(rows, total)


def reviewers(db: Session) -> list[str]:
    """Everybody with at least one event, by name."""
    return list(db.scalars(select(ReviewEvent.username).distinct().order_by(ReviewEvent.username)))


@dataclass
class FailedDocument:
    id: int
    batch_id: int
    batch_label: str
    source: str
    error: str | None
    attempts: int
    updated_at: datetime


def failed_documents(
    db: Session, batch_id: int | None, offset: int, limit: int
) -> tuple[list[FailedDocument], int]:
    """Failed documents with the reason the worker gave, newest first; and their count."""
    conds = [Document.status == FAILED]
    if batch_id is not None:
        conds.append(Document.batch_id == batch_id)
    stmt = (
        select(
            Document.id,
            Document.batch_id,
            Batch.name,
            Batch.origin,
            Document.source,
            Document.error,
            Document.attempts,
            Document.updated_at,
        )
        .join(Batch, Batch.id == Document.batch_id)
        .where(*conds)
        .order_by(Document.updated_at.desc(), Document.id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows = [
        FailedDocument(
            id=r[0],
            batch_id=r[1],
            batch_label=f"#{r[1]} {r[2] or r[3]}",
            source=r[4],
            error=r[5],
            attempts=int(r[6] or 0),
            updated_at=r[7],
        )
        for r in db.execute(stmt)
    ]
    total = int(db.scalar(select(func.count()).select_from(Document).where(*conds)) or 0)
    return rows, total
