"""The documented results shape, its filters, and a person's value replacing the machine's."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select

from db import queries
from db.models import DONE, FAILED, Batch, Field, ReviewEvent, User
from db.readings import store_reading
from db.results import ROW_COLUMNS, ResultFilter, query_results, result_rows
from db.session import session_scope
from db.storage import DatabaseStorage
from digitize.types import DigitResult, FieldResult, Page, PageResult
from worker.pipeline import reading_rows


def _page_result(values: dict[str, tuple[str, float, bool]]) -> PageResult:
    fields = []
    for i, (name, (value, conf, review)) in enumerate(values.items()):
        digits = [
            DigitResult(
                int(ch),
                conf,
                (10 + 30 * k, 20 * i, 25, 18),
                [(int(ch), conf)],
                review,
                np.full((18, 25), 200, np.uint8),
            )
            for k, ch in enumerate(value)
        ]
        fields.append(
            FieldResult(
                name,
                value,
                conf,
                (10, 20 * i, 30 * len(value), 18),
                digits,
                review,
                ["low_confidence_field"] if review else [],
                np.zeros((18, 60), np.uint8),
            )
        )
    return PageResult(1, 200, 100, "claim", 0.97, fields)


def _store(batch_id: int, source: str, values: dict[str, tuple[str, float, bool]]) -> int:
    with session_scope() as s:
        batch = s.get_one(Batch, batch_id)
        doc = queries.add_document(s, batch, source, uuid.uuid4().bytes, DatabaseStorage()).document
        queries.claim(s, doc.id, "test", 3)
        queries.finish(s, doc.id, DONE, page_count=1)
        page = Page(1, np.full((100, 200), 255, np.uint8))
        store_reading(s, doc.id, batch_id, reading_rows([page], [_page_result(values)]))
        return doc.id


def test_shape_filters_and_reviewed_values(db_url: str) -> None:
    with session_scope() as s:
        b1 = queries.create_batch(s, "process").id
        b2 = queries.create_batch(s, "process").id
    d1 = _store(b1, "form one.png", {"total": ("1234", 0.99, False), "date": ("0101", 0.40, True)})
    d2 = _store(b2, "form two.png", {"total": ("77", 0.98, False)})
    with session_scope() as s:
        bad = queries.add_document(
            s, s.get_one(Batch, b2), "broken.jpg", b"junk", DatabaseStorage()
        ).document
        queries.finish(s, bad.id, FAILED, error="not a recognised image")

    with session_scope() as s:
        everything = query_results(s)
    docs = everything["documents"]
    assert [d["id"] for d in docs] == [d1, d2, bad.id]
    first = docs[0]
    assert set(first) == {
        "id",
        "batch",
        "source",
        "sha256",
        "status",
        "error",
        "duplicate_of",
        "pages",
    }
    assert first["source"] == "form one.png" and first["status"] == "done"
    assert first["batch"] == b1
    page = first["pages"][0]
    assert {k: page[k] for k in ("number", "width", "height", "template")} == {
        "number": 1,
        "width": 200,
        "height": 100,
        "template": "claim",
    }
    total, date = page["fields"]
    assert set(total) == {
        "name",
        "value",
        "confidence",
        "needs_review",
        "reasons",
        "box",
        "reviewed",
        "reviewed_by",
        "reviewed_at",
        "machine_value",
        "machine_confidence",
        "digits",
    }
    assert (total["name"], total["value"], total["needs_review"]) == ("total", "1234", False)
    assert (total["reviewed_by"], total["reviewed_at"]) == (None, None)
    assert (total["machine_value"], total["machine_confidence"]) == ("1234", 0.99)
    assert total["box"] == [10, 0, 120, 18]
    assert set(total["digits"][0]) == {
        "value",
        "confidence",
        "box",
        "needs_review",
        "alternatives",
        "reviewed",
    }
    assert [d["value"] for d in total["digits"]] == [1, 2, 3, 4]
    assert total["digits"][1]["alternatives"] == [[2, 0.99]]
    assert date["needs_review"] and date["reasons"] == ["low_confidence_field"]
    assert docs[2]["status"] == "failed" and docs[2]["pages"] == []
    assert docs[2]["error"] == "not a recognised image"

    with session_scope() as s:
        only_b2 = query_results(s, ResultFilter(batch_id=b2))
        review = query_results(s, ResultFilter(needs_review=True))
        named = query_results(s, ResultFilter(field="total"))
        one = query_results(s, ResultFilter(document_id=d2))
        future = query_results(s, ResultFilter(since=queries.utcnow() + timedelta(hours=1)))
    assert [d["id"] for d in only_b2["documents"]] == [d2, bad.id]
    assert [d["id"] for d in review["documents"]] == [d1]
    assert [f["name"] for f in review["documents"][0]["pages"][0]["fields"]] == ["date"]
    assert [d["id"] for d in named["documents"]] == [d1, d2]
    assert all(f["name"] == "total" for d in named["documents"] for f in d["pages"][0]["fields"])
    assert [d["id"] for d in one["documents"]] == [d2]
    assert future["documents"] == []

    # A reviewer corrects the doubtful date: results now say 0107, marked as reviewed.
    with session_scope() as s:
        user = User(username="rita", password_hash="x")
        s.add(user)
        s.flush()
        f = s.scalars(select(Field).where(Field.name == "date")).one()
        s.add(
            ReviewEvent(
                user_id=user.id,
                username="rita",
                action="correct",
                field_id=f.id,
                old_value=f.value,
                new_value="0107",
            )
        )
        f.reviewed_value, f.review_status = "0107", "corrected"
        f.reviewed_by, f.reviewed_at = user.id, queries.utcnow()
    with session_scope() as s:
        after = query_results(s, ResultFilter(document_id=d1))
        still = query_results(s, ResultFilter(needs_review=True))
    date = after["documents"][0]["pages"][0]["fields"][1]
    assert (date["value"], date["reviewed"], date["needs_review"]) == ("0107", True, False)
    # Settled: no doubt left, who and when said, and the machine's reading kept for audit.
    assert (date["confidence"], date["reasons"]) == (1.0, [])
    assert date["reviewed_by"] == "rita"
    assert datetime.fromisoformat(date["reviewed_at"]).tzinfo is not None
    assert date["reviewed_at"].endswith("Z")
    assert (date["machine_value"], date["machine_confidence"]) == ("0101", 0.40)
    assert [d["value"] for d in date["digits"]] == [0, 1, 0, 7]  # the digits spell the value
    assert not any(d["needs_review"] for d in date["digits"])
    assert all(d["reviewed"] and d["confidence"] == 1.0 for d in date["digits"])
    assert still["documents"] == []

    rows = result_rows(everything)
    assert len(rows) == 4  # three fields and the failed document
    assert rows[-1]["status"] == "failed" and rows[-1]["field"] == ""
    assert set(rows[0]) == set(ROW_COLUMNS)
    assert list(ROW_COLUMNS[-3:]) == ["reviewed_by", "reviewed_at", "machine_value"]
    reviewed_row = next(r for r in result_rows(after) if r["field"] == "date")
    assert (reviewed_row["value"], reviewed_row["confidence"], reviewed_row["reasons"]) == (
        "0107",
        1.0,
        "",
    )
    assert (reviewed_row["reviewed_by"], reviewed_row["machine_value"]) == ("rita", "0101")
    assert reviewed_row["reviewed_at"] == date["reviewed_at"]
