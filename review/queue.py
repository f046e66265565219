"""The review queue: listing, leases and saving a person's verdict on one field.

Leases: a field is held by one reviewer at a time (``locked_by``/``locked_until``), claimed with a
single ``UPDATE … WHERE lock is free`` so two reviewers racing for it cannot both win. Saves are
compare-and-set on ``version``: a stale form gets ``ConflictError`` (HTTP 409), never a silent
overwrite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from db.models import Batch, Digit, Document, Field, Page, ReviewEvent, User, utcnow
from digitize.errors import BadInputError, ConflictError, NotFoundError

LEASE = timedelta(minutes=10)
PAGE_SIZE = 50
#: What a person may type: digits and the separators real forms use (dates, amounts).
VALUE_RE = re.compile(r"^[0-9 .,/\-]{0,255}$")


@dataclass(frozen=True)
class QueueFilters:
    batch: int | None = None
    template: str | None = None
    field: str | None = None

    @classmethod
    def parse(cls, batch: str | None, template: str | None, name: str | None) -> QueueFilters:
        b = int(batch) if batch and batch.strip().isdigit() else None
        return cls(b, template or None, name or None)

    def params(self, **extra: Any) -> dict[str, Any]:
        p: dict[str, Any] = {"batch": self.batch, "template": self.template, "field": self.field}
        p.update(extra)
        return {k: v for k, v in p.items() if v not in (None, "")}

    @property
    def query(self) -> str:
        p = self.params()
        return f"?{urlencode(p)}" if p else ""

    def query_with(self, **extra: Any) -> str:
        p = self.params(**extra)
        return f"?{urlencode(p)}" if p else ""

    @property
    def active(self) -> bool:
        return bool(self.params())

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
    db: Session, filters: QueueFilters, offset: int = 0, limit: int = PAGE_SIZE
) -> tuple[list[QueueRow], int]:
    """One page of the queue, most doubtful first, and the total count."""
    now = utcnow()
    holder = aliased(User)
    # Page through ids alone (index-only on ix_fields_pending), then join the 50 rows shown.
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


def count_queue(db: Session, filters: QueueFilters) -> int:
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


def claim_next(db: Session, uid: int, filters: QueueFilters, skipped: Sequence[int]) -> int | None:
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
    digits: list[DigitView] = field(default_factory=list)


def load_field(db: Session, field_id: int) -> FieldView:
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


def holder_of(db: Session, field_id: int) -> tuple[str, datetime] | None:
    """Who else holds the lease on a field right now, and until when."""
    row = db.execute(
        select(User.username, Field.locked_until)
        .join(User, User.id == Field.locked_by)
        .where(Field.id == field_id, Field.locked_until > utcnow())
    ).first()
    if row is None or row[1] is None:
        return None
    return (row[0], row[1])


def record(
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


def clean_value(raw: str) -> str:
    value = raw.strip()
    if not VALUE_RE.match(value):
        raise BadInputError(f"{raw!r} is not a value this form can hold (digits and . , / - only)")
    return value


def save_review(
    db: Session, uid: int, username: str, field_id: int, version: int, action: str, raw: str
) -> str:
    """Apply a verdict (accept/unreadable/skip) to a leased field; returns the event action.

    ``accept`` with the machine's value is a confirmation, with another value a correction; both
    label the field's digit crops when the value has one digit per crop (training data).
    """
    now = utcnow()
    current = load_field(db, field_id)
    if action == "skip":
        release(db, uid, [field_id])
        record(db, uid, username, "skip", field_id=field_id)
        return "skip"
    old = (
        current.value
        if current.reviewed_at is None
        else (None if current.review_status == "unreadable" else current.reviewed_value)
    )
    if action == "unreadable":
        new: str | None = None
        status = event = "unreadable"
    elif action == "accept":
        new = clean_value(raw)
        status = "confirmed" if new == current.value else "corrected"
        event = "confirm" if new == old else "correct"
    else:
        raise BadInputError(f"unknown action {action!r}")
    res = db.execute(
        update(Field)
        .where(Field.id == field_id, Field.version == version, lock_free(uid, now))
        .values(
            reviewed_value=new,
            review_status=status,
            reviewed_by=uid,
            reviewed_at=now,
            locked_by=None,
            locked_until=None,
            version=Field.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if not res.rowcount:  # type: ignore[attr-defined]
        raise _conflict(db, field_id, version, new)
    record(db, uid, username, event, field_id=field_id, old=old, new=new)
    if new is not None and new.isdigit() and len(new) == len(current.digits):
        for d, ch in zip(current.digits, new, strict=True):
            db.execute(
                update(Digit)
                .where(Digit.id == d.id)
                .values(
                    corrected_value=int(ch),
                    corrected_by=uid,
                    corrected_at=now,
                    version=Digit.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
    return event


def _conflict(db: Session, field_id: int, version: int, new: str | None) -> ConflictError:
    """Explain why a save matched no row: a newer version, or someone else's lease."""
    row = db.execute(
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
    if row is None:
        return ConflictError(f"field {field_id} no longer exists; nothing was saved")
    yours = "unreadable" if new is None else repr(new)
    if row.version != version:
        theirs = "unreadable" if row.review_status == "unreadable" else repr(row.reviewed_value)
        when = row.reviewed_at.strftime("%H:%M:%S UTC") if row.reviewed_at else "meanwhile"
        who = row.username or "somebody else"
        return ConflictError(
            f"{who} saved this field at {when} (value {theirs}) while you had it open. "
            f"Your value {yours} was NOT saved; open the field again to change it."
        )
    held = holder_of(db, field_id)
    who = held[0] if held else "another reviewer"
    until = held[1].strftime("%H:%M:%S UTC") if held else "shortly"
    return ConflictError(
        f"{who} is reviewing this field (until {until}). Your value {yours} was NOT saved."
    )
