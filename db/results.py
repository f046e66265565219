"""The extracted numbers in the one documented shape, shared by ``digitize results`` and the API.

``{"documents": [{"id", "batch", "source", "sha256", "status", "error", "duplicate_of", "pages":
[{"number", "width", "height", "template", "fields": [{"name", "value", "confidence",
"needs_review", "reasons", "box", "reviewed", "reviewed_by", "reviewed_at", "machine_value",
"machine_confidence", "digits": [{"value", "confidence", "box", "needs_review", "alternatives",
"reviewed"}]}]}]}]}``

A person's value replaces the machine's and is settled: ``reviewed`` true, ``confidence`` 1.0, no
``reasons``, no longer needing review, with who (``reviewed_by``, a user name) and when
(``reviewed_at``, ISO 8601 UTC); an "unreadable" verdict gives ``value: null``. What the machine
read stays in ``machine_value`` and ``machine_confidence`` (on every field). When a person's value
is not spelled by the stored digits (a correction, perhaps of another length) the digits are
rebuilt from it, one per character, so the digits always spell the value. Boxes are
``[x, y, w, h]`` in the pixels of the page as read.

``result_rows`` flattens the shape to one row per field (CSV, tables); ``wide_rows`` to one row per
document with a column per field name (the spreadsheet export).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from db.models import Digit, Document, Field, Page
from db.reviewers import reviewer_names

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
    "reviewed_by",
    "reviewed_at",
    "machine_value",
)
#: The first columns of ``wide_rows``; one column per field name follows.
WIDE_COLUMNS = ("document_id", "source", "status", "batch", "template")
UNREADABLE = "unreadable"


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


def _char_value(ch: str) -> int | None:
    return int(ch) if ch.isdigit() else None  # a separator (. , / - space) is "not a digit"


def _spells(digits: Sequence[dict[str, Any]], value: str) -> bool:
    return len(digits) == len(value) and all(
        d["value"] == _char_value(ch) for d, ch in zip(digits, value, strict=True)
    )


def _slot(box: Sequence[int], i: int, n: int) -> list[int]:
    """The ``i``-th of ``n`` equal slots of a field box, left to right."""
    x, y, w, h = (int(v) for v in box)
    left, right = x + w * i // n, x + w * (i + 1) // n
    return [left, y, right - left, h]


def rebuilt_digits(
    value: str, stored: Sequence[dict[str, Any]], field_box: Sequence[int]
) -> list[dict[str, Any]]:
    """Digits that spell a person's ``value``: one per character, settled; each keeps the box of
    the stored digit at its position, else takes its slot of the field box split evenly."""
    n = len(value)
    return [
        {
            "value": _char_value(ch),
            "confidence": 1.0,
            "box": list(stored[i]["box"]) if i < len(stored) else _slot(field_box, i, n),
            "needs_review": False,
            "alternatives": [],
            "reviewed": True,
        }
        for i, ch in enumerate(value)
    ]


def _iso_utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def field_json(f: Field, digits: Iterable[Digit], reviewer: str | None = None) -> dict[str, Any]:
    reviewed = f.reviewed_at is not None
    out_digits = [digit_json(d, reviewed) for d in digits]
    value: str | None = f.value
    if f.reviewed_at is not None:
        value = None if f.review_status == UNREADABLE else f.reviewed_value
        if value is not None and (f.review_status == "corrected" or not _spells(out_digits, value)):
            out_digits = rebuilt_digits(value, out_digits, f.box)
    return {
        "name": f.name,
        "value": value,
        "confidence": 1.0 if reviewed else f.confidence,
        "needs_review": bool(f.needs_review and not reviewed),
        "reasons": [] if reviewed else list(f.reasons),
        "box": list(f.box),
        "reviewed": reviewed,
        "reviewed_by": reviewer if reviewed else None,
        "reviewed_at": _iso_utc(f.reviewed_at) if f.reviewed_at is not None else None,
        "machine_value": f.value,
        "machine_confidence": f.confidence,
        "digits": out_digits,
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
    who = reviewer_names(session, (f for fs in fields.values() for f in fs))
    out = []
    for doc in docs:
        out.append(
            {
                "id": doc.id,
                "batch": doc.batch_id,
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
                        "fields": [
                            field_json(f, digits[f.id], who.get(f.id)) for f in fields[p.id]
                        ],
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
                        "reviewed_by": f.get("reviewed_by") or "",
                        "reviewed_at": f.get("reviewed_at") or "",
                        "machine_value": f.get("machine_value", ""),
                    }
                )
        if n == 0:
            rows.append({**dict.fromkeys(ROW_COLUMNS, ""), **base})
    return rows


def _cell(value: str | None) -> str:
    return "" if value is None else value


def wide_rows(results: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """One row per document, one column per field name: ``(columns, rows)``.

    Columns are ``WIDE_COLUMNS`` then the field names in first-seen order. A name met again on a
    later page of the same document gets that page's prefix (``p2.total``). Cells hold the values
    as exported (a person's when reviewed; empty when unreadable or missing); ``template`` lists
    the pages' templates, ``;``-separated when they differ.
    """
    columns: dict[str, None] = dict.fromkeys(WIDE_COLUMNS)
    rows: list[dict[str, Any]] = []
    for doc in results["documents"]:
        templates = [p["template"] for p in doc["pages"] if p["template"]]
        row: dict[str, Any] = {
            "document_id": doc["id"],
            "source": doc["source"],
            "status": doc["status"],
            "batch": doc.get("batch", ""),
            "template": ";".join(dict.fromkeys(templates)),
        }
        seen: set[str] = set()
        for page in doc["pages"]:
            for f in page["fields"]:
                key = f["name"]
                if key in seen or key in WIDE_COLUMNS:
                    key = f"p{page['number']}.{f['name']}"
                    k = 2
                    while key in seen:  # the same name twice on one page
                        key, k = f"p{page['number']}.{f['name']}.{k}", k + 1
                seen.add(key)
                columns.setdefault(key)
                row[key] = _cell(f["value"])
        rows.append(row)
    names = list(columns)
    return names, [{c: r.get(c, "") for c in names} for r in rows]


def pending_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat rows (``result_rows``) of the fields that still need a person."""
    return [r for r in result_rows(results) if r["needs_review"] is True]
