"""Scans for people: field images, digit crops and the page with a field outlined.

Digit crops are stored as PNG, field images and page previews as JPEG (PNG before migration
0003), in the database (deferred columns, loaded only here). Behind the page guard like every
other page: crops of forms are personal data.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from PIL import Image, ImageDraw

from db import pictures
from db import review_groups as rg
from digitize.errors import NotFoundError
from review import specs
from review.deps import DbSession, page_guard
from segmentation.loading import sniff
from segmentation.reader import INK_OUTSIDE_BOX
from segmentation.templates import FieldSpec

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


#: A digit shown in its field is drawn at least this tall (stored field images can be small).
IN_FIELD_MIN_HEIGHT = 96


def digit_rect_in_image(
    digit_box: Sequence[float],
    field_box: Sequence[float],
    size: tuple[int, int],
    margins: tuple[float, float] = (0.0, 0.0),
) -> tuple[float, float, float, float]:
    """Where a digit's page-pixel box lies in the field's stored image, as (x0, y0, x1, y1).

    Field images are cut at the field's box (grown by ``margins`` when the writing ran outside
    it), from the page aligned to the template, possibly scaled; digit boxes are in the pixels of
    the page as read. The box → image map is therefore the field box (plus margins) stretched to
    the image.
    """
    fx, fy, fw, fh = (float(v) for v in field_box)
    mx, my = margins
    sx = size[0] / max(fw + 2 * mx, 1.0)
    sy = size[1] / max(fh + 2 * my, 1.0)
    dx, dy, dw, dh = (float(v) for v in digit_box)
    x0, y0 = (dx - fx + mx) * sx, (dy - fy + my) * sy
    x0, y0 = min(max(x0, 0.0), size[0] - 1.0), min(max(y0, 0.0), size[1] - 1.0)
    x1 = min(max((dx - fx + mx + dw) * sx, x0 + 1), float(size[0]))
    y1 = min(max((dy - fy + my + dh) * sy, y0 + 1), float(size[1]))
    return x0, y0, x1, y1


def _margins(request: Request, db: Any, ctx: rg.DigitInField) -> tuple[float, float]:
    """The margins the reader grew the picture by when ink ran outside the box (else none)."""
    if INK_OUTSIDE_BOX not in ctx.reasons or len(ctx.field_box) != 4:
        return 0.0, 0.0
    info = specs.field_info(db, request.app.state.settings, ctx.batch_id, ctx.template, ctx.name)
    box = tuple(int(v) for v in ctx.field_box)
    spec = FieldSpec(ctx.name, box, info.kind if info else "box")  # type: ignore[arg-type]
    return tuple(float(v) for v in spec.margins())  # type: ignore[return-value]


@router.get("/digits/{digit_id}/in-field.png", name="digit_in_field")
def digit_in_field(digit_id: int, request: Request, db: DbSession) -> Response:
    """The digit's whole field with the digit outlined and the rest dimmed (group verification:
    a crop is judged in its context)."""
    ctx = rg.digit_in_field(db, digit_id)
    if ctx is None or not ctx.image:
        raise NotFoundError(f"no field image stored for digit {digit_id}")
    img = Image.open(io.BytesIO(ctx.image)).convert("RGB")
    if len(ctx.digit_box) != 4 or len(ctx.field_box) != 4:
        raise NotFoundError(f"digit {digit_id} has no box")
    x0, y0, x1, y1 = digit_rect_in_image(
        ctx.digit_box, ctx.field_box, img.size, _margins(request, db, ctx)
    )
    if img.height < IN_FIELD_MIN_HEIGHT:
        k = IN_FIELD_MIN_HEIGHT / img.height
        img = img.resize((round(img.width * k), IN_FIELD_MIN_HEIGHT), Image.Resampling.LANCZOS)
        x0, y0, x1, y1 = x0 * k, y0 * k, x1 * k, y1 * k
    box = (round(x0), round(y0), round(x1), round(y1))
    digit = img.crop(box)
    dimmed = Image.blend(img, Image.new("RGB", img.size, (255, 255, 255)), 0.62)
    dimmed.paste(digit, box[:2])
    width = max(2, round(img.height / 40))
    ImageDraw.Draw(dimmed).rectangle(
        (box[0] - width, box[1] - width, box[2] + width - 1, box[3] + width - 1),
        outline=(31, 111, 235),
        width=width,
    )
    buf = io.BytesIO()
    dimmed.save(buf, format="PNG", optimize=False)
    return Response(content=buf.getvalue(), media_type="image/png", headers=_CACHE)


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
