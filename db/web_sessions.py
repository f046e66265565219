"""Server-side sessions of the review app: created at sign-in, checked on every request, revoked.

Functions take the caller's ``Session`` and never commit. Session ids arrive hashed (the caller
hashes, ``review.security``): a database dump holds nothing a browser could replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db.models import User, WebSession, utcnow

#: ``last_seen_at`` is written at most this often per session (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class LiveSession:
    session_id: int
    user_id: int
    username: str
    is_admin: bool


def create_session(db: Session, user_id: int, id_hash: str, ttl: timedelta) -> None:
    """A new session for ``user_id``, valid for ``ttl``; expired rows are swept on the way."""
    now = utcnow()
    db.execute(delete(WebSession).where(WebSession.expires_at < now))
    db.add(
        WebSession(
            user_id=user_id,
            id_hash=id_hash,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
        )
    )


def live_session(db: Session, id_hash: str) -> LiveSession | None:
    """The session behind ``id_hash`` if it is unrevoked, unexpired and its user active, else
    None; notes that it was seen (at most every ``TOUCH_EVERY``)."""
    now = utcnow()
    row = db.execute(
        select(WebSession.id, WebSession.last_seen_at, User.id, User.username, User.is_admin)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.id_hash == id_hash,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            User.is_active,
        )
    ).first()
    if row is None:
        return None
    if row[1] is None or now - row[1] >= TOUCH_EVERY:
        db.execute(update(WebSession).where(WebSession.id == row[0]).values(last_seen_at=now))
    return LiveSession(session_id=row[0], user_id=row[2], username=row[3], is_admin=row[4])


def revoke_session(db: Session, id_hash: str) -> bool:
    """End one session (sign-out); False when there was no live one."""
    result = db.execute(
        update(WebSession)
        .where(WebSession.id_hash == id_hash, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def revoke_user_sessions(db: Session, user_id: int) -> int:
    """End every session of ``user_id`` (password changed, user disabled); how many were live."""
    now = utcnow()
    result = db.execute(
        update(WebSession)
        .where(
            WebSession.user_id == user_id,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_counts(db: Session) -> dict[int, int]:
    """``{user_id: live sessions}`` for users with at least one."""
    rows = db.execute(
        select(WebSession.user_id, func.count())
        .where(WebSession.revoked_at.is_(None), WebSession.expires_at > utcnow())
        .group_by(WebSession.user_id)
    ).all()
    return {uid: int(n) for uid, n in rows}
