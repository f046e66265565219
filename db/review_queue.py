"""The review queue's SQL: listing, counts, leases (claims), loading a field, verdicts and events.

Every function takes the caller's ``Session`` and never commits: the unit of work belongs to
whoever opened the session (``db.session.session_scope``, which the web app's request dependency
uses too).

Leases: a field is held by one reviewer at a time (``locked_by``/``locked_until``), claimed with a
single ``UPDATE … WHERE lock is free`` so two reviewers racing for it cannot both win. Verdicts are
compare-and-set on ``version``: a save that matches no row tells the caller it lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from db.models import Batch, Digit, Document, Field, Page, ReviewEvent, User, utcnow
from digitize.errors import NotFoundError

LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class QueueFilter:
    """Which part of the queue: one batch, one template, one field name (None: any)."""

    batch: int | None = None
    template: str | None = None
    field: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.batch is not None:
            conds.append(Field.batch_id == self.batch)
        if self.template is not None:
            conds.append(Field.template == self.template)
        if self.field is not None:
            conds.append(Field.name == self.field)
        return conds


def pending() -> ColumnElement[bool]:
    """Flagged by the machine and not yet settled by a person."""
    # Written exactly like the partial index ix_fields_pending's predicate, so it is used.
    return and_(Field.needs_review, Field.reviewed_at.is_(None))


def lock_free(uid: int, now: datetime) -> ColumnElement[bool]:
    """Nobody else holds the field right now."""
    return or_(Field.locked_by.is_(None), Field.locked_until < now, Field.locked_by == uid)


@dataclass
class QueueRow:
    id: int
    name: str
    value: str
    confidence: float
    reasons: list[str]
    template: str | None
    source: str
    page_number: int
    locked_by: str | None


def list_queue(
    db: Session, filters: QueueFilter, offset: int, limit: int
) -> tuple[list[QueueRow], int]:
    """One page of the queue, most doubtful first, and the total count."""
    now = utcnow()
    holder = aliased(User)
    # Page through ids alone (index-only on ix_fields_pending), then join the rows shown.
    ids = (
        select(Field.id, Field.confidence)
        .where(pending(), *filters.conditions())
        .order_by(Field.confidence, Field.id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    stmt = (
        select(
            Field.id,
            Field.name,
            Field.value,
            Field.confidence,
            Field.reasons,
            Field.template,
            Document.source,
            Page.number,
            holder.username,
        )
        .join(ids, ids.c.id == Field.id)
        .join(Page, Page.id == Field.page_id)
        .join(Document, Document.id == Field.document_id)
        .outerjoin(holder, and_(holder.id == Field.locked_by, Field.locked_until > now))
        .order_by(Field.confidence, Field.id)
    )
    rows = [
        QueueRow(
            id=r[0],
            name=r[1],
            value=r[2],
            confidence=r[3],
            reasons=list(r[4] or []),
            template=r[5],
            source=r[6],
            page_number=r[7],
            locked_by=r[8],
        )
        for r in db.execute(stmt)
    ]
    total = count_queue(db, filters)
    return rows, total


def count_queue(db: Session, filters: QueueFilter) -> int:
    stmt = select(func.count()).select_from(Field).where(pending(), *filters.conditions())
    return int(db.scalar(stmt) or 0)


@dataclass
class Options:
    batches: list[Any]
    templates: list[str]
    fields: list[str]


@dataclass(frozen=True)
class BatchOption:
    id: int
    label: str


def filter_options(db: Session) -> Options:
    """Values for the filter menus: recent batches, and every template and field name."""
    batches = [
        BatchOption(bid, f"#{bid} {name}".strip())
        for bid, name in db.execute(
            select(Batch.id, Batch.name).order_by(Batch.id.desc()).limit(200)
        )
    ]
    return Options(batches, _distinct(db, "template"), _distinct(db, "name"))


def _distinct(db: Session, column: str, cap: int = 500) -> list[str]:
    """Distinct values of an indexed fields column by skip-scan: one index probe per value.

    ``SELECT DISTINCT`` would read every row (100k+); this walks the index from value to value.
    """
    if column not in ("template", "name"):  # a fixed identifier, never user input
        raise ValueError(column)
    sql = text(
        f"WITH RECURSIVE t(v, n) AS ("
        f" SELECT min({column}), 1 FROM fields"
        f" UNION ALL SELECT (SELECT min({column}) FROM fields WHERE {column} > t.v), t.n + 1"
        f" FROM t WHERE t.v IS NOT NULL AND t.n < :cap)"
        f" SELECT v FROM t WHERE v IS NOT NULL"
    )
    return [v for v in db.scalars(sql, {"cap": cap}) if v]


def claim(db: Session, uid: int, field_id: int) -> bool:
    """Take (or renew) the lease on one field; False when somebody else holds it."""
    now = utcnow()
    res = db.execute(
        update(Field)
        .where(Field.id == field_id, lock_free(uid, now))
        .values(locked_by=uid, locked_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def claim_fields(db: Session, uid: int, field_ids: Sequence[int], now: datetime) -> set[int]:
    """Lease every free field of ``field_ids`` in one UPDATE; the ids this reviewer now holds."""
    db.execute(
        update(Field)
        .where(Field.id.in_(field_ids), lock_free(uid, now))
        .values(locked_by=uid, locked_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return set(db.scalars(select(Field.id).where(Field.id.in_(field_ids), Field.locked_by == uid)))


def release(db: Session, uid: int, field_ids: Sequence[int]) -> None:
    """Give back leases we hold (others' leases are untouched)."""
    if field_ids:
        db.execute(
            update(Field)
            .where(Field.id.in_(field_ids), Field.locked_by == uid)
            .values(locked_by=None, locked_until=None)
            .execution_options(synchronize_session=False)
        )


def release_all(db: Session, uid: int) -> None:
    """Give back every lease a reviewer holds (on sign-out)."""
    db.execute(
        update(Field)
        .where(Field.locked_by == uid)
        .values(locked_by=None, locked_until=None)
        .execution_options(synchronize_session=False)
    )


def claim_next(db: Session, uid: int, filters: QueueFilter, skipped: Sequence[int]) -> int | None:
    """Lease the most doubtful free field (one we already hold comes first); None when done."""
    now = utcnow()
    stmt = (
        select(Field.id)
        .where(pending(), lock_free(uid, now), *filters.conditions())
        .order_by(Field.confidence, Field.id)
        .limit(20)
    )
    if skipped:
        stmt = stmt.where(Field.id.not_in(list(skipped)))
    for _attempt in range(5):  # a rival may take candidates between our SELECT and UPDATE
        ids = list(db.scalars(stmt))
        if not ids:
            return None
        for fid in ids:
            if claim(db, uid, fid):
                return fid
    return None


@dataclass
class DigitView:
    id: int
    value: int | None
    confidence: float
    needs_review: bool
    alternatives: list[Any]
    corrected_value: int | None
    rejected: bool = False  # a person said "not what the machine read" in group verification


@dataclass
class FieldView:
    id: int
    name: str
    value: str
    confidence: float
    reasons: list[str]
    template: str | None
    page_id: int
    page_number: int
    source: str
    version: int
    reviewed_value: str | None
    review_status: str | None
    reviewed_at: datetime | None
    batch_id: int = 0
    box: list[Any] = field(default_factory=list)  # [x, y, w, h] in page pixels
    digits: list[DigitView] = field(default_factory=list)


def load_field(db: Session, field_id: int) -> FieldView:
    """A field with its digits (in reading order); ``NotFoundError`` when there is none."""
    row = db.execute(
        select(
            Field.id,
            Field.name,
            Field.value,
            Field.confidence,
            Field.reasons,
            Field.template,
            Field.page_id,
            Page.number,
            Document.source,
            Field.version,
            Field.reviewed_value,
            Field.review_status,
            Field.reviewed_at,
            Field.batch_id,
            Field.box,
        )
        .join(Page, Page.id == Field.page_id)
        .join(Document, Document.id == Field.document_id)
        .where(Field.id == field_id)
    ).first()
    if row is None:
        raise NotFoundError(f"field {field_id} does not exist")
    view = FieldView(
        id=row[0],
        name=row[1],
        value=row[2],
        confidence=row[3],
        reasons=list(row[4] or []),
        template=row[5],
        page_id=row[6],
        page_number=row[7],
        source=row[8],
        version=row[9],
        reviewed_value=row[10],
        review_status=row[11],
        reviewed_at=row[12],
        batch_id=row[13],
        box=list(row[14] or []),
    )
    view.digits = [
        DigitView(
            id=d[0],
            value=d[1],
            confidence=d[2],
            needs_review=d[3],
            alternatives=list(d[4] or []),
            corrected_value=d[5],
        )
        for d in db.execute(
            select(
                Digit.id,
                Digit.value,
                Digit.confidence,
                Digit.needs_review,
                Digit.alternatives,
                Digit.corrected_value,
            )
            .where(Digit.field_id == field_id)
            .order_by(Digit.position)
        )
    ]
    rejected = set(
        db.scalars(
            select(ReviewEvent.digit_id).where(
                ReviewEvent.field_id == field_id, ReviewEvent.action == "reject"
            )
        )
    )
    for d in view.digits:
        d.rejected = d.id in rejected
    return view


def batch_templates(db: Session, batch_id: int) -> list[Any]:
    """The templates a batch was read with, as stored (``batches.templates``; [] = defaults)."""
    return list(db.scalar(select(Batch.templates).where(Batch.id == batch_id)) or [])


def holder_of(db: Session, field_id: int) -> tuple[str, datetime] | None:
    """Who holds the lease on a field right now, and until when."""
    row = db.execute(
        select(User.username, Field.locked_until)
        .join(User, User.id == Field.locked_by)
        .where(Field.id == field_id, Field.locked_until > utcnow())
    ).first()
    if row is None or row[1] is None:
        return None
    return (row[0], row[1])


def record_event(
    db: Session,
    uid: int,
    username: str,
    action: str,
    *,
    field_id: int | None = None,
    digit_id: int | None = None,
    old: str | None = None,
    new: str | None = None,
) -> None:
    """Append one review event (the audit trail of every verdict)."""
    db.add(
        ReviewEvent(
            user_id=uid,
            username=username,
            action=action,
            field_id=field_id,
            digit_id=digit_id,
            old_value=old,
            new_value=new,
            created_at=utcnow(),
        )
    )


def save_verdict(
    db: Session,
    uid: int,
    field_id: int,
    version: int,
    *,
    value: str | None,
    status: str,
    now: datetime,
) -> bool:
    """Settle a field at ``version`` that nobody else holds, releasing our lease; False when the
    compare-and-set matched no row (a newer version, or another reviewer's lease)."""
    res = db.execute(
        update(Field)
        .where(Field.id == field_id, Field.version == version, lock_free(uid, now))
        .values(
            reviewed_value=value,
            review_status=status,
            reviewed_by=uid,
            reviewed_at=now,
            locked_by=None,
            locked_until=None,
            version=Field.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def label_digits(db: Session, uid: int, labels: Sequence[tuple[int, int]], now: datetime) -> None:
    """Set ``corrected_value`` on each ``(digit_id, value)``: person-labelled training data."""
    for digit_id, value in labels:
        db.execute(
            update(Digit)
            .where(Digit.id == digit_id)
            .values(
                corrected_value=value,
                corrected_by=uid,
                corrected_at=now,
                version=Digit.version + 1,
            )
            .execution_options(synchronize_session=False)
        )


def last_verdict(
    db: Session, field_id: int
) -> Row[int, str | None, str | None, datetime | None, str | None] | None:
    """The field's version and latest verdict with who gave it (``version``, ``reviewed_value``,
    ``review_status``, ``reviewed_at``, ``username``); None when the field is gone."""
    return db.execute(
        select(
            Field.version,
            Field.reviewed_value,
            Field.review_status,
            Field.reviewed_at,
            User.username,
        )
        .outerjoin(User, User.id == Field.reviewed_by)
        .where(Field.id == field_id)
    ).first()
