"""Accounts and API tokens, shared by the CLI and the tests.

Each call is one unit of work (``db.session.session_scope``); the SQL lives in ``db.users``.
"""

from __future__ import annotations

from db import users
from db.session import session_scope
from digitize.errors import ConflictError, NotFoundError
from review.deps import hash_api_token
from review.security import hash_password, new_token


def add_user(
    url: str, username: str, password: str, *, admin: bool = False, update: bool = False
) -> bool:
    """Create ``username`` (True) or, with ``update``, reset its password (False)."""
    with session_scope(url) as db:
        user = users.find_user(db, username)
        if user is not None:
            if not update:
                raise ConflictError(f"user {username!r} exists (use --update to change it)")
            users.reset_user(db, user, hash_password(password), admin=admin)
            return False
        users.create_user(db, username, hash_password(password), admin=admin)
        return True


def create_token(url: str, username: str, name: str = "") -> str:
    """A new API token for ``username``; the caller shows it once."""
    token = new_token()
    with session_scope(url) as db:
        uid = users.user_id(db, username)
        if uid is None:
            raise NotFoundError(f"user {username!r} does not exist")
        users.add_api_token(db, uid, hash_api_token(token), name)
    return token
