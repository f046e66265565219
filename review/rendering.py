"""Page rendering shared by every view: the templates, what each page gets, one-time messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from review import security

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """A template with what every page needs: the user, the CSRF token and pending messages."""
    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": security.csrf_token(request.session),
        "flashes": request.session.pop("flash", []) if "flash" in request.session else [],
        "nav": None,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def flash(request: Request, kind: str, text: str) -> None:
    """A one-time message shown on the next rendered page."""
    request.session["flash"] = [*request.session.get("flash", []), [kind, text]]
