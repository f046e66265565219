"""Passwords, CSRF tokens and API tokens: the few primitives the web edge needs.

Passwords use argon2id through argon2-cffi (a well-kept library with sane defaults). CSRF uses the
synchronizer-token pattern: one random token per session, echoed in a hidden form field or an
``X-CSRF-Token`` header and compared in constant time on every write.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def hash_password(password: str) -> str:
    """An argon2id hash string (salt and parameters included)."""
    if not password:
        raise ValueError("empty password")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def new_token() -> str:
    """A random URL-safe token (CSRF tokens, per-user API tokens)."""
    return secrets.token_urlsafe(32)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = new_token()
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_ok(session: dict[str, Any], submitted: str | None) -> bool:
    """Constant-time check of a submitted CSRF token against the session's."""
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison for API tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


#: Verified against when the user name is unknown, so timing does not reveal which names exist.
DUMMY_HASH = _hasher.hash("not-a-real-password")
