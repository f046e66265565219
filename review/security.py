"""Passwords, CSRF tokens, session ids and API tokens: the few primitives the web edge needs.

Passwords use argon2id through argon2-cffi (a well-kept library with sane defaults). CSRF uses the
synchronizer-token pattern: one random token per session, echoed in a hidden form field or an
``X-CSRF-Token`` header and compared in constant time on every write. Session ids and API tokens
are random; the database keeps only their SHA-256 (``digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

CSRF_SESSION_KEY = "csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: The cookie's key for the server-side session id (``web_sessions.id_hash`` is its digest).
SESSION_ID_KEY = "sid"
#: How long a sign-in lasts at most (the cookie's max age is the same).
SESSION_TTL = timedelta(hours=12)


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


def digest(secret: str) -> str:
    """The SHA-256 (hex) stored in place of a session id or API token."""
    return hashlib.sha256(secret.encode()).hexdigest()


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
