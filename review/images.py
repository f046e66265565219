"""Scans for people: field images, digit crops and the page with a field outlined.

Digit crops are stored as PNG, field images and page previews as JPEG (PNG before migration
0003), in the database (deferred columns, loaded only here). Behind the page guard like every
other page: crops of forms are personal data.
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from PIL import Image, ImageDraw

from db import pictures
from digitize.errors import NotFoundError
from review.deps import DbSession, page_guard
from segmentation.loading import sniff

router = APIRouter(prefix="/images", dependencies=[Depends(page_guard)], include_in_schema=False)

_CACHE = {"Cache-Control": "private, max-age=3600"}


def _image(data: bytes | None, what: str) -> Response:
    if not data:
        raise NotFoundError(f"no image stored for {what}")
    return Response(content=data, media_type=_media_type(data), headers=_CACHE)


def _media_type(data: bytes) -> str:
    return "image/jpeg" if sniff(data) == "jpeg" else "image/png"


@router.get("/fields/{field_id}.jpg", name="field_image")
def field_image(field_id: int, db: DbSession) -> Response:
    data = pictures.field_image(db, field_id)
    return _image(data, f"field {field_id}")


@router.get("/digits/{digit_id}.png", name="digit_image")
def digit_image(digit_id: int, db: DbSession) -> Response:
    data = pictures.digit_crop(db, digit_id)
    return _image(data, f"digit {digit_id}")


@router.get("/pages/{page_id}.jpg", name="page_image")
def page_image(
    page_id: int, db: DbSession, field: int | None = Query(default=None, ge=1)
) -> Response:
    """The page preview, with ``field`` outlined in red when given."""
    row = pictures.page_preview(db, page_id)
    preview, preview_scale = row if row is not None else (None, None)
    if not preview:
        raise NotFoundError(f"no preview stored for page {page_id}")
    if field is None:
        return _image(preview, f"page {page_id}")
    box = pictures.field_box_on_page(db, field, page_id)
    if box is None:
        raise NotFoundError(f"field {field} is not on page {page_id}")
    scale = preview_scale or 1.0
    img = Image.open(io.BytesIO(preview)).convert("RGB")
    x, y, w, h = (float(v) * scale for v in box)
    pad = max(2.0, 4 * scale)
    width = max(2, round(img.width / 300))
    ImageDraw.Draw(img).rectangle(
        (x - pad, y - pad, x + w + pad, y + h + pad), outline=(220, 30, 30), width=width
    )
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return Response(content=buf.getvalue(), media_type="image/jpeg", headers=_CACHE)
