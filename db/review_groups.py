"""Group verification's SQL: doubtful crops per predicted digit, leasing a grid, confirming crops.

Tiles are leased through their fields (the same lease as field review, ``db.review_queue``), so two
reviewers never see the same crop at once. Functions take the caller's ``Session`` and never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from db.models import Digit, Field, ReviewEvent, utcnow
from db.review_queue import claim_fields, lock_free, pending, record_event

#: Reasons that mean only "the machine was unsure", which confirming every digit answers.
CONFIDENCE_REASONS = frozenset({"low_confidence_digit", "low_confidence_field"})
#: The review event of a crop a person said is not the digit the machine read.
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


def claim_group(db: Session, uid: int, digit: int, size: int) -> tuple[list[Tile], int]:
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
        mine = claim_fields(db, uid, field_ids, now)
        lost |= set(field_ids) - mine
        tiles += [Tile(*r) for r in candidates if r.field_id in mine]
        if len(tiles) >= size or mine == set(field_ids):
            break
    tiles.sort(key=lambda t: (t.confidence, t.id))
    return tiles, total


def shown_still_open(
    db: Session, uid: int, digit: int, shown: Sequence[int], now: datetime
) -> list[tuple[int, int]]:
    """``(digit_id, field_id)`` of the shown crops still read as ``digit``, unlabelled, pending
    and not leased by somebody else: the ones a submitted grid may still settle."""
    rows = db.execute(
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
    return [(r[0], r[1]) for r in rows]


def confirm_digit(db: Session, uid: int, digit_id: int, digit: int, now: datetime) -> bool:
    """Label one crop as ``digit`` unless a person labelled it meanwhile; True when labelled."""
    res = db.execute(
        update(Digit)
        .where(Digit.id == digit_id, Digit.corrected_value.is_(None))
        .values(
            corrected_value=digit, corrected_by=uid, corrected_at=now, version=Digit.version + 1
        )
        .execution_options(synchronize_session=False)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def settle_field(db: Session, uid: int, username: str, field_id: int) -> bool:
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
    record_event(db, uid, username, action, field_id=field_id, old=f.value, new=value)
    return True


@dataclass
class DigitInField:
    """What drawing a crop inside its field needs: both boxes (page pixels) and the field image."""

    digit_box: list[Any]
    field_box: list[Any]
    image: bytes | None
    reasons: list[Any]
    batch_id: int
    template: str | None
    name: str


def digit_in_field(db: Session, digit_id: int) -> DigitInField | None:
    """The digit's box with its field's box, stored image and identity (None: no such digit)."""
    row = db.execute(
        select(
            Digit.box,
            Field.box,
            Field.image_jpeg,
            Field.reasons,
            Field.batch_id,
            Field.template,
            Field.name,
        )
        .join(Field, Field.id == Digit.field_id)
        .where(Digit.id == digit_id)
    ).first()
    if row is None:
        return None
    return DigitInField(
        list(row[0] or []), list(row[1] or []), row[2], list(row[3] or []), row[4], row[5], row[6]
    )
