"""Printed form layouts for the synthetic generator: blank references and their template fields.

Each layout is an A4 page at 200 dpi (1654 × 2339) with a title, labels, small print and fields of
all three kinds, drawn with OpenCV's Hershey fonts. Layouts differ in their printed text and
structure, so form identification has something real to tell apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

A4_200DPI = (1654, 2339)
DPI = 200
INK = 20

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    kind: str  # comb | box | line
    box: Box
    cells: int | None = None
    pattern: str | None = None
    min_digits: int | None = None
    max_digits: int | None = None
    checksum: str | None = None
    range: tuple[float, float] | None = None

    def spec(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "box": list(self.box), "kind": self.kind}
        for key in ("cells", "pattern", "min_digits", "max_digits", "checksum"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.range is not None:
            out["range"] = list(self.range)
        return out


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    subtitle: str
    fields: list[FieldDef]
    small_print: list[str] = field(default_factory=list)
    size: tuple[int, int] = A4_200DPI


def _comb(
    name: str, label: str, x: int, y: int, cells: int, cell: int = 78, h: int = 100, **kw: object
) -> FieldDef:
    return FieldDef(name, label, "comb", (x, y, cells * cell, h), cells=cells, **kw)  # type: ignore[arg-type]


LAYOUTS: dict[str, Layout] = {
    "claim": Layout(
        "claim",
        "INSURANCE CLAIM FORM",
        "Part A - policy holder. Write one digit per box in black or blue ink.",
        [
            _comb("account", "Account number", 560, 420, 10, min_digits=10, max_digits=10),
            _comb("policy", "Policy", 560, 600, 6, pattern=r"\d{6}"),
            _comb("date", "Date (DDMMYYYY)", 560, 780, 8, pattern=r"[0-3]\d[01]\d(19|20)\d\d"),
            FieldDef("amount", "Amount claimed", "box", (560, 980, 620, 120), max_digits=7),
            FieldDef(
                "phone", "Telephone", "line", (560, 1200, 820, 110), min_digits=6, max_digits=12
            ),
            FieldDef("branch", "Branch code", "box", (560, 1400, 330, 120), range=(100, 9999)),
        ],
        [
            "I declare that the information given on this form is correct and complete.",
            "Claims must be received within 90 days. Keep a copy of this form for your records.",
            "Office use only:  received ______  checked ______  entered ______",
        ],
    ),
    "survey": Layout(
        "survey",
        "Household Survey 2026",
        "Section 2: people living at this address on census night",
        [
            _comb("household", "Household id", 160, 470, 7, cell=90, h=110, checksum="luhn"),
            _comb("persons", "Persons", 1050, 470, 2, cell=90, h=110, range=(1, 30)),
            _comb("age1", "Age of person 1", 160, 800, 3, cell=90, h=110, range=(0, 120)),
            _comb("age2", "Age of person 2", 660, 800, 3, cell=90, h=110, range=(0, 120)),
            _comb("age3", "Age of person 3", 1160, 800, 3, cell=90, h=110, range=(0, 120)),
            _comb("postcode", "Postcode", 160, 1130, 5, cell=90, h=110),
            FieldDef("income", "Monthly income", "line", (160, 1450, 700, 120), max_digits=6),
            FieldDef("rooms", "Rooms", "box", (1050, 1450, 300, 130), range=(1, 40)),
        ],
        [
            "Answers are confidential and used for statistics only (Statistics Act, s. 12).",
            "Please count babies, lodgers and visitors staying longer than three months.",
        ],
    ),
    "order": Layout(
        "order",
        "ORDER SHEET",
        "Wholesale department - fax this sheet or post it to the address overleaf",
        [
            FieldDef(
                "customer",
                "Customer no.",
                "line",
                (470, 380, 760, 110),
                checksum="luhn",
                min_digits=6,
                max_digits=10,
            ),
            *[
                f
                for row in range(4)
                for f in (
                    _comb(
                        f"item{row + 1}", f"Item {row + 1}", 200, 760 + 230 * row, 6, cell=76, h=96
                    ),
                    FieldDef(
                        f"qty{row + 1}", "", "box", (740, 752 + 230 * row, 250, 112), max_digits=3
                    ),
                    FieldDef(
                        f"price{row + 1}",
                        "",
                        "box",
                        (1080, 752 + 230 * row, 400, 112),
                        max_digits=6,
                    ),
                )
            ],
        ],
        [
            "Prices in cents. Orders received before noon are dispatched the same day.",
            "Item codes are printed in the catalogue next to each product.",
        ],
    ),
}

#: Harder cases for identification: a look-alike of "claim" (same title and frame, other fields)
#: and a dense table. Not in the default set; make_page and write_templates take them by name.
EXTRA_LAYOUTS: dict[str, Layout] = {
    "claim_b": Layout(
        "claim_b",
        "INSURANCE CLAIM FORM",
        "Part B - vehicle details. Write one digit per box in black or blue ink.",
        [
            _comb("plate", "Registration", 560, 440, 7),
            FieldDef("mileage", "Mileage", "box", (560, 640, 520, 120), max_digits=7),
            _comb("date", "Date (DDMMYYYY)", 560, 860, 8, pattern=r"[0-3]\d[01]\d(19|20)\d\d"),
            FieldDef("cost", "Repair cost", "box", (560, 1080, 620, 120), max_digits=7),
            FieldDef(
                "phone", "Garage phone", "line", (560, 1300, 820, 110), min_digits=6, max_digits=12
            ),
        ],
        [
            "I declare that the information given on this form is correct and complete.",
            "Attach the repair estimate. Keep a copy of this form for your records.",
        ],
    ),
    "timesheet": Layout(
        "timesheet",
        "WEEKLY TIMESHEET",
        "Hours worked per day, rounded to the nearest quarter hour, in minutes",
        [
            _comb("employee", "Employee no.", 560, 400, 8, cell=80, h=100, checksum="luhn"),
            *[
                FieldDef(
                    f"minutes_{day}", day, "box", (560, 620 + 150 * i, 360, 110), range=(0, 1440)
                )
                for i, day in enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))
            ],
            FieldDef("total", "Total", "line", (560, 1400, 500, 110), max_digits=5),
        ],
        ["Sign and hand in by Friday noon. Overtime must be approved in advance."],
    ),
}

ALL_LAYOUTS: dict[str, Layout] = {**LAYOUTS, **EXTRA_LAYOUTS}


def draw_reference(layout: Layout) -> npt.NDArray[np.uint8]:
    """The blank printed form, black on white."""
    w, h = layout.size
    im = np.full((h, w), 255, np.uint8)
    font, bold = cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX
    cv2.rectangle(im, (60, 60), (w - 60, h - 60), INK, 3)
    cv2.putText(im, layout.title, (110, 190), bold, 2.2, INK, 5, cv2.LINE_AA)
    cv2.putText(im, layout.subtitle, (110, 270), font, 0.95, INK, 2, cv2.LINE_AA)
    cv2.line(im, (110, 300), (w - 110, 300), INK, 4)
    seed = sum(map(ord, layout.name))
    cv2.rectangle(im, (w - 330, 110), (w - 110, 230), INK, -1)
    cv2.putText(im, f"F-{seed:03d}", (w - 310, 195), bold, 1.8, 255, 4, cv2.LINE_AA)
    if layout.name == "order":
        for col, head in ((200, "Item code"), (740, "Quantity"), (1080, "Price")):
            cv2.putText(im, head, (col, 640), bold, 1.1, INK, 2, cv2.LINE_AA)
        cv2.line(im, (110, 665), (w - 110, 665), INK, 2)
    for f in layout.fields:
        x, y, bw, bh = f.box
        if f.label:
            if layout.name == "survey" or f.box[0] < 400:
                cv2.putText(im, f.label, (x, y - 22), font, 1.0, INK, 2, cv2.LINE_AA)
            else:
                cv2.putText(im, f.label, (110, y + bh // 2 + 12), font, 1.05, INK, 2, cv2.LINE_AA)
        if f.kind == "comb":
            cells = f.cells or 1
            cv2.rectangle(im, (x, y), (x + bw, y + bh), INK, 3)
            for i in range(1, cells):
                cx = x + round(i * bw / cells)
                cv2.line(im, (cx, y + bh // 3), (cx, y + bh), INK, 2)
        elif f.kind == "box":
            cv2.rectangle(im, (x, y), (x + bw, y + bh), INK, 3)
        else:
            cv2.line(im, (x, y + bh - 12), (x + bw, y + bh - 12), INK, 3)
    y0 = h - 420
    for i, line in enumerate(layout.small_print):
        cv2.putText(im, line, (110, y0 + 48 * i), font, 0.8, INK, 2, cv2.LINE_AA)
    cv2.putText(im, "Signature", (110, h - 170), font, 1.0, INK, 2, cv2.LINE_AA)
    cv2.line(im, (320, h - 170), (900, h - 170), INK, 2)
    cv2.putText(
        im,
        f"{layout.name.upper()} / rev {seed % 7 + 1} / page 1 of 1",
        (w - 700, h - 100),
        font,
        0.8,
        INK,
        2,
        cv2.LINE_AA,
    )
    return im


def template_json(layout: Layout, reference_name: str) -> dict[str, object]:
    return {
        "name": layout.name,
        "reference": reference_name,
        "size": list(layout.size),
        "fields": [f.spec() for f in layout.fields],
    }


def write_template(layout: Layout, directory: Path) -> Path:
    """Write ``<name>.json`` and ``<name>.png`` (the reference) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / f"{layout.name}.png"
    cv2.imwrite(str(png), draw_reference(layout), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    path = directory / f"{layout.name}.json"
    path.write_text(json.dumps(template_json(layout, png.name), indent=2) + "\n")
    return path
