"""Exports people use: reviewed values settled, digits that spell them, the wide CSV and XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from db.models import Batch, Digit, Document, Field, Page, ReviewEvent, User, utcnow
from db.results import query_results, wide_rows
from db.session import session_scope
from digitize.errors import UsageError
from review.export import write_results_xlsx
from tests.fixtures_db import cli

#: (page, name, machine value, confidence, needs review, verdict): verdict is
#: (status, person's value) or None for a field nobody reviewed.
FIELDS: list[tuple[int, str, str, float, bool, tuple[str, str | None] | None]] = [
    (1, "account", "0417", 0.99, False, None),
    (1, "total", "123", 0.41, True, ("corrected", "12.50")),  # longer, with a separator
    (2, "total", "9876", 0.55, True, ("corrected", "98")),  # shorter
    (2, "date", "0101", 0.62, True, ("confirmed", "0101")),
    (2, "code", "77", 0.30, True, ("unreadable", None)),
    (2, "zip", "00501", 0.50, True, None),
]

ACTIONS = {"corrected": "correct", "confirmed": "confirm", "unreadable": "unreadable"}


def _seed(url: str) -> tuple[int, int]:
    """One two-page document reviewed by rita (since deleted: her name survives in the audit
    trail) and bob, and a failed document; returns their ids."""
    now = utcnow()
    with session_scope(url) as s:
        rita, bob = (
            User(username="rita", password_hash="x"),
            User(username="bob", password_hash="x"),
        )
        batch = Batch(name="forms", origin="process", templates=[])
        s.add_all([rita, bob, batch])
        s.flush()
        doc = Document(batch_id=batch.id, source="form 1.png", sha256="a" * 64, size=1)
        doc.status = "done"
        failed = Document(batch_id=batch.id, source="=1+1.png", sha256="b" * 64, size=1)
        failed.status, failed.error = "failed", "not a recognised image"
        s.add_all([doc, failed])
        s.flush()
        pages = {
            n: Page(document_id=doc.id, number=n, template="claim", width=800, height=600)
            for n in (1, 2)
        }
        s.add_all(pages.values())
        s.flush()
        for i, (pno, name, value, conf, review, verdict) in enumerate(FIELDS):
            f = Field(
                page_id=pages[pno].id,
                document_id=doc.id,
                batch_id=batch.id,
                template="claim",
                position=i,
                name=name,
                value=value,
                confidence=conf,
                needs_review=review,
                reasons=["low_confidence_field"] if review else [],
                box=[100, 50 * i, 40 * len(value), 30],
            )
            s.add(f)
            s.flush()
            for k, ch in enumerate(value):
                s.add(
                    Digit(
                        field_id=f.id,
                        position=k,
                        value=int(ch),
                        confidence=conf,
                        alternatives=[[int(ch), conf]],
                        box=[100 + 40 * k, 50 * i, 40, 30],
                        needs_review=review,
                    )
                )
            if verdict is not None:
                who = rita if name == "total" and pno == 1 else bob
                f.review_status, f.reviewed_value = verdict
                f.reviewed_by, f.reviewed_at = who.id, now
                s.add(
                    ReviewEvent(
                        user_id=who.id,
                        username=who.username,
                        action=ACTIONS[verdict[0]],
                        field_id=f.id,
                        old_value=value,
                        new_value=verdict[1],
                    )
                )
        s.flush()
        s.delete(rita)  # Field.reviewed_by becomes null; the audit trail keeps the name
        return doc.id, failed.id


def _fields(results: dict[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
    return {
        (p["number"], f["name"]): f
        for d in results["documents"]
        for p in d["pages"]
        for f in p["fields"]
    }


def test_reviewed_fields_export_settled_with_who_when_and_the_machine_reading(db_url: str) -> None:
    _seed(db_url)
    with session_scope(db_url) as s:
        fields = _fields(query_results(s))

    untouched = fields[1, "account"]
    assert (untouched["value"], untouched["confidence"], untouched["reviewed"]) == (
        "0417",
        0.99,
        False,
    )
    assert (untouched["reviewed_by"], untouched["reviewed_at"]) == (None, None)
    assert (untouched["machine_value"], untouched["machine_confidence"]) == ("0417", 0.99)
    pending = fields[2, "zip"]
    assert pending["needs_review"] and pending["reasons"] == ["low_confidence_field"]
    assert pending["confidence"] == 0.50 and pending["reviewed_by"] is None

    for key in [(1, "total"), (2, "total"), (2, "date"), (2, "code")]:
        f = fields[key]
        assert f["reviewed"] is True and f["needs_review"] is False, key
        assert (f["confidence"], f["reasons"]) == (1.0, []), key
        assert f["reviewed_at"] is not None and f["reviewed_at"].endswith("Z"), key
    assert fields[1, "total"]["reviewed_by"] == "rita"  # her account is gone
    assert fields[2, "date"]["reviewed_by"] == "bob"
    assert (fields[1, "total"]["machine_value"], fields[1, "total"]["machine_confidence"]) == (
        "123",
        0.41,
    )

    # Longer than what was read: stored boxes where a digit was, the field box split after.
    longer = fields[1, "total"]
    assert longer["value"] == "12.50"
    assert [d["value"] for d in longer["digits"]] == [1, 2, None, 5, 0]
    assert [d["box"] for d in longer["digits"]] == [
        [100, 50, 40, 30],
        [140, 50, 40, 30],
        [180, 50, 40, 30],
        [172, 50, 24, 30],
        [196, 50, 24, 30],
    ]
    assert all(
        (d["confidence"], d["reviewed"], d["needs_review"], d["alternatives"])
        == (1.0, True, False, [])
        for d in longer["digits"]
    )
    shorter = fields[2, "total"]
    assert [d["value"] for d in shorter["digits"]] == [9, 8]
    # Confirmed and still spelled by its digits: the machine's digits stay, no longer doubtful.
    confirmed = fields[2, "date"]
    assert [d["value"] for d in confirmed["digits"]] == [0, 1, 0, 1]
    assert confirmed["digits"][0]["alternatives"] == [[0, 0.62]]
    assert not any(d["needs_review"] for d in confirmed["digits"])
    unreadable = fields[2, "code"]
    assert unreadable["value"] is None and unreadable["machine_value"] == "77"


def test_wide_rows_one_per_document_and_a_column_per_field(sqlite_url: str) -> None:
    doc_id, failed_id = _seed(sqlite_url)
    with session_scope(sqlite_url) as s:
        results = query_results(s)
    columns, rows = wide_rows(results)
    assert columns == [
        "document_id",
        "source",
        "status",
        "batch",
        "template",
        "account",
        "total",
        "p2.total",
        "date",
        "code",
        "zip",
    ]
    first, failed = rows
    assert first["document_id"] == doc_id and first["template"] == "claim"
    assert (first["account"], first["total"], first["p2.total"]) == ("0417", "12.50", "98")
    assert (first["date"], first["code"], first["zip"]) == ("0101", "", "00501")
    assert failed["document_id"] == failed_id and failed["status"] == "failed"
    assert all(failed[c] == "" for c in columns[5:])


def test_xlsx_keeps_leading_zeros_and_lists_what_needs_review(
    sqlite_url: str, tmp_path: Path
) -> None:
    _seed(sqlite_url)
    with session_scope(sqlite_url) as s:
        results = query_results(s)
    path = tmp_path / "results.xlsx"
    write_results_xlsx(results, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["results", "needs review"]
    ws = wb["results"]
    header = [c.value for c in ws[1]]
    assert header == wide_rows(results)[0]
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2"
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert (row["account"], row["zip"], row["total"]) == ("0417", "00501", "12.50")
    assert ws.cell(row=2, column=header.index("zip") + 1).number_format == "@"
    assert ws[3][1].value == "=1+1.png" and ws[3][1].data_type == "s"  # not a formula
    assert ws.column_dimensions["B"].width >= len("form 1.png")
    pending = wb["needs review"]
    assert [c.value for c in pending[1]][:5] == [
        "document_id",
        "source",
        "page",
        "template",
        "field",
    ]
    assert [(r[2].value, r[4].value, r[5].value) for r in pending.iter_rows(min_row=2)] == [
        (2, "zip", "00501")
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_results_command_wide_and_xlsx(sqlite_url: str, tmp_path: Path) -> None:
    _seed(sqlite_url)
    wide = cli(["results", "--format", "wide"])
    assert wide.exit_code == 0, wide.stderr
    rows = list(csv.DictReader(io.StringIO(wide.stdout)))
    assert [r["source"] for r in rows] == ["form 1.png", "=1+1.png"]
    assert rows[0]["zip"] == "00501" and rows[0]["p2.total"] == "98"

    flat = cli(["results", "--format", "csv", "--field", "date"])
    assert flat.exit_code == 0, flat.stderr
    (date,) = csv.DictReader(io.StringIO(flat.stdout))
    assert (date["confidence"], date["reasons"], date["reviewed_by"]) == ("1.0", "", "bob")
    assert date["machine_value"] == "0101" and date["reviewed_at"].endswith("Z")

    path = tmp_path / "out.xlsx"
    made = cli(["results", "--format", "xlsx", "--output", str(path)])
    assert made.exit_code == 0, made.stderr
    assert made.stdout == "" and str(path) in made.stderr.replace("\n", "")
    assert load_workbook(path)["results"]["A1"].value == "document_id"

    missing = cli(["results", "--format", "xlsx"])
    assert isinstance(missing.exception, UsageError) and "--output" in str(missing.exception)
