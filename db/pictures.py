"""The stored pictures the review app shows: field images, digit crops, page previews."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Digit, Field, Page


def field_image(session: Session, field_id: int) -> bytes | None:
    return session.scalar(select(Field.image_jpeg).where(Field.id == field_id))


def digit_crop(session: Session, digit_id: int) -> bytes | None:
    return session.scalar(select(Digit.crop_png).where(Digit.id == digit_id))


def page_preview(session: Session, page_id: int) -> tuple[bytes | None, float | None] | None:
    """``(preview bytes, preview scale)`` of a page, or None when the page does not exist."""
    row = session.execute(
        select(Page.preview_jpeg, Page.preview_scale).where(Page.id == page_id)
    ).first()
    return None if row is None else (row.preview_jpeg, row.preview_scale)


def field_box_on_page(session: Session, field_id: int, page_id: int) -> list[Any] | None:
    """The field's box in page pixels, or None when the field is not on that page."""
    box = session.scalar(select(Field.box).where(Field.id == field_id, Field.page_id == page_id))
    return None if box is None else list(box)
