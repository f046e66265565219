"""Person-labelled digit crops, read for the training-data export (``review.export``)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from sqlalchemy import Result, select
from sqlalchemy.orm import Session

from db.models import Digit, Document, Field, User

#: What ``labelled_digits`` returns: one row per crop, these columns in this order.
LabelledDigits: TypeAlias = Result[
    int,
    int | None,
    int | None,
    float,
    bytes | None,
    datetime | None,
    int,
    str,
    int,
    str,
    str | None,
]


def labelled_digits(db: Session, *, batch_id: int | None = None) -> LabelledDigits:
    """Every digit a person labelled that has a crop, in id order, streamed 500 rows at a time.

    Rows: ``(digit_id, corrected_value, value, confidence, crop_png, corrected_at, field_id,
    field_name, document_id, source, reviewer_username)``; the reviewer is None when unknown.
    """
    stmt = (
        select(
            Digit.id,
            Digit.corrected_value,
            Digit.value,
            Digit.confidence,
            Digit.crop_png,
            Digit.corrected_at,
            Field.id,
            Field.name,
            Document.id,
            Document.source,
            User.username,
        )
        .join(Field, Field.id == Digit.field_id)
        .join(Document, Document.id == Field.document_id)
        .outerjoin(User, User.id == Digit.corrected_by)
        .where(Digit.corrected_value.is_not(None), Digit.crop_png.is_not(None))
        .order_by(Digit.id)
    )
    if batch_id is not None:
        stmt = stmt.where(Field.batch_id == batch_id)
    return db.execute(stmt.execution_options(yield_per=500))
