"""Scans for people: field images, digit crops and the page with a field outlined.

All stored as PNG in the database (deferred columns, loaded only here). Behind the page guard like
every other page: crops of forms are personal data.
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from PIL import Image, ImageDraw
from sqlalchemy import select

from db.models import Digit, Field, Page
from digitize.errors import NotFoundError
from review.deps import DbSession, page_guard

router = APIRouter(prefix="/images", dependencies=[Depends(page_guard)], include_in_schema=False)

_CACHE = {"Cache-Control": "private, max-age=3600"}


def _png(data: bytes | None, what: str) -> Response:
    if not data:
        raise NotFoundError(f"no image stored for {what}")
    return Response(content=data, media_type="image/png", headers=_CACHE)


@router.get("/fields/{field_id}.png", name="field_image")
def field_image(field_id: int, db: DbSession) -> Response:
    return _png(db.scalar(select(Field.image_png).where(Field.id == field_id)), f"field {field_id}")


@router.get("/digits/{digit_id}.png", name="digit_image")
def digit_image(digit_id: int, db: DbSession) -> Response:
    return _png(db.scalar(select(Digit.crop_png).where(Digit.id == digit_id)), f"digit {digit_id}")


@router.get("/pages/{page_id}.png", name="page_image")
def page_image(
    page_id: int, db: DbSession, field: int | None = Query(default=None, ge=1)
) -> Response:
    """The page preview, with ``field`` outlined in red when given."""
    row = db.execute(select(Page.preview_png, Page.preview_scale).where(Page.id == page_id)).first()
    if row is None or not row.preview_png:
        raise NotFoundError(f"no preview stored for page {page_id}")
    if field is None:
        return _png(row.preview_png, f"page {page_id}")
    box = db.scalar(select(Field.box).where(Field.id == field, Field.page_id == page_id))
    if box is None:
        raise NotFoundError(f"field {field} is not on page {page_id}")
    scale = row.preview_scale or 1.0
    img = Image.open(io.BytesIO(row.preview_png)).convert("RGB")
    x, y, w, h = (float(v) * scale for v in box)
    pad = max(2.0, 4 * scale)
    width = max(2, round(img.width / 300))
    ImageDraw.Draw(img).rectangle(
        (x - pad, y - pad, x + w + pad, y + h + pad), outline=(220, 30, 30), width=width
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return Response(content=buf.getvalue(), media_type="image/png", headers=_CACHE)
