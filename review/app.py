"""The FastAPI application: pages for people, a read-only JSON API for programs.

``create_app(settings)`` wires the signed session cookie, security headers, templates, static files,
the routers and the error translation (``DigitizeError`` → its HTTP status; a missing session → a
redirect to sign-in for pages and 401 for the API; a missing CSRF token → 403).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitize.errors import DigitizeError, TransientError
from digitize.settings import Settings, get_settings
from review import security
from review.deps import CsrfRejected, LoginRequired
from review.rendering import render
from worker.metrics import OperatorEndpoints

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "digitize_session"

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Adds conservative headers to every response (no inline scripts, no framing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k for k, _ in headers}
                for k, v in _SECURITY_HEADERS:
                    if k in names:
                        continue
                    headers.append((k, v))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: the environment's)."""
    from review import account, api, images, pages, template_editor

    settings = settings or get_settings()
    app = FastAPI(
        title="digitize review API",
        version="1",
        description="Read-only access to extracted numbers (same shapes as `digitize results`).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeaders)  # /api/docs too: Swagger UI is served from the package
    app.add_middleware(OperatorEndpoints, settings=settings)  # /metrics, /healthz
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=int(security.SESSION_TTL.total_seconds()),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(account.public)
    app.include_router(account.router)
    app.include_router(pages.router)
    app.include_router(template_editor.router)
    app.include_router(images.router)
    app.include_router(api.router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        message = "The form was stale or forged (CSRF token missing or wrong). Reload and retry."
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=403)
        return render(
            request,
            "error.html",
            {"status": 403, "heading": "Request refused", "message": message},
            status_code=403,
        )

    @app.exception_handler(DigitizeError)
    async def _domain(request: Request, exc: DigitizeError) -> Response:
        if isinstance(exc, TransientError):  # the cause (a host, a port) is for the logs
            log.warning("request %s: %s", request.url.path, exc.message)
            exc = TransientError("the database is unreachable just now: try again in a moment")
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=exc.http_status)
        heading = {404: "Not found", 409: "Conflict"}.get(exc.http_status, "Error")
        return render(
            request,
            "error.html",
            {"status": exc.http_status, "heading": heading, "message": exc.message},
            status_code=exc.http_status,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request) or exc.status_code == 401:
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "heading": "Error", "message": str(exc.detail)},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"detail": exc.errors()}, status_code=422)

    return app


def iter_routes(routes: list[Any]) -> list[Any]:
    """Every route of the app, routers flattened (FastAPI keeps included routers lazily)."""
    out: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out.extend(iter_routes(list(inner.routes)))
        else:
            out.append(route)
    return out
