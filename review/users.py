"""Accounts and API tokens, shared by the CLI and the tests.

Each call is one unit of work (``db.session.session_scope``); the SQL lives in ``db.users``.
Changing a password or disabling a user ends that user's web sessions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db import users
from db.session import session_scope
from db.users import TokenRow, UserRow
from digitize.errors import ConflictError, NotFoundError
from review.deps import hash_api_token
from review.security import hash_password, new_token


def add_user(
    url: str, username: str, password: str, *, admin: bool = False, update: bool = False
) -> bool:
    """Create ``username`` (True) or, with ``update``, reset its password (False) and end every
    session it had."""
    with session_scope(url) as db:
        user = users.find_user(db, username)
        if user is not None:
            if not update:
                raise ConflictError(f"user {username!r} exists (use --update to change it)")
            users.reset_user(db, user, hash_password(password), admin=admin)
            return False
        users.create_user(db, username, hash_password(password), admin=admin)
        return True


def _uid(db: Session, username: str) -> int:
    uid = users.user_id(db, username)
    if uid is None:
        raise NotFoundError(f"user {username!r} does not exist")
    return uid


def create_token(url: str, username: str, name: str = "") -> str:
    """A new API token for ``username``; the caller shows it once."""
    token = new_token()
    with session_scope(url) as db:
        users.add_api_token(db, _uid(db, username), hash_api_token(token), name)
    return token


def list_users(url: str) -> list[UserRow]:
    with session_scope(url) as db:
        return users.list_users(db)


def set_active(url: str, username: str, active: bool) -> int:
    """Enable or disable ``username``; how many live sessions disabling ended."""
    with session_scope(url) as db:
        return users.set_active(db, _uid(db, username), active)


def list_tokens(url: str, username: str) -> list[TokenRow]:
    with session_scope(url) as db:
        return users.list_tokens(db, _uid(db, username))


def revoke_token(url: str, token_id: int) -> datetime:
    """Revoke API token ``token_id``; when it was revoked (earlier if it already was)."""
    with session_scope(url) as db:
        when = users.revoke_token(db, token_id)
    if when is None:
        raise NotFoundError(f"no API token with id {token_id}")
    return when
