"""Pictures of a template's fields on a form: what the designer found, where a scan's fields landed.

``draw_draft`` outlines drafted fields (their comb cells too) with their names; ``draw_check``
maps a template's boxes onto a scan through the registration's fit and writes each field's
value and confidence beside it, green when sure and red when it needs review, under a header
with the registration quality. The CLI writes these as PNG; the web app can serve them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import FieldResult, PageResult
from segmentation.templates import Template

BGR = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]

GREEN: Colour = (40, 150, 40)
RED: Colour = (30, 30, 220)
BLUE: Colour = (200, 90, 20)
ORANGE: Colour = (0, 140, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _colour(image: npt.NDArray[np.uint8]) -> BGR:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image.copy()


def _scale(image: npt.NDArray[np.uint8]) -> tuple[float, int]:
    """Font scale and line thickness that read well at the picture's size."""
    s = max(image.shape[:2]) / 2000
    return max(0.5, 1.1 * s), max(1, round(2 * s))


def _label(canvas: BGR, text: str, at: tuple[int, int], colour: Colour) -> None:
    """``text`` with its baseline at ``at`` (kept inside the picture) on a white patch."""
    scale, thick = _scale(canvas)
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    h, w = canvas.shape[:2]
    x = min(max(at[0], 0), max(w - tw - 4, 0))
    y = at[1] if at[1] - th - 4 >= 0 else at[1] + th + 4
    y = min(y, h - base - 2)
    cv2.rectangle(canvas, (x - 2, y - th - 3), (x + tw + 2, y + base), (255, 255, 255), -1)
    cv2.putText(canvas, text, (x, y), FONT, scale, colour, thick, cv2.LINE_AA)


def _ascii(text: str) -> str:
    """Hershey fonts draw ASCII only."""
    return text.encode("ascii", "replace").decode()


def draw_draft(image: npt.NDArray[np.uint8], fields: Sequence[Mapping[str, Any]]) -> BGR:
    """The form with each field of a (drafted) template outlined, its comb cells and its name."""
    canvas = _colour(image)
    _, thick = _scale(canvas)
    for f in fields:
        x, y, w, h = (int(v) for v in f["box"])
        cv2.rectangle(canvas, (x, y), (x + w, y + h), BLUE, thick + 1)
        cells = f.get("cells")
        if f.get("kind") == "comb" and cells:
            for i in range(1, int(cells)):
                cx = x + round(i * w / int(cells))
                cv2.line(canvas, (cx, y), (cx, y + h), BLUE, thick)
        _label(canvas, _ascii(str(f["name"])), (x, y - 6), BLUE)
    return canvas


def field_quad(homography: npt.NDArray[np.float64], box: Sequence[int]) -> npt.NDArray[np.int32]:
    """A template box's four corners in page pixels (a quadrilateral: the fit may rotate it)."""
    x, y, w, h = (float(v) for v in box)
    pts = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], dtype=np.float64)
    return np.round(cv2.perspectiveTransform(pts, homography)[0]).astype(np.int32)


def _reading(f: FieldResult | None) -> tuple[str, Colour]:
    if f is None:
        return "not read", RED
    return f"{f.value or '-'}  {f.confidence:.2f}", RED if f.needs_review else GREEN


def draw_check(
    image: npt.NDArray[np.uint8],
    template: Template | None,
    result: PageResult,
    *,
    poor_below: float,
) -> BGR:
    """The scan with every template field where the fit puts it, read values and a header.

    ``template`` is the one the page registered against (None when it registered against none:
    then the strings read template-free are outlined in orange and the header says so).
    ``poor_below``: a registration quality under it is shown in red.
    """
    canvas = _colour(image)
    _, thick = _scale(canvas)
    by_name = {f.name: f for f in result.fields}
    if template is not None and result.homography is not None:
        for spec in template.fields:
            found = by_name.get(spec.name)
            text, colour = _reading(found)
            quad = field_quad(result.homography, spec.box)
            cv2.polylines(canvas, [quad.reshape(-1, 1, 2)], True, colour, thick + 1)
            top_left = quad[np.argmin(quad.sum(axis=1))]
            _label(
                canvas,
                _ascii(f"{spec.name}: {text}"),
                (int(top_left[0]), int(top_left[1]) - 6),
                colour,
            )
        q = result.registration_quality or 0.0
        header = f"template {template.name}: registration quality {q:.3f}"
        header_colour = RED if q < poor_below else GREEN
    else:
        for f in result.fields:
            x, y, w, h = f.box
            cv2.rectangle(canvas, (x, y), (x + w, y + h), ORANGE, thick + 1)
            _label(canvas, _ascii(f"{f.value or '-'}  {f.confidence:.2f}"), (x, y - 6), ORANGE)
        header = "NOT REGISTERED: no template fits this page; read template-free"
        header_colour = RED
    return _with_header(canvas, _ascii(header), header_colour)


def _with_header(canvas: BGR, text: str, colour: Colour) -> BGR:
    scale, thick = _scale(canvas)
    scale, thick = 1.4 * scale, thick + 1
    (_, th), base = cv2.getTextSize(text, FONT, scale, thick)
    band = np.full((th + base + 24, canvas.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (12, th + 12), FONT, scale, colour, thick, cv2.LINE_AA)
    cv2.line(band, (0, band.shape[0] - 2), (band.shape[1], band.shape[0] - 2), colour, 2)
    return np.vstack([band, canvas])
