"""Sessions that end: sign-out, password change, disabled users, revoked tokens, admin routes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from db.models import WebSession, utcnow
from db.session import session_scope
from review import security
from review.app import SESSION_COOKIE, create_app, iter_routes
from review.deps import AdminUser, admin_guard
from review.users import add_user, create_token, list_tokens, revoke_token, set_active
from tests.fixtures_review import PASSWORD, review_settings
from tests.test_review_app import csrf_of, sign_in

NEW_PASSWORD = "a brand new passphrase"


def new_client(url: str, cookie: str | None = None) -> TestClient:
    client = TestClient(create_app(review_settings(url)))
    if cookie is not None:
        client.cookies.set(SESSION_COOKIE, cookie)
    return client


@pytest.fixture
def client(review_db: str) -> Iterator[TestClient]:
    with new_client(review_db) as c:
        yield c


def cookie_of(client: TestClient) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value


def refused(url: str, cookie: str) -> bool:
    """A fresh browser holding ``cookie`` is sent to sign-in and the API says 401."""
    with new_client(url, cookie) as other:
        page = other.get("/dashboard", follow_redirects=False)
        api = other.get("/api/batches")
    return (
        page.status_code == 303
        and page.headers["location"].startswith("/login")
        and (api.status_code == 401)
    )


def sign_out(client: TestClient) -> None:
    r = client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    assert r.status_code == 200 and "Signed out." in r.text  # the sign-in page


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(
    client: TestClient, review_db: str
) -> None:
    sign_in(client)
    old = cookie_of(client)
    assert not refused(review_db, old)  # a copy works while the session lives
    sign_out(client)
    assert refused(review_db, old)  # the old cookie opens nothing any more
    with new_client(review_db, old) as other:
        r = other.get("/dashboard")
        assert r.url.path == "/login" and "Your session has ended" in r.text
        sign_in(other)  # the refused browser can still sign in (its CSRF token was kept)
        assert other.get("/dashboard", follow_redirects=False).status_code == 200


def test_only_a_hash_of_the_session_id_is_stored(client: TestClient, review_db: str) -> None:
    sign_in(client)
    payload = cookie_of(client).split(".", 1)[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {security.SESSION_ID_KEY, security.CSRF_SESSION_KEY}
    sid = data[security.SESSION_ID_KEY]
    with session_scope(review_db) as db:
        rows = db.execute(select(WebSession.id_hash, WebSession.revoked_at)).all()
    assert rows == [(security.digest(sid), None)]
    assert sid not in repr(rows)


def test_signing_in_again_revokes_the_browsers_previous_session(
    client: TestClient, review_db: str
) -> None:
    sign_in(client)
    first = cookie_of(client)
    sign_in(client)  # the login form is public: signing in over a live session
    assert refused(review_db, first)
    assert client.get("/dashboard", follow_redirects=False).status_code == 200


def test_expired_session_is_refused(client: TestClient, review_db: str) -> None:
    sign_in(client)
    with session_scope(review_db) as db:
        db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_password_change_ends_every_session(client: TestClient, review_db: str) -> None:
    sign_in(client)
    with new_client(review_db) as laptop:
        sign_in(laptop)
        cookies = [cookie_of(client), cookie_of(laptop)]
    add_user(review_db, "bob", PASSWORD)
    with new_client(review_db) as bob:
        sign_in(bob, "bob")
        add_user(review_db, "alice", NEW_PASSWORD, update=True)
        assert bob.get("/dashboard", follow_redirects=False).status_code == 200  # not bob's
    assert all(refused(review_db, c) for c in cookies)
    assert client.get("/", follow_redirects=False).status_code == 303
    sign_in(client, "alice", NEW_PASSWORD)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_disabled_user_is_refused_on_the_web_and_the_api(
    client: TestClient, review_db: str
) -> None:
    token = create_token(review_db, "alice", "ci")
    bearer = {"Authorization": f"Bearer {token}"}
    sign_in(client)
    assert client.get("/api/batches", headers=bearer).status_code == 200
    assert set_active(review_db, "alice", False) == 1  # one live session ended
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    with new_client(review_db) as anon:
        assert anon.get("/api/batches", headers=bearer).status_code == 401
        r = anon.post(
            "/login",
            data={
                "username": "alice",
                "password": PASSWORD,
                "csrf_token": csrf_of(anon.get("/login").text),
            },
            follow_redirects=False,
        )
        assert r.status_code == 401
        assert set_active(review_db, "alice", True) == 0
        assert anon.get("/api/batches", headers=bearer).status_code == 200
        sign_in(anon)


def test_revoked_token_is_refused(client: TestClient, review_db: str) -> None:
    keep = create_token(review_db, "alice", "keep")
    drop = create_token(review_db, "alice", "drop")
    for token in (keep, drop):
        assert client.get("/api/batches", headers={"Authorization": f"Bearer {token}"}).is_success
    tokens = {t.name: t for t in list_tokens(review_db, "alice")}
    assert tokens["drop"].last_used_at is not None and tokens["drop"].revoked_at is None
    when = revoke_token(review_db, tokens["drop"].id)
    assert revoke_token(review_db, tokens["drop"].id) == when  # a second revoke changes nothing
    r = client.get("/api/batches", headers={"Authorization": f"Bearer {drop}"})
    assert r.status_code == 401
    assert client.get("/api/batches", headers={"Authorization": f"Bearer {keep}"}).is_success


def _admin_only(route: APIRoute) -> bool:
    def walk(dep: object) -> bool:
        return getattr(dep, "call", None) is admin_guard or any(
            walk(d) for d in getattr(dep, "dependencies", [])
        )

    return walk(route.dependant)


def _with_admin_route(app: FastAPI) -> FastAPI:
    @app.get("/admin-probe")
    def probe(user: AdminUser) -> dict[str, str]:
        return {"admin": user.username}

    return app


def test_admin_routes_refuse_everyone_else(review_db: str) -> None:
    add_user(review_db, "root", PASSWORD, admin=True)
    app = _with_admin_route(create_app(review_settings(review_db)))
    admin_routes = [
        r for r in iter_routes(list(app.routes)) if isinstance(r, APIRoute) and _admin_only(r)
    ]
    assert "/admin-probe" in {r.path for r in admin_routes}
    with TestClient(app) as alice, TestClient(app) as root, TestClient(app) as anon:
        sign_in(alice)
        sign_in(root, "root")
        for route in admin_routes:
            path = route.path.replace("{", "").replace("}", "")
            for method in sorted(route.methods - {"HEAD"}):
                assert anon.request(method, path, follow_redirects=False).status_code == 303
                r = alice.request(method, path, follow_redirects=False)
                assert r.status_code == 403, (method, route.path, r.status_code)
        assert root.get("/admin-probe").json() == {"admin": "root"}
        assert alice.get("/admin-probe").status_code == 403
