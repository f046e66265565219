"""db.users on its own: who may sign in, what a token opens, and creating both."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from db import users
from db.models import ApiToken, User
from db.session import session_scope


def test_accounts_for_sign_in(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as db:
        users.create_user(db, "alice", "hash-1", admin=False)
        users.create_user(db, "root", "hash-r", admin=True)
    with session_scope(sqlite_url) as db:
        uid = users.user_id(db, "alice")
        assert uid is not None and users.user_id(db, "nobody") is None
        assert users.active_user(db, uid) == (uid, "alice", False)
        assert users.login_candidate(db, "alice") == (uid, "hash-1")
        assert users.login_candidate(db, "nobody") is None
        before = datetime.now(UTC)
        users.record_login(db, uid)
    with session_scope(sqlite_url) as db:
        alice = users.find_user(db, "alice")
        assert alice is not None and alice.password_hash == "hash-1"
        assert alice.last_login_at is not None and alice.last_login_at >= before
        users.record_login(db, uid, password_hash="hash-2")  # a rehash on sign-in
        db.execute(update(User).where(User.id == uid).values(is_active=False))
    with session_scope(sqlite_url) as db:  # deactivated: no session, no sign-in
        assert users.active_user(db, uid) is None
        assert users.login_candidate(db, "alice") is None
        alice = users.find_user(db, "alice")
        assert alice is not None and alice.password_hash == "hash-2"
        users.reset_user(db, alice, "hash-3", admin=False)
        root = users.find_user(db, "root")
        assert root is not None
        users.reset_user(db, root, "hash-4", admin=False)  # never takes admin away
    with session_scope(sqlite_url) as db:
        assert users.login_candidate(db, "alice") == (uid, "hash-3")
        root_id = users.user_id(db, "root")
        assert root_id is not None and users.active_user(db, root_id) == (root_id, "root", True)


def test_tokens_open_only_while_live(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as db:
        users.create_user(db, "alice", "h", admin=True)
    with session_scope(sqlite_url) as db:
        uid = users.user_id(db, "alice")
        assert uid is not None
        users.add_api_token(db, uid, "a" * 64, "ci")
    with session_scope(sqlite_url) as db:
        owner = users.token_owner(db, "a" * 64)
        assert owner is not None and owner[1:] == (uid, "alice", True)
        assert users.token_owner(db, "b" * 64) is None
        users.touch_token(db, owner[0])
    with session_scope(sqlite_url) as db:
        token = db.get(ApiToken, owner[0])
        assert token is not None and token.name == "ci" and token.last_used_at is not None
        token.revoked_at = datetime.now(UTC)
    with session_scope(sqlite_url) as db:
        assert users.token_owner(db, "a" * 64) is None
