"""Group verification: every doubtful crop the machine read as the same digit, in one grid.

A reviewer confirms the grid at a glance and ticks only the wrong ones. Tiles are leased through
their fields (the same lease as field review), so two reviewers never see the same crop at once.
Confirmed crops get ``corrected_value`` (training labels); rejected ones send their field to field
review. A field whose every digit is now confirmed by a person, and which was flagged only for
confidence, is settled with the digits' values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from db.models import Digit, Field, ReviewEvent, utcnow
from review.queue import LEASE, lock_free, pending, record, release

GRID_SIZE = 60
#: Reasons that mean only "the machine was unsure", which confirming every digit answers.
CONFIDENCE_REASONS = frozenset({"low_confidence_digit", "low_confidence_field"})
REJECTED = "reject"


def _rejected() -> object:
    return exists().where(ReviewEvent.digit_id == Digit.id, ReviewEvent.action == REJECTED)


def _doubtful() -> list[object]:
    return [
        Digit.needs_review.is_(True),
        Digit.corrected_value.is_(None),
        Digit.value.is_not(None),
        ~_rejected(),  # type: ignore[operator]
    ]


def group_counts(db: Session) -> list[tuple[int, int]]:
    """How many doubtful crops wait per predicted digit (0-9, zeros included)."""
    stmt = (
        select(Digit.value, func.count())
        .join(Field, Field.id == Digit.field_id)
        .where(*_doubtful(), pending())  # type: ignore[arg-type]
        .group_by(Digit.value)
    )
    counts = dict.fromkeys(range(10), 0)
    for value, n in db.execute(stmt):
        if value is not None:
            counts[int(value)] = int(n)
    return sorted(counts.items())


@dataclass
class Tile:
    id: int
    field_id: int
    name: str
    confidence: float


def claim_group(db: Session, uid: int, digit: int, size: int = GRID_SIZE) -> tuple[list[Tile], int]:
    """Lease the fields behind the most doubtful crops read as ``digit``; tiles and total."""
    now = utcnow()
    base = (
        select(Digit.id, Digit.field_id, Field.name, Digit.confidence)
        .join(Field, Field.id == Digit.field_id)
        .where(Digit.value == digit, *_doubtful(), pending())  # type: ignore[arg-type]
    )
    total = int(db.scalar(select(func.count()).select_from(base.subquery())) or 0)
    tiles: list[Tile] = []
    lost: set[int] = set()  # fields a rival leased between our SELECT and UPDATE
    for _round in range(4):
        stmt = base.where(lock_free(uid, now))
        if tiles:
            stmt = stmt.where(Digit.id.not_in([t.id for t in tiles]))
        if lost:
            stmt = stmt.where(Digit.field_id.not_in(sorted(lost)))
        candidates = list(
            db.execute(stmt.order_by(Digit.confidence, Digit.id).limit(size - len(tiles)))
        )
        if not candidates:
            break
        field_ids = sorted({r.field_id for r in candidates})
        db.execute(
            update(Field)
            .where(Field.id.in_(field_ids), lock_free(uid, now))
            .values(locked_by=uid, locked_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        mine = set(
            db.scalars(select(Field.id).where(Field.id.in_(field_ids), Field.locked_by == uid))
        )
        lost |= set(field_ids) - mine
        tiles += [Tile(*r) for r in candidates if r.field_id in mine]
        if len(tiles) >= size or mine == set(field_ids):
            break
    tiles.sort(key=lambda t: (t.confidence, t.id))
    return tiles, total


@dataclass
class GroupOutcome:
    confirmed: int = 0
    rejected: int = 0
    lost: int = 0  # tiles whose lease another reviewer took meanwhile
    settled_fields: int = 0


def submit_group(
    db: Session, uid: int, username: str, digit: int, shown: Sequence[int], wrong: Sequence[int]
) -> GroupOutcome:
    """Confirm every shown crop as ``digit`` except the ``wrong`` ones; settle finished fields."""
    now = utcnow()
    out = GroupOutcome()
    wrong_set = set(wrong) & set(shown)
    rows = list(
        db.execute(
            select(Digit.id, Digit.field_id)
            .join(Field, Field.id == Digit.field_id)
            .where(
                Digit.id.in_(list(shown)),
                Digit.value == digit,
                Digit.corrected_value.is_(None),
                pending(),
                lock_free(uid, now),
            )
        )
    )
    out.lost = len(set(shown)) - len(rows)
    touched: set[int] = set()
    for digit_id, field_id in rows:
        touched.add(field_id)
        if digit_id in wrong_set:
            record(
                db,
                uid,
                username,
                REJECTED,
                field_id=field_id,
                digit_id=digit_id,
                old=str(digit),
                new=None,
            )
            out.rejected += 1
            continue
        res = db.execute(
            update(Digit)
            .where(Digit.id == digit_id, Digit.corrected_value.is_(None))
            .values(
                corrected_value=digit, corrected_by=uid, corrected_at=now, version=Digit.version + 1
            )
            .execution_options(synchronize_session=False)
        )
        if res.rowcount:  # type: ignore[attr-defined]
            record(
                db,
                uid,
                username,
                "confirm",
                field_id=field_id,
                digit_id=digit_id,
                old=str(digit),
                new=str(digit),
            )
            out.confirmed += 1
    for field_id in sorted(touched):
        if _settle(db, uid, username, field_id):
            out.settled_fields += 1
    release(db, uid, sorted(touched))
    return out


def _settle(db: Session, uid: int, username: str, field_id: int) -> bool:
    """Settle a field whose every digit a person confirmed, when nothing else was wrong."""
    f = db.execute(
        select(Field.value, Field.reasons, Field.version).where(Field.id == field_id, pending())
    ).first()
    if f is None or not set(f.reasons or []) <= CONFIDENCE_REASONS:
        return False
    digits = list(
        db.execute(
            select(Digit.id, Digit.value, Digit.corrected_value, Digit.needs_review)
            .where(Digit.field_id == field_id)
            .order_by(Digit.position)
        )
    )
    if not digits or any(d.needs_review and d.corrected_value is None for d in digits):
        return False
    if db.scalar(
        select(func.count()).where(
            ReviewEvent.action == REJECTED, ReviewEvent.digit_id.in_([d.id for d in digits])
        )
    ):
        return False
    chars = [d.corrected_value if d.corrected_value is not None else d.value for d in digits]
    if any(c is None for c in chars):
        return False
    value = "".join(str(c) for c in chars)
    res = db.execute(
        update(Field)
        .where(and_(Field.id == field_id, Field.version == f.version, pending()))
        .values(
            reviewed_value=value,
            review_status="confirmed" if value == f.value else "corrected",
            reviewed_by=uid,
            reviewed_at=utcnow(),
            version=Field.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if not res.rowcount:  # type: ignore[attr-defined]
        return False
    action = "confirm" if value == f.value else "correct"
    record(db, uid, username, action, field_id=field_id, old=f.value, new=value)
    return True
