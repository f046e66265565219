"""Accounts and API tokens, shared by the CLI and the tests."""

from __future__ import annotations

from sqlalchemy import select

from db.models import ApiToken, User, utcnow
from db.session import session_scope
from digitize.errors import ConflictError, NotFoundError
from review.deps import hash_api_token
from review.security import hash_password, new_token


def add_user(
    url: str, username: str, password: str, *, admin: bool = False, update: bool = False
) -> bool:
    """Create ``username`` (True) or, with ``update``, reset its password (False)."""
    with session_scope(url) as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is not None:
            if not update:
                raise ConflictError(f"user {username!r} exists (use --update to change it)")
            user.password_hash = hash_password(password)
            user.is_admin = admin or user.is_admin
            user.is_active = True
            return False
        db.add(
            User(
                username=username,
                password_hash=hash_password(password),
                is_admin=admin,
                is_active=True,
                created_at=utcnow(),
            )
        )
        return True


def create_token(url: str, username: str, name: str = "") -> str:
    """A new API token for ``username``; the caller shows it once."""
    token = new_token()
    with session_scope(url) as db:
        uid = db.scalar(select(User.id).where(User.username == username))
        if uid is None:
            raise NotFoundError(f"user {username!r} does not exist")
        db.add(
            ApiToken(user_id=uid, name=name, token_hash=hash_api_token(token), created_at=utcnow())
        )
    return token
