"""Who settled each reviewed field: the reviewer's user name, for the results and exports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Field, ReviewEvent, User

CHUNK = 2000
#: Review events that settle a field (``skip`` does not; digit verdicts carry a ``digit_id``).
VERDICTS = ("confirm", "correct", "unreadable")


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def reviewer_names(db: Session, fields: Iterable[Field]) -> dict[int, str]:
    """``{field_id: user name}`` for the reviewed ones among ``fields``, in a few queries.

    The name comes from the user in ``Field.reviewed_by``; when that user was deleted (the column
    is then null) from the field's latest verdict in the audit trail, which keeps the name.
    Fields nobody reviewed, or whose reviewer is unknown, are left out.
    """
    reviewed = [f for f in fields if f.reviewed_at is not None]
    by_user = sorted({f.reviewed_by for f in reviewed if f.reviewed_by is not None})
    users: dict[int, str] = {}
    for chunk in _chunks(by_user):
        stmt = select(User.id, User.username).where(User.id.in_(chunk))
        users.update(db.execute(stmt).tuples().all())
    out = {f.id: users[f.reviewed_by] for f in reviewed if f.reviewed_by in users}
    orphans = sorted(f.id for f in reviewed if f.id not in out)
    for chunk in _chunks(orphans):
        rows = db.execute(
            select(ReviewEvent.field_id, ReviewEvent.username)
            .where(
                ReviewEvent.field_id.in_(chunk),
                ReviewEvent.digit_id.is_(None),
                ReviewEvent.action.in_(VERDICTS),
            )
            .order_by(ReviewEvent.created_at, ReviewEvent.id)
        ).tuples()
        for field_id, username in rows:  # the latest verdict wins
            if field_id is not None:
                out[field_id] = username
    return out
