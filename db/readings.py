"""Writing a read document's pages, fields and digits: the rows, then one function that stores them.

The worker turns a reading into these plain rows (its pictures already encoded); storing them is
Core INSERTs on the caller's transaction, fields with RETURNING in parameter order and digits as
one executemany: the ORM unit of work cost ~6 ms a page for rows nothing reads back here. Column
defaults (``Field.version`` …) apply as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from db.models import Digit, Field, Page


@dataclass
class FieldRows:
    """A field's columns (without page, document and batch ids) and its digits' columns."""

    columns: dict[str, Any]
    digits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PageRows:
    """A page's columns (without the document id) and its fields in reading order."""

    columns: dict[str, Any]
    fields: list[FieldRows] = field(default_factory=list)


def store_reading(
    session: Session, document_id: int, batch_id: int, pages: Sequence[PageRows]
) -> int:
    """Replace the document's pages, fields and digits with ``pages``; returns the rows written."""
    page_t, field_t, digit_t = (cast(Table, m.__table__) for m in (Page, Field, Digit))
    session.execute(delete(Page).where(Page.document_id == document_id))
    count = 0
    for page in pages:
        page_row = {"document_id": document_id, **page.columns}
        page_id = session.execute(insert(page_t).returning(page_t.c.id), page_row).scalar_one()
        count += 1
        if not page.fields:
            continue
        field_rows = [
            {
                "page_id": page_id,
                "document_id": document_id,
                "batch_id": batch_id,
                "template": page.columns.get("template"),
                "position": pos,
                **f.columns,
            }
            for pos, f in enumerate(page.fields)
        ]
        returning = insert(field_t).returning(field_t.c.id, sort_by_parameter_order=True)
        field_ids = session.execute(returning, field_rows).scalars().all()
        digit_rows = [
            {"field_id": field_id, "position": dpos, **d}
            for field_id, f in zip(field_ids, page.fields, strict=True)
            for dpos, d in enumerate(f.digits)
        ]
        if digit_rows:
            session.execute(insert(digit_t), digit_rows)
        count += len(field_rows) + len(digit_rows)
    return count
