"""The extracted numbers in the one documented shape, shared by ``digitize results`` and the API.

``{"documents": [{"id", "source", "sha256", "status", "error", "duplicate_of", "pages":
[{"number", "width", "height", "template", "fields": [{"name", "value", "confidence",
"needs_review", "reasons", "box", "reviewed", "digits": [{"value", "confidence", "box",
"needs_review", "alternatives", "reviewed"}]}]}]}]}``

A person's value replaces the machine's and ``reviewed`` is then true (an "unreadable" verdict
gives ``value: null``); reviewed items no longer need review. Boxes are ``[x, y, w, h]`` in the
pixels of the page as read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from db.models import Digit, Document, Field, Page

CHUNK = 2000
ROW_COLUMNS = (
    "document_id",
    "source",
    "status",
    "error",
    "page",
    "template",
    "field",
    "value",
    "confidence",
    "needs_review",
    "reviewed",
    "reasons",
    "duplicate_of",
)


@dataclass
class ResultFilter:
    batch_id: int | None = None
    document_id: int | None = None
    field: str | None = None
    needs_review: bool = False
    since: datetime | None = None
    status: str | None = None
    limit: int | None = None
    offset: int = 0


def _field_conditions(flt: ResultFilter) -> list[Any]:
    conds: list[Any] = []
    if flt.field is not None:
        conds.append(Field.name == flt.field)
    if flt.needs_review:
        conds.append(Field.needs_review.is_(True))
        conds.append(Field.reviewed_at.is_(None))
    return conds


def _documents_query(flt: ResultFilter) -> Select[Document]:
    stmt = select(Document)
    if flt.batch_id is not None:
        stmt = stmt.where(Document.batch_id == flt.batch_id)
    if flt.document_id is not None:
        stmt = stmt.where(Document.id == flt.document_id)
    if flt.status is not None:
        stmt = stmt.where(Document.status == flt.status)
    if flt.since is not None:
        stmt = stmt.where(func.coalesce(Document.finished_at, Document.created_at) >= flt.since)
    conds = _field_conditions(flt)
    if conds:
        stmt = stmt.where(exists().where(Field.document_id == Document.id, *conds))
    stmt = stmt.order_by(Document.id).offset(flt.offset)
    if flt.limit is not None:
        stmt = stmt.limit(flt.limit)
    return stmt


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def count_documents(session: Session, flt: ResultFilter) -> int:
    inner = _documents_query(ResultFilter(**{**flt.__dict__, "limit": None, "offset": 0}))
    return int(session.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def digit_json(d: Digit, field_reviewed: bool) -> dict[str, Any]:
    corrected = d.corrected_value is not None
    return {
        "value": d.corrected_value if corrected else d.value,
        "confidence": d.confidence,
        "box": list(d.box),
        "needs_review": bool(d.needs_review and not corrected and not field_reviewed),
        "alternatives": [list(a) for a in d.alternatives],
        "reviewed": corrected,
    }


def field_json(f: Field, digits: Iterable[Digit]) -> dict[str, Any]:
    reviewed = f.reviewed_at is not None
    value: str | None = f.value
    if reviewed:
        value = None if f.review_status == "unreadable" else f.reviewed_value
    return {
        "name": f.name,
        "value": value,
        "confidence": f.confidence,
        "needs_review": bool(f.needs_review and not reviewed),
        "reasons": list(f.reasons),
        "box": list(f.box),
        "reviewed": reviewed,
        "digits": [digit_json(d, reviewed) for d in digits],
    }


def query_results(session: Session, flt: ResultFilter | None = None) -> dict[str, Any]:
    """Documents (with pages, fields and digits) matching ``flt``, in the documented shape."""
    flt = flt or ResultFilter()
    docs = list(session.scalars(_documents_query(flt)))
    ids = [d.id for d in docs]
    pages: dict[int, list[Page]] = defaultdict(list)
    fields: dict[int, list[Field]] = defaultdict(list)
    digits: dict[int, list[Digit]] = defaultdict(list)
    conds = _field_conditions(flt)
    for chunk in _chunks(ids):
        for p in session.scalars(
            select(Page).where(Page.document_id.in_(chunk)).order_by(Page.number)
        ):
            pages[p.document_id].append(p)
        field_ids: list[int] = []
        for f in session.scalars(
            select(Field).where(Field.document_id.in_(chunk), *conds).order_by(Field.position)
        ):
            fields[f.page_id].append(f)
            field_ids.append(f.id)
        for fchunk in _chunks(field_ids):
            for d in session.scalars(
                select(Digit).where(Digit.field_id.in_(fchunk)).order_by(Digit.position)
            ):
                digits[d.field_id].append(d)
    out = []
    for doc in docs:
        out.append(
            {
                "id": doc.id,
                "source": doc.source,
                "sha256": doc.sha256,
                "status": doc.status,
                "error": doc.error,
                "duplicate_of": doc.duplicate_of,
                "pages": [
                    {
                        "number": p.number,
                        "width": p.width,
                        "height": p.height,
                        "template": p.template,
                        "fields": [field_json(f, digits[f.id]) for f in fields[p.id]],
                    }
                    for p in pages[doc.id]
                    if not conds or fields[p.id]
                ],
            }
        )
    return {"documents": out}


def result_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per field (a document without fields still gets a row), for CSV and tables."""
    rows: list[dict[str, Any]] = []
    for doc in results["documents"]:
        base = {
            "document_id": doc["id"],
            "source": doc["source"],
            "status": doc["status"],
            "error": doc["error"] or "",
            "duplicate_of": "" if doc.get("duplicate_of") is None else doc["duplicate_of"],
        }
        n = 0
        for page in doc["pages"]:
            for f in page["fields"]:
                n += 1
                rows.append(
                    {
                        **base,
                        "page": page["number"],
                        "template": page["template"] or "",
                        "field": f["name"],
                        "value": "" if f["value"] is None else f["value"],
                        "confidence": round(float(f["confidence"]), 4),
                        "needs_review": f["needs_review"],
                        "reviewed": f["reviewed"],
                        "reasons": ";".join(f["reasons"]),
                    }
                )
        if n == 0:
            rows.append({**dict.fromkeys(ROW_COLUMNS, ""), **base})
    return rows
