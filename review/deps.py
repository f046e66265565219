"""Request-scoped dependencies: the database session, the signed-in person, CSRF and API tokens.

Page routers depend on ``page_guard`` (session required; CSRF required on every unsafe method); API
routers on ``api_guard`` (Bearer token or a signed-in session). Guards sit on the routers, not on
each route, so a new route cannot forget them. Administrators' routes add ``admin_guard`` (or take
an ``AdminUser``): anyone else gets 403.

Sessions live on the server (``db.web_sessions``): the signed cookie carries a random session id,
and every request needs its row alive (not signed out, not expired, password unchanged) and its
user active. ``start_session``/``end_session`` are what sign-in and sign-out call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from db import users, web_sessions
from db.session import session_scope
from digitize.settings import Settings
from review import security
from review.rendering import flash

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Reviewer:
    """The signed-in person as views need them (never the ORM row: no lazy loads in templates)."""

    id: int
    username: str
    is_admin: bool


class LoginRequired(Exception):
    """Raised by the page guard; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfRejected(Exception):
    """A write without the session's CSRF token."""


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request: ``session_scope`` commits it when the view returns normally and
    rolls it back when the view raises (views and ``db.*`` functions never commit)."""
    with session_scope(request.app.state.settings.database_url) as session:
        yield session


#: ``scope="function"``: commit BEFORE the response leaves. With the default request scope the
#: commit ran after a redirect was sent, and the browser's next request could read stale rows.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def session_user(request: Request, db: Session) -> Reviewer | None:
    """The active user behind the session cookie's live server-side session, or None (and the
    cookie is emptied, CSRF token kept so the sign-in form still works)."""
    sid = request.session.get(security.SESSION_ID_KEY)
    if not isinstance(sid, str) or not sid:
        return None
    live = web_sessions.live_session(db, security.digest(sid))
    if live is None:
        csrf = request.session.get(security.CSRF_SESSION_KEY)
        request.session.clear()
        if csrf:
            request.session[security.CSRF_SESSION_KEY] = csrf
        flash(request, "info", "Your session has ended: sign in again.")
        return None
    return Reviewer(id=live.user_id, username=live.username, is_admin=live.is_admin)


def start_session(request: Request, db: Session, uid: int) -> None:
    """Sign ``uid`` in: a fresh cookie (new session id and CSRF token: no fixation) and its row.

    A session the browser still held is revoked first."""
    end_session(request, db)
    sid = security.new_token()
    web_sessions.create_session(db, uid, security.digest(sid), security.SESSION_TTL)
    request.session[security.SESSION_ID_KEY] = sid
    security.csrf_token(request.session)


def end_session(request: Request, db: Session) -> None:
    """Sign out: the server-side session is revoked (a copy of the cookie opens nothing)."""
    sid = request.session.get(security.SESSION_ID_KEY)
    if isinstance(sid, str) and sid:
        web_sessions.revoke_session(db, security.digest(sid))
    request.session.clear()


async def check_csrf(request: Request) -> None:
    """Reject unsafe methods whose form field or header lacks the session's token."""
    if request.method in SAFE_METHODS:
        return
    submitted = request.headers.get(security.CSRF_HEADER)
    if not submitted:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(security.CSRF_FORM_FIELD)
            submitted = value if isinstance(value, str) else None
    if not security.csrf_ok(request.session, submitted):
        raise CsrfRejected()


async def page_guard(request: Request, db: DbSession) -> Reviewer:
    """Session required (else redirect to sign-in), then CSRF on writes."""
    user = session_user(request, db)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    await check_csrf(request)
    request.state.user = user
    return user


CurrentUser = Annotated[Reviewer, Depends(page_guard)]


def admin_guard(user: CurrentUser) -> Reviewer:
    """``page_guard``, then 403 for anyone but an administrator."""
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="This page is for administrators only.")
    return user


AdminUser = Annotated[Reviewer, Depends(admin_guard)]


def api_guard(request: Request, db: DbSession) -> Reviewer | None:
    """Bearer ``settings.api_token`` or a per-user token; a signed-in browser session also works."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        token = token.strip()
        configured = request.app.state.settings.api_token
        if configured and security.tokens_equal(configured, token):
            return None  # the service token: no person behind it
        row = users.token_owner(db, security.digest(token))
        if row is not None:
            users.touch_token(db, row[0])
            return Reviewer(id=row[1], username=row[2], is_admin=row[3])
    elif (user := session_user(request, db)) is not None:
        return user
    raise HTTPException(
        status_code=401,
        detail="a valid API token is required (Authorization: Bearer <token>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def hash_api_token(token: str) -> str:
    """What ``api_tokens.token_hash`` stores for ``token``."""
    return security.digest(token)
