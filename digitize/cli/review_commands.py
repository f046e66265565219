"""``digitize review``, ``digitize user …`` and ``digitize export-corrections``."""

from __future__ import annotations

import ipaddress
import sys
from datetime import datetime
from pathlib import Path

import typer

from digitize.cli import app
from digitize.errors import ConfigError
from digitize.settings import get_settings

user_app = typer.Typer(help="Reviewer accounts and API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")

DEFAULT_SECRET = "change-me-in-production"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def review(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the review web app (and the read-only JSON API under /api)."""
    import uvicorn

    from db.session import init_db
    from review.app import create_app

    settings = get_settings()
    if settings.secret_key == DEFAULT_SECRET and not _is_loopback(host):
        raise ConfigError(
            "refusing to serve on a network interface with the default secret key: "
            "set DIGITIZE_SECRET_KEY to a long random value"
        )
    init_db(settings.database_url)
    typer.echo(
        f"review app on http://{host}:{port}/  (API: /api/results, schema: /api/openapi.json)"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise ConfigError("the password must have at least 8 characters")
    return password


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Sign-in name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    admin: bool = typer.Option(False, "--admin", help="Mark the account as an administrator."),
    update: bool = typer.Option(False, "--update", help="Change the password of an existing user."),
) -> None:
    """Create a reviewer account (the password is stored as an argon2id hash).

    With --update: a new password for an existing account (re-enabled), every session of it ends.
    """
    from review.users import add_user

    name = username.strip()
    if not name or len(name) > 150:
        raise ConfigError("the user name must have 1 to 150 characters")
    password = _read_password(password_stdin)
    created = add_user(get_settings().database_url, name, password, admin=admin, update=update)
    typer.echo(f"{'created' if created else 'updated'} user {name!r}")


@user_app.command("token")
def user_token(
    username: str = typer.Argument(..., help="Owner of the token."),
    name: str = typer.Option("", "--name", help="A label for the token."),
) -> None:
    """Create an API token for a user; it is printed once and only its hash is stored."""
    from review.users import create_token

    typer.echo(create_token(get_settings().database_url, username, name))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


@user_app.command("list")
def user_list() -> None:
    """Every account: admin, active, last sign-in, live web sessions, unrevoked API tokens."""
    from review.users import list_users

    rows = list_users(get_settings().database_url)
    if not rows:
        typer.echo("no users yet (digitize user add NAME)")
        return
    _table(
        ["name", "admin", "active", "last login", "sessions", "tokens"],
        [
            [
                u.username,
                "yes" if u.is_admin else "no",
                "yes" if u.is_active else "no",
                _when(u.last_login_at),
                str(u.live_sessions),
                str(u.live_tokens),
            ]
            for u in rows
        ],
    )


@user_app.command("disable")
def user_disable(username: str = typer.Argument(..., help="The account to disable.")) -> None:
    """Disable an account: its sessions end, it cannot sign in, its API tokens are refused."""
    from review.users import set_active

    ended = set_active(get_settings().database_url, username, False)
    typer.echo(f"disabled user {username!r} ({ended} session(s) ended)")


@user_app.command("enable")
def user_enable(username: str = typer.Argument(..., help="The account to enable.")) -> None:
    """Enable a disabled account again (its unrevoked API tokens work again)."""
    from review.users import set_active

    set_active(get_settings().database_url, username, True)
    typer.echo(f"enabled user {username!r}")


@user_app.command("tokens")
def user_tokens(username: str = typer.Argument(..., help="Owner of the tokens.")) -> None:
    """List a user's API tokens (never the tokens themselves: only their hashes are stored)."""
    from review.users import list_tokens

    rows = list_tokens(get_settings().database_url, username)
    if not rows:
        typer.echo(f"user {username!r} has no API tokens")
        return
    _table(
        ["id", "label", "created", "last used", "revoked"],
        [
            [
                str(t.id),
                t.name or "-",
                _when(t.created_at),
                _when(t.last_used_at),
                _when(t.revoked_at),
            ]
            for t in rows
        ],
    )


@user_app.command("revoke-token")
def user_revoke_token(
    token_id: int = typer.Argument(..., help="The token's id (see `digitize user tokens NAME`)."),
) -> None:
    """Revoke an API token for good."""
    from review.users import revoke_token

    when = revoke_token(get_settings().database_url, token_id)
    typer.echo(f"token {token_id} revoked ({_when(when)})")


@app.command("export-corrections")
def export_corrections(
    out_dir: Path = typer.Argument(..., help="Folder to write crops and labels into."),
    batch: int | None = typer.Option(None, "--batch", help="Only this batch."),
) -> None:
    """Write person-labelled digit crops (PNG + labels.csv/json + mnist.npz) for training."""
    from db.session import session_scope
    from review.export import export_corrections as run

    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} exists and is not a folder")
    with session_scope(get_settings().database_url) as db:
        n = run(db, out_dir, batch_id=batch)
    if n == 0:
        typer.echo("no reviewed digits yet: nothing to export (labels files written empty)")
    else:
        typer.echo(f"exported {n} labelled crops to {out_dir}")
