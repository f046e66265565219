"""Signing in and out: the only page without a session (``public``) and ``/logout``.

Sessions are server-side (``review.deps.start_session``/``end_session``): signing out revokes the
session, so a copy of the old cookie opens nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from db import review_queue, users
from review import security
from review.deps import CurrentUser, DbSession, check_csrf, end_session, page_guard, start_session
from review.rendering import flash, render

public = APIRouter(include_in_schema=False)
router = APIRouter(dependencies=[Depends(page_guard)], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@public.get("/login", name="login_page")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "username": ""})


@public.post("/login", name="login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    db: DbSession,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    row = users.login_candidate(db, username)
    if row is None or not security.verify_password(row[1], password):
        if row is None:
            security.verify_password(security.DUMMY_HASH, password)  # same time either way
        flash(request, "error", "Wrong user name or password.")
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "username": username},
            status_code=401,
        )
    uid, stored_hash = row
    rehashed = security.hash_password(password) if security.needs_rehash(stored_hash) else None
    users.record_login(db, uid, password_hash=rehashed)
    start_session(request, db, uid)  # a fresh session id and CSRF token per sign-in: no fixation
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", name="logout")
def logout(request: Request, db: DbSession, user: CurrentUser) -> Response:
    review_queue.release_all(db, user.id)  # colleagues need not wait for the leases to run out
    end_session(request, db)
    flash(request, "info", "Signed out.")
    return RedirectResponse("/login", status_code=303)
