"""Accounts and API tokens: looking people up for sign-in and API calls, creating them.

Functions take the caller's ``Session`` and never commit. Passwords and tokens arrive hashed:
hashing is the caller's business (``review.security``), so no secret reaches this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import web_sessions
from db.models import ApiToken, User, utcnow


def active_user(db: Session, uid: int) -> tuple[int, str, bool] | None:
    """``(id, username, is_admin)`` of an active user, or None (unknown or deactivated)."""
    row = db.execute(
        select(User.id, User.username, User.is_admin).where(User.id == uid, User.is_active)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def login_candidate(db: Session, username: str) -> tuple[int, str] | None:
    """``(id, password_hash)`` of the active user signing in as ``username``, or None."""
    row = db.execute(
        select(User.id, User.password_hash).where(User.username == username, User.is_active)
    ).first()
    return None if row is None else (row[0], row[1])


def record_login(db: Session, uid: int, *, password_hash: str | None = None) -> None:
    """Stamp a successful sign-in; with ``password_hash``, store the rehashed password too."""
    values: dict[str, object] = {"last_login_at": datetime.now(UTC)}
    if password_hash is not None:
        values["password_hash"] = password_hash
    db.execute(update(User).where(User.id == uid).values(**values))


def find_user(db: Session, username: str) -> User | None:
    """The account named ``username`` (active or not), or None."""
    return db.scalar(select(User).where(User.username == username))


def user_id(db: Session, username: str) -> int | None:
    return db.scalar(select(User.id).where(User.username == username))


def create_user(db: Session, username: str, password_hash: str, *, admin: bool) -> None:
    db.add(
        User(
            username=username,
            password_hash=password_hash,
            is_admin=admin,
            is_active=True,
            created_at=utcnow(),
        )
    )


def reset_user(db: Session, user: User, password_hash: str, *, admin: bool) -> int:
    """New password, reactivated; ``admin`` can grant the flag but never takes it away.

    Every session of the user ends (a changed password signs out everywhere); returns how many
    were live."""
    user.password_hash = password_hash
    user.is_admin = admin or user.is_admin
    user.is_active = True
    return web_sessions.revoke_user_sessions(db, user.id)


def add_api_token(db: Session, uid: int, token_hash: str, name: str = "") -> None:
    db.add(ApiToken(user_id=uid, name=name, token_hash=token_hash, created_at=utcnow()))


def token_owner(db: Session, token_hash: str) -> tuple[int, int, str, bool] | None:
    """``(token_id, user_id, username, is_admin)`` for a live token of an active user, or None."""
    row = db.execute(
        select(ApiToken.id, User.id, User.username, User.is_admin)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            User.is_active,
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


def touch_token(db: Session, token_id: int) -> None:
    """Remember when a token was last used."""
    db.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=datetime.now(UTC))
    )


@dataclass(frozen=True)
class UserRow:
    """One line of ``digitize user list``."""

    id: int
    username: str
    is_admin: bool
    is_active: bool
    last_login_at: datetime | None
    live_sessions: int
    live_tokens: int


def list_users(db: Session) -> list[UserRow]:
    """Every account by name, with its live sessions and unrevoked API tokens."""
    tokens = dict(
        db.execute(
            select(ApiToken.user_id, func.count())
            .where(ApiToken.revoked_at.is_(None))
            .group_by(ApiToken.user_id)
        )
        .tuples()
        .all()
    )
    sessions = web_sessions.live_counts(db)
    rows = db.execute(
        select(User.id, User.username, User.is_admin, User.is_active, User.last_login_at).order_by(
            User.username
        )
    ).all()
    return [
        UserRow(uid, name, admin, active, last, sessions.get(uid, 0), int(tokens.get(uid, 0)))
        for uid, name, admin, active, last in rows
    ]


def set_active(db: Session, uid: int, active: bool) -> int:
    """Enable or disable an account; disabling ends its sessions (returns how many were live).

    A disabled user cannot sign in and their API tokens are refused (``token_owner``); enabling
    makes the tokens work again (revoke them to end them for good).
    """
    db.execute(update(User).where(User.id == uid).values(is_active=active))
    return 0 if active else web_sessions.revoke_user_sessions(db, uid)


@dataclass(frozen=True)
class TokenRow:
    """One line of ``digitize user tokens``."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_tokens(db: Session, uid: int) -> list[TokenRow]:
    rows = db.execute(
        select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user_id == uid)
        .order_by(ApiToken.id)
    ).all()
    return [TokenRow(*row) for row in rows]


def revoke_token(db: Session, token_id: int) -> datetime | None:
    """Revoke an API token; its revocation time (the earlier one if it was revoked already), or
    None when there is no such token."""
    revoked = db.execute(select(ApiToken.revoked_at).where(ApiToken.id == token_id)).first()
    if revoked is None:
        return None
    if revoked[0] is not None:
        return revoked[0]
    now = utcnow()
    db.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=now))
    return now
