"""Group verification: every doubtful crop the machine read as the same digit, in one grid.

A reviewer confirms the grid at a glance and ticks only the wrong ones. Tiles are leased through
their fields (the same lease as field review), so two reviewers never see the same crop at once.
Confirmed crops get ``corrected_value`` (training labels); rejected ones send their field to field
review. A field whose every digit is now confirmed by a person, and which was flagged only for
confidence, is settled with the digits' values. The SQL lives in ``db.review_groups``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from db import review_groups as rg
from db import review_queue as rq
from db.models import utcnow

GRID_SIZE = 60


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
    rows = rg.shown_still_open(db, uid, digit, shown, now)
    out.lost = len(set(shown)) - len(rows)
    touched: set[int] = set()
    for digit_id, field_id in rows:
        touched.add(field_id)
        if digit_id in wrong_set:
            rq.record_event(
                db,
                uid,
                username,
                rg.REJECTED,
                field_id=field_id,
                digit_id=digit_id,
                old=str(digit),
                new=None,
            )
            out.rejected += 1
            continue
        if rg.confirm_digit(db, uid, digit_id, digit, now):
            rq.record_event(
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
        if rg.settle_field(db, uid, username, field_id):
            out.settled_fields += 1
    rq.release(db, uid, sorted(touched))
    return out
