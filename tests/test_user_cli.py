"""``digitize user list|disable|enable|tokens|revoke-token`` and ``add --update``, via the CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from digitize.cli import _register, app
from digitize.errors import NotFoundError
from digitize.settings import get_settings
from review.app import create_app
from review.users import add_user, create_token
from tests.fixtures_review import PASSWORD, review_settings
from tests.test_exit_codes import _run
from tests.test_review_app import sign_in


@pytest.fixture
def cli(review_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DIGITIZE_DATABASE_URL", review_db)
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


def ok(cli: CliRunner, *args: str, stdin: str | None = None) -> str:
    r = cli.invoke(app, list(args), input=stdin)
    assert r.exit_code == 0, (args, r.output, r.exception)
    return r.output


def line_of(output: str, first: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [first])


def test_list_disable_enable(cli: CliRunner, review_db: str) -> None:
    add_user(review_db, "root", PASSWORD, admin=True)
    create_token(review_db, "alice", "ci")
    with TestClient(create_app(review_settings(review_db))) as browser:
        sign_in(browser)
        listed = ok(cli, "user", "list")
        assert listed.splitlines()[0].split() == [
            "name", "admin", "active", "last", "login", "sessions", "tokens"
        ]  # fmt: skip
        alice = line_of(listed, "alice")
        assert alice[1:3] == ["no", "yes"] and alice[-2:] == ["1", "1"]
        assert alice[3].startswith("20") and alice[5] == "UTC"  # last login stamped
        assert line_of(listed, "root") == ["root", "yes", "yes", "-", "0", "0"]
        assert "1 session(s) ended" in ok(cli, "user", "disable", "alice")
        assert browser.get("/", follow_redirects=False).status_code == 303
        alice = line_of(ok(cli, "user", "list"), "alice")
        assert alice[2] == "no" and alice[-2:] == ["0", "1"]
        ok(cli, "user", "enable", "alice")
        assert line_of(ok(cli, "user", "list"), "alice")[2] == "yes"
        sign_in(browser)


def test_tokens_and_revoke(cli: CliRunner, review_db: str) -> None:
    assert "has no API tokens" in ok(cli, "user", "tokens", "alice")
    token = create_token(review_db, "alice", "nightly")
    create_token(review_db, "alice")
    listed = ok(cli, "user", "tokens", "alice")
    assert token not in listed
    assert listed.splitlines()[0].split() == ["id", "label", "created", "last", "used", "revoked"]
    first = line_of(listed, "1")
    assert first[1] == "nightly" and first[-2:] == ["-", "-"]
    assert line_of(listed, "2")[1] == "-"  # no label
    assert "token 1 revoked" in ok(cli, "user", "revoke-token", "1")
    first = line_of(ok(cli, "user", "tokens", "alice"), "1")
    assert first[-1] == "UTC" and first[-4] == "-"  # revoked at …, never used
    with TestClient(create_app(review_settings(review_db))) as c:
        r = c.get("/api/batches", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_password_update_ends_sessions(cli: CliRunner, review_db: str) -> None:
    with TestClient(create_app(review_settings(review_db))) as browser:
        sign_in(browser)
        ok(cli, "user", "add", "alice", "--update", "--password-stdin", stdin="new-password-1\n")
        assert browser.get("/", follow_redirects=False).status_code == 303
        sign_in(browser, "alice", "new-password-1")


@pytest.mark.parametrize(
    "args",
    [
        ["user", "disable", "nobody"],
        ["user", "enable", "nobody"],
        ["user", "tokens", "nobody"],
        ["user", "revoke-token", "999"],
    ],
)
def test_unknown_user_or_token_is_not_found(cli: CliRunner, args: list[str]) -> None:
    r = cli.invoke(app, args)
    assert isinstance(r.exception, NotFoundError) and r.exception.exit_code == 5


@pytest.mark.slow
def test_not_found_exit_status_through_the_entry_point(tmp_path: Path) -> None:
    done: subprocess.CompletedProcess[str] = _run(tmp_path, "user", "disable", "nobody")
    assert done.returncode == 5, done.stderr
    assert "nobody" in done.stderr
