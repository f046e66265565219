"""The template designer's field finder on forms drawn here: what it finds and what it leaves."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.form_fields import FoundField, find_fields

W, H = 1654, 2339
INK = 20
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    return i / (a[2] * a[3] + b[2] * b[3] - i)


Truth = tuple[str, tuple[int, int, int, int], int | None]


def _form() -> tuple[np.ndarray, dict[str, Truth]]:
    """A blank form with one of each field and each thing that is not one; the true fields."""
    im = np.full((H, W), 255, np.uint8)
    cv2.putText(im, "APPLICATION FORM", (110, 190), FONT, 2.0, INK, 5, cv2.LINE_AA)
    cv2.line(im, (110, 290), (W - 110, 290), INK, 4)  # separator across the page
    cv2.circle(im, (1400, 160), 50, INK, -1)  # a logo
    truth: dict[str, Truth] = {}
    y = 400
    cv2.putText(im, "Amount", (110, y + 60), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.rectangle(im, (560, y), (960, y + 110), INK, 3)
    truth["box"] = ("box", (560, y, 400, 110), None)
    y = 620
    cv2.putText(im, "Account", (110, y + 60), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.rectangle(im, (560, y), (560 + 6 * 75, y + 100), INK, 3)
    for i in range(1, 6):
        cv2.line(im, (560 + 75 * i, y), (560 + 75 * i, y + 100), INK, 2)
    truth["comb6"] = ("comb", (560, y, 450, 100), 6)
    y = 840
    cv2.putText(im, "Postcode", (110, y + 60), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.line(im, (560, y + 100), (560 + 4 * 80, y + 100), INK, 3)
    for i in range(5):
        cv2.line(im, (560 + 80 * i, y + 75), (560 + 80 * i, y + 100), INK, 3)
    truth["ticks4"] = ("comb", (560, y, 320, 100), 4)
    y = 1040
    cv2.putText(im, "Telephone", (110, y + 60), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.line(im, (560, y + 110 - 12), (1300, y + 110 - 12), INK, 2)
    truth["line"] = ("line", (560, y, 740, 110), None)
    y = 1240
    cv2.putText(im, "Member no", (110, y + 60), FONT, 1.0, INK, 2, cv2.LINE_AA)
    for x in range(560, 1200, 12):
        cv2.circle(im, (x, y + 110 - 12), 2, INK, -1, cv2.LINE_AA)
    truth["dotted"] = ("line", (560, y, 640, 110), None)
    y = 1420
    cv2.putText(im, "Married", (110, y + 40), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.rectangle(im, (560, y + 5), (600, y + 45), INK, 2)  # a check box
    cv2.putText(im, "Printed 1234 text, not a field", (700, y + 40), FONT, 1.0, INK, 2)
    # A table: header cells with text are not fields; the empty cells under them are.
    y, xs, head, row = 1560, [110, 500, 900, 1300], 70, 110
    for i, name in enumerate(("Item", "Quantity", "Price")):
        cv2.putText(im, name, (xs[i] + 12, y + head - 22), FONT, 0.9, INK, 2, cv2.LINE_AA)
    for x in xs:
        cv2.line(im, (x, y), (x, y + head + 2 * row), INK, 2)
    for yy in (y, y + head, y + head + row, y + head + 2 * row):
        cv2.line(im, (xs[0], yy), (xs[-1], yy), INK, 2)
    for r in range(2):
        for c in range(3):
            truth[f"cell{r}{c}"] = (
                "box",
                (xs[c], y + head + r * row, xs[c + 1] - xs[c], row),
                None,
            )
    cv2.putText(im, "Signature", (110, H - 170), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.line(im, (320, H - 170), (900, H - 170), INK, 2)
    return im, truth


def _check(found: list[FoundField], truth: dict[str, Truth], scale: float = 1.0) -> None:
    for name, (kind, box, cells) in truth.items():
        x, y, w, h = (round(v * scale) for v in box)
        b = (x, y, w, h)
        best = max(found, key=lambda f: _iou(f.box, b))
        assert _iou(best.box, b) >= 0.6, (name, b, found)
        assert best.kind == kind, (name, best)
        assert best.cells == cells, (name, best)
    assert len(found) == len(truth), [f for f in found]


def test_finds_every_kind_and_nothing_else() -> None:
    im, truth = _form()
    found = find_fields(im)
    _check(found, truth)
    # Reading order: the box, the comb, the tick comb, the lines, then the table row by row.
    assert [f.kind for f in found[:5]] == ["box", "comb", "comb", "line", "line"]
    assert found[0].caption is not None and found[0].caption[0] < 560


def test_half_resolution_gives_boxes_in_its_own_pixels() -> None:
    im, truth = _form()
    half = cv2.resize(im, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
    _check(find_fields(half), truth, 0.5)


def test_handwriting_in_the_fields_makes_and_breaks_nothing() -> None:
    im, truth = _form()
    script = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX | cv2.FONT_ITALIC  # handwriting slants
    for kind, (x, y, w, h), cells in truth.values():
        if kind == "comb" and cells:
            for k in range(cells):  # a digit in each cell
                cx = x + k * w // cells + 12
                cv2.putText(im, "38"[k % 2], (cx, y + h - 18), script, 2.2, 35, 3, cv2.LINE_AA)
        else:
            cv2.putText(im, "3578", (x + 14, y + h - 16), script, 2.8, 35, 3, cv2.LINE_AA)
    _check(find_fields(im), truth)


def test_check_box_logo_and_text_alone_are_no_fields() -> None:
    im = np.full((1200, 850), 255, np.uint8)  # A4 at about 100 dpi
    cv2.rectangle(im, (100, 300), (120, 320), INK, 1)  # check boxes
    cv2.rectangle(im, (300, 300), (322, 322), INK, 2)
    cv2.circle(im, (600, 120), 40, INK, -1)  # a logo
    cv2.putText(im, "Total 1999", (100, 500), FONT, 1.0, INK, 2, cv2.LINE_AA)
    cv2.rectangle(im, (30, 30), (820, 1170), INK, 2)  # the page frame
    assert find_fields(im) == []


def test_a_shaded_box_without_border_is_a_field() -> None:
    im = np.full((1170, 827), 255, np.uint8)
    cv2.rectangle(im, (300, 300), (600, 360), 215, -1)
    found = find_fields(im)
    assert [f.kind for f in found] == ["box"]
    assert _iou(found[0].box, (300, 300, 300, 60)) >= 0.6


def test_table_cells_stop_at_the_lines_they_share() -> None:
    """A table ruled with a broad pen: each cell's box holds none of its lines, whose remnants
    after form removal would otherwise sit inside two fields at once."""
    im = np.full((H, W), 255, np.uint8)
    xs, ys = [200, 600, 1000, 1400], [500, 620, 740]
    for x in xs:
        cv2.line(im, (x, ys[0]), (x, ys[-1]), INK, 6)
    for y in ys:
        cv2.line(im, (xs[0], y), (xs[-1], y), INK, 6)
    cells = find_fields(im)
    assert len(cells) == 6 and {f.kind for f in cells} == {"box"}
    for f in cells:
        x, y, w, h = f.box
        assert w > 380 and h > 100
        assert (im[y : y + h, x : x + w] == 255).all(), f.box
