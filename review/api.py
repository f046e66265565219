"""The read-only JSON API: the same shapes as ``digitize results``, with filters and paging.

Token-protected (``Authorization: Bearer`` with ``DIGITIZE_API_TOKEN`` or a per-user token from
``digitize user token``); a signed-in browser session works too. The OpenAPI schema is served at
``/api/openapi.json`` behind the same guard.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from swagger_ui_bundle import swagger_ui_path

from db.queries import batch_status, recent_batches
from db.results import ResultFilter, count_documents, query_results
from digitize.errors import NotFoundError
from review.deps import DbSession, api_guard

router = APIRouter(prefix="/api", tags=["results"], dependencies=[Depends(api_guard)])

MAX_LIMIT = 500


class DigitOut(BaseModel):
    value: int | None = Field(description="The digit; a person's correction when reviewed.")
    confidence: float
    box: list[int] = Field(description="[x, y, w, h] in the pixels of the page as read.")
    needs_review: bool
    alternatives: list[list[float]] = Field(
        description="Top alternatives as [digit, probability]; [] for a digit rebuilt from a "
        "person's value."
    )
    reviewed: bool = Field(description="True when a person set or confirmed this digit.")


class FieldOut(BaseModel):
    name: str
    value: str | None = Field(description="A person's value when reviewed (null: unreadable).")
    confidence: float = Field(
        description="Calibrated probability that the value is right; 1.0 once a person settled it."
    )
    needs_review: bool
    reasons: list[str]
    box: list[int]
    reviewed: bool = Field(description="True when the value was set by a person.")
    reviewed_by: str | None = Field(
        description="The reviewer's user name; null when not reviewed or the reviewer is unknown."
    )
    reviewed_at: str | None = Field(
        description="When a person settled the field, ISO 8601 UTC; null when not reviewed."
    )
    machine_value: str = Field(description="What the machine read, kept for audit.")
    machine_confidence: float = Field(description="The machine's confidence in machine_value.")
    digits: list[DigitOut]


class PageOut(BaseModel):
    number: int
    width: int
    height: int
    template: str | None
    fields: list[FieldOut]


class DocumentOut(BaseModel):
    id: int
    batch: int = Field(description="The batch the document was submitted in.")
    source: str = Field(description="The original file name.")
    sha256: str
    status: str = Field(description="queued | processing | done | failed | duplicate")
    error: str | None
    duplicate_of: int | None = Field(
        description="For a duplicate: the earlier document with the same bytes, which holds "
        "the reading."
    )
    pages: list[PageOut]


class ResultsOut(BaseModel):
    documents: list[DocumentOut]
    total: int = Field(description="Documents matching the filters (all pages).")
    limit: int
    offset: int


class BatchOut(BaseModel):
    id: int
    name: str
    origin: str
    created_at: datetime
    counts: dict[str, int]
    pages: int
    fields: int
    needs_review: int


@router.get("/results", response_model=ResultsOut, summary="Extracted numbers, filtered and paged")
def results(
    db: DbSession,
    batch: int | None = Query(None, description="Only this batch."),
    document: int | None = Query(None, description="Only this document."),
    field: str | None = Query(None, description="Only fields with this name."),
    needs_review: bool = Query(False, description="Only fields still waiting for a person."),
    since: datetime | None = Query(None, description="Documents finished at or after (ISO 8601)."),
    status: str | None = Query(None, description="Only documents with this status."),
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> Any:
    flt = ResultFilter(
        batch_id=batch,
        document_id=document,
        field=field,
        needs_review=needs_review,
        since=since,
        status=status,
        limit=limit,
        offset=offset,
    )
    out = query_results(db, flt)
    return {**out, "total": count_documents(db, flt), "limit": limit, "offset": offset}


@router.get("/documents/{document_id}", response_model=DocumentOut, summary="One document")
def document(db: DbSession, document_id: int) -> Any:
    docs = query_results(db, ResultFilter(document_id=document_id))["documents"]
    if not docs:
        raise NotFoundError(f"document {document_id} does not exist")
    return docs[0]


@router.get("/batches", response_model=list[BatchOut], summary="Recent batches and their progress")
def batches(db: DbSession, limit: int = Query(20, ge=1, le=200)) -> Any:
    out = []
    for b in recent_batches(db, limit):
        st = batch_status(db, b.id)
        out.append(
            {
                "id": b.id,
                "name": b.name,
                "origin": b.origin,
                "created_at": b.created_at,
                "counts": st.counts,
                "pages": st.pages,
                "fields": st.fields,
                "needs_review": st.needs_review,
            }
        )
    return out


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


#: Swagger UI's files as shipped in the ``swagger-ui-bundle`` package: served from here, so the
#: docs work offline and under the app's CSP (no CDN, no inline script).
SWAGGER_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI from the package's files, started by ``/static/swagger-init.js``."""
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="digitize API",
        swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/api/docs/assets/swagger-ui.css",
        swagger_favicon_url="/api/docs/assets/favicon-32x32.png",
    )
    # FastAPI starts Swagger UI with an inline <script>, which the CSP (script-src 'self')
    # forbids: swap it for the same call in a static file.
    html = bytes(page.body).decode()
    start = html.rfind("<script>")
    end = html.find("</script>", start)
    if start != -1 and end != -1:
        init = str(request.url_for("static", path="swagger-init.js").path)
        html = f'{html[:start]}<script src="{init}"></script>{html[end + len("</script>") :]}'
    return HTMLResponse(html)


@router.get("/docs/assets/{name}", include_in_schema=False)
def docs_asset(name: str) -> FileResponse:
    if name not in SWAGGER_ASSETS:
        raise NotFoundError(f"no docs asset {name!r}")
    return FileResponse(
        Path(str(swagger_ui_path)) / name,
        media_type=SWAGGER_ASSETS[name],
        headers={"Cache-Control": "private, max-age=86400"},
    )
