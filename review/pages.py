"""Pages for people: the queue, field review, group verification and the dashboard.

Everything on ``router`` needs a session (else a redirect to sign-in) and a CSRF token on every
POST, enforced once by the router's guard. Signing in and out lives in ``review.account``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from db import review_groups, review_queue
from digitize.errors import BadInputError, ConflictError
from review import dashboard, group, queue, reasons, supervisor
from review.deps import AdminUser, CurrentUser, DbSession, page_guard
from review.rendering import flash, render

router = APIRouter(dependencies=[Depends(page_guard)], include_in_schema=False)

SKIPPED = "skipped"
MAX_SKIPPED = 100  # the session lives in a signed cookie: keep it well under 4 KB


def _filters(
    batch: Annotated[str | None, Query()] = None,
    template: Annotated[str | None, Query()] = None,
    field: Annotated[str | None, Query()] = None,
) -> queue.QueueFilters:
    return queue.QueueFilters.parse(batch, template, field)


Filters = Annotated[queue.QueueFilters, Depends(_filters)]


@router.get("/", name="queue_page")
def queue_page(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    filters: Filters,
    offset: int = Query(0, ge=0),
) -> Response:
    size = queue.PAGE_SIZE
    rows, total = review_queue.list_queue(db, filters, offset, size)
    return render(
        request,
        "queue.html",
        {
            "nav": "queue",
            "rows": rows,
            "total": total,
            "offset": offset,
            "prev_offset": max(0, offset - size) if offset > 0 else None,
            "next_offset": offset + size if offset + size < total else None,
            "filters": filters,
            "options": review_queue.filter_options(db),
            "explain": reasons.labels,
        },
    )


@router.get("/review/next", name="review_next")
def review_next(request: Request, db: DbSession, user: CurrentUser, filters: Filters) -> Response:
    skipped = list(request.session.get(SKIPPED, []))
    fid = review_queue.claim_next(db, user.id, filters, skipped)
    if fid is None:
        if skipped:
            request.session[SKIPPED] = []
            flash(
                request,
                "info",
                f"Only fields you skipped are left ({len(skipped)}); showing them again.",
            )
            fid = review_queue.claim_next(db, user.id, filters, [])
        if fid is None:
            flash(request, "info", "Nothing left to review here.")
            return RedirectResponse(f"/{filters.query}", status_code=303)
    return RedirectResponse(f"/review/fields/{fid}{filters.query}", status_code=303)


@router.get("/review/fields/{field_id}", name="review_field")
def review_field(
    request: Request, db: DbSession, user: CurrentUser, filters: Filters, field_id: int
) -> Response:
    view = review_queue.load_field(db, field_id)
    if not review_queue.claim(db, user.id, field_id):
        held = review_queue.holder_of(db, field_id)
        who, until = held if held else ("another reviewer", None)
        when = until.strftime("%H:%M:%S UTC") if until else "a few minutes"
        raise ConflictError(f"{who} is reviewing this field right now (until {when}).")
    if view.reviewed_at is not None:
        shown = "unreadable" if view.review_status == "unreadable" else repr(view.reviewed_value)
        flash(request, "info", f"Already reviewed ({shown}); saving again replaces that verdict.")
    return render(
        request,
        "field.html",
        {
            "f": view,
            "filters": filters,
            "remaining": review_queue.count_queue(db, filters),
            **queue.field_context(db, request.app.state.settings, view),
        },
    )


@router.post("/review/fields/{field_id}", name="review_submit")
def review_submit(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    filters: Filters,
    field_id: int,
    version: Annotated[int, Form()],
    action: Annotated[str, Form()] = "accept",
    value: Annotated[str, Form()] = "",
    cell: Annotated[list[str] | None, Form()] = None,
) -> Response:
    if cell is not None:  # a comb field: one box per cell, submitted as one value
        value = "".join(c.strip() for c in cell)
    try:
        queue.save_review(db, user.id, user.username, field_id, version, action, value)
    except BadInputError as exc:
        flash(request, "error", exc.message)
        return RedirectResponse(f"/review/fields/{field_id}{filters.query}", status_code=303)
    if action == "skip":
        skipped = [*request.session.get(SKIPPED, []), field_id][-MAX_SKIPPED:]
        request.session[SKIPPED] = skipped
    return RedirectResponse(f"/review/next{filters.query}", status_code=303)


@router.get("/group", name="group_index")
def group_index(request: Request, db: DbSession, user: CurrentUser) -> Response:
    return render(
        request, "group_index.html", {"nav": "group", "counts": review_groups.group_counts(db)}
    )


@router.get("/group/{digit}", name="group_page")
def group_page(request: Request, db: DbSession, user: CurrentUser, digit: int) -> Response:
    _check_digit(digit)
    tiles, total = review_groups.claim_group(db, user.id, digit, group.GRID_SIZE)
    return render(
        request,
        "group.html",
        {"nav": "group", "digit": digit, "tiles": tiles, "total": total},
    )


@router.post("/group/{digit}", name="group_submit")
def group_submit(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    digit: int,
    shown: Annotated[list[int], Form()],
    wrong: Annotated[list[int] | None, Form()] = None,
) -> Response:
    _check_digit(digit)
    out = group.submit_group(db, user.id, user.username, digit, shown, wrong or [])
    text = f"Confirmed {out.confirmed} as {digit}"
    if out.rejected:
        text += f"; {out.rejected} marked wrong go to field review"
    if out.settled_fields:
        text += f"; {out.settled_fields} field(s) fully settled"
    flash(request, "info", text + ".")
    if out.lost:
        flash(
            request,
            "error",
            f"{out.lost} crop(s) were taken by another reviewer meanwhile and were not saved.",
        )
    return RedirectResponse(f"/group/{digit}", status_code=303)


def _check_digit(digit: int) -> None:
    if not 0 <= digit <= 9:
        raise BadInputError(f"{digit} is not a digit (0-9)")


@router.get("/dashboard", name="dashboard_page")
def dashboard_page(
    request: Request, db: DbSession, user: CurrentUser, batch: int | None = Query(None, ge=1)
) -> Response:
    ctx = dashboard.build(db, batch, request.app.state.settings.review_threshold)
    return render(request, "dashboard.html", {"nav": "dashboard", **ctx})


@router.get("/supervisor", name="supervisor_page")
def supervisor_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    window: Annotated[str, Query(pattern="^(day|week)$")] = "day",
) -> Response:
    """The team: fields reviewed per person and hour, and which fields people correct most."""
    return render(request, "supervisor.html", {"nav": "supervisor", **supervisor.team(db, window)})


@router.get("/supervisor/audit", name="audit_page")
def audit_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    reviewer: str | None = None,
    offset: int = Query(0, ge=0),
) -> Response:
    """Every review event, newest first: who, when, which field, old → new."""
    ctx = supervisor.trail(db, reviewer, offset)
    return render(request, "audit.html", {"nav": "supervisor", **ctx})


@router.get("/supervisor/failed", name="failed_page")
def failed_page(
    request: Request,
    db: DbSession,
    user: AdminUser,
    batch: int | None = Query(None, ge=1),
    offset: int = Query(0, ge=0),
) -> Response:
    """Documents the pipeline could not read, with the reason it gave."""
    ctx = supervisor.failed(db, batch, offset)
    return render(request, "failed.html", {"nav": "supervisor", **ctx})
