"""Blank form families for the evaluation corpus: each ``(rng) -> FormLayout``.

Every family draws an A4 page at 200 dpi (1654 × 2339, BGR, white) with a different
construction of its fields, random positions, sizes, line widths and print colours per seed,
and says where its fields are (the box a template would use; for combs the cell boxes too) and
which printed things are NOT fields (logos, stamps, printed numbers, check boxes, captions).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

A4 = (1654, 2339)
DPI = 200
Box = tuple[int, int, int, int]
Colour = tuple[int, int, int]
Image = npt.NDArray[np.uint8]

FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
)
CAPTIONS = (
    "Account number", "Amount", "Reference", "Quantity", "Telephone", "Postcode", "Member no",
    "Date", "Invoice", "Meter reading", "Age", "Total", "Customer", "Branch", "Weight", "Height",
    "Order", "Claim", "Policy", "Employee", "Room", "Hours", "Income", "Persons", "Code",
)  # fmt: skip
TITLES = (
    "APPLICATION FORM", "Order Sheet", "CLAIM FORM", "Registration", "Survey", "Meter Readings",
    "DELIVERY NOTE", "Time Sheet", "Membership Renewal", "Stock Count", "Patient Record",
)  # fmt: skip


@dataclass(frozen=True)
class CorpusField:
    name: str
    kind: str  # "box" | "comb" | "line"
    box: Box  # what a template uses (for "line": the space above the line, the line included)
    cells: tuple[Box, ...] = ()  # comb cells, left to right
    max_digits: int = 7
    #: what people write: "number" (1..max_digits digits), "code" (fills every comb cell),
    #: "small" (1-3 digits), "cents" (exactly 2)
    value: str = "number"


@dataclass(frozen=True)
class Distractor:
    kind: str  # "logo" | "stamp" | "printed" | "checkbox" | "caption"
    box: Box
    text: str = ""


@dataclass
class FormLayout:
    family: str
    image: Image  # the blank printed form, BGR uint8
    fields: list[CorpusField]
    distractors: list[Distractor] = field(default_factory=list)

    @property
    def grey(self) -> Image:
        return cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY)


#: The pen of every form's printed structure drawn while set (``pages.drawn_with``); None: as
#: drawn.
LINE_WIDTH: ContextVar[int | None] = ContextVar("line_width", default=None)


class _Form:
    """A page being drawn: the picture, its print colour and what has been put on it."""

    def __init__(self, family: str, rng: np.random.Generator, *, colour: bool = True) -> None:
        self.rng = rng
        self.family = family
        self.img = np.full((A4[1], A4[0], 3), 255, np.uint8)
        r = rng.random()
        if colour and r < 0.2:  # drop-out colours and coloured print
            self.ink: Colour = [(40, 40, 190), (150, 60, 20), (40, 120, 40), (30, 110, 230)][
                int(rng.integers(0, 4))
            ]
        elif r < 0.35:
            self.ink = (90, 90, 90)
        else:
            self.ink = (20, 20, 20)
        self.font = FONTS[int(rng.integers(0, len(FONTS)))]
        self.fields: list[CorpusField] = []
        self.distractors: list[Distractor] = []
        self.lw = int(rng.integers(1, 5))  # structure line width
        self.lw = LINE_WIDTH.get() or self.lw  # (drawn after the choice: the same choices)

    def text(self, s: str, x: int, y: int, scale: float = 1.0, thick: int = 2) -> Box:
        """Text with its baseline at ``y``; returns its box."""
        (tw, th), base = cv2.getTextSize(s, self.font, scale, thick)
        cv2.putText(self.img, s, (x, y), self.font, scale, self.ink, thick, cv2.LINE_AA)
        return x, y - th, tw, th + base

    def text_width(self, s: str, scale: float = 1.0, thick: int = 2) -> int:
        return cv2.getTextSize(s, self.font, scale, thick)[0][0]

    def header(self, *, frame: bool | None = None) -> int:
        rng = self.rng
        if frame if frame is not None else rng.random() < 0.5:
            m = int(rng.integers(40, 80))
            cv2.rectangle(self.img, (m, m), (A4[0] - m, A4[1] - m), self.ink, self.lw)
        title = TITLES[int(rng.integers(0, len(TITLES)))]
        self.text(title, 110, 190, float(rng.uniform(1.5, 2.3)), int(rng.integers(3, 6)))
        self.text("Please write clearly in the spaces provided.", 110, 260, 0.9, 2)
        if rng.random() < 0.6:
            cv2.line(self.img, (110, 290), (A4[0] - 110, 290), self.ink, int(rng.integers(2, 6)))
        return 380

    def footer(self) -> None:
        self.text("Signature", 110, A4[1] - 170, 1.0, 2)
        cv2.line(self.img, (320, A4[1] - 170), (900, A4[1] - 170), self.ink, 2)

    def caption(self, s: str, box: Box, where: str, scale: float = 0.95) -> None:
        x, y, _w, h = box
        tw = self.text_width(s, scale)
        if where == "left":
            b = self.text(
                s, max(80, x - tw - int(self.rng.integers(14, 40))), y + h // 2 + 12, scale
            )
        elif where == "above":
            b = self.text(s, x, y - int(self.rng.integers(6, 22)), scale)
        else:  # inside, top left, small
            sc = scale * 0.55
            b = self.text(s, x + 6 + self.lw, y + 8 + self.lw + 14, sc, 1)
        self.distractors.append(Distractor("caption", b, s))

    def name(self, base: str) -> str:
        taken = {f.name for f in self.fields}
        stem = base.lower().replace(" ", "_")
        k = 1
        while f"{stem}{k}" in taken:
            k += 1
        return f"{stem}{k}"

    # -- field shapes -------------------------------------------------------------------------
    def box(
        self, box: Box, *, fill: Colour | None = None, border: bool = True, **kw: object
    ) -> None:
        x, y, w, h = box
        if fill is not None:
            cv2.rectangle(self.img, (x, y), (x + w, y + h), fill, -1)
        if border:
            cv2.rectangle(self.img, (x, y), (x + w, y + h), self.ink, self.lw)
        self.fields.append(CorpusField(self.name(str(kw.pop("cap", "box"))), "box", box, **kw))  # type: ignore[arg-type]

    def comb(self, x: int, y: int, cells: int, cw: int, h: int, style: str, cap: str = "c") -> Box:
        img, ink, lw = self.img, self.ink, self.lw
        w = cells * cw
        if style == "ticks":
            cv2.line(img, (x, y + h), (x + w, y + h), ink, lw)
            tick = int(h * self.rng.uniform(0.15, 0.3))
            for i in range(cells + 1):
                cv2.line(img, (x + i * cw, y + h - tick), (x + i * cw, y + h), ink, lw)
        else:
            cv2.rectangle(img, (x, y), (x + w, y + h), ink, lw)
            top = y if style == "full" else y + int(h * self.rng.uniform(0.4, 0.6))
            for i in range(1, cells):
                cv2.line(img, (x + i * cw, top), (x + i * cw, y + h), ink, max(1, lw - 1))
        cell_boxes = tuple((x + i * cw, y, cw, h) for i in range(cells))
        name = self.name(cap)
        value = "code" if cells > 2 else "cents"
        self.fields.append(CorpusField(name, "comb", (x, y, w, h), cell_boxes, cells, value))
        return x, y, w, h

    def line(self, box: Box, *, dotted: bool = False, cap: str = "line") -> None:
        x, y, w, h = box
        yl = y + h - 12
        if not dotted:
            cv2.line(self.img, (x, yl), (x + w, yl), self.ink, self.lw)
        elif self.rng.random() < 0.5:
            step, r = int(self.rng.integers(7, 15)), int(self.rng.integers(1, 4))
            for px in range(x, x + w, step):
                cv2.circle(self.img, (px, yl), r, self.ink, -1, cv2.LINE_AA)
        else:
            dash, gap = int(self.rng.integers(8, 25)), int(self.rng.integers(5, 14))
            for px in range(x, x + w, dash + gap):
                cv2.line(self.img, (px, yl), (min(x + w, px + dash), yl), self.ink, self.lw)
        self.fields.append(CorpusField(self.name(cap), "line", box))

    def done(self) -> FormLayout:
        return FormLayout(self.family, self.img, self.fields, self.distractors)


def _rows(rng: np.random.Generator, y0: int, n: int, h: tuple[int, int], gap: tuple[int, int]):
    """``n`` row tops and heights from ``y0`` down the page (stops before the footer)."""
    y, out = y0, []
    for _ in range(n):
        hh = int(rng.integers(*h))
        if y + hh > A4[1] - 300:
            break
        out.append((y, hh))
        y += hh + int(rng.integers(*gap))
    return out


def _cap(rng: np.random.Generator) -> str:
    return CAPTIONS[int(rng.integers(0, len(CAPTIONS)))]


def _boxes_family(name: str, where: str, *, fill: bool = False, inside: bool = False):
    def build(rng: np.random.Generator) -> FormLayout:
        f = _Form(name, rng)
        y0 = f.header()
        gap = (50, 130) if where in ("left", "inside") else (110, 200)
        for y, h in _rows(rng, y0 + 60, int(rng.integers(6, 10)), (80, 140), gap):
            cap = _cap(rng)
            pos = where if where != "mixed" else ("left", "above")[int(rng.integers(0, 2))]
            x = int(rng.integers(560, 760)) if pos == "left" else int(rng.integers(110, 500))
            hh = h + (30 if inside else 0)
            w = min(int(rng.integers(3, 9) * h * 0.75 + 40), A4[0] - 120 - x)
            shade = None
            if fill:
                shade = [(225, 225, 225), (200, 240, 250), (245, 225, 205), (225, 215, 245)][
                    int(rng.integers(0, 4))
                ]
            f.box(
                (x, y, w, hh),
                fill=shade,
                border=not fill or rng.random() < 0.5,
                cap=cap,
                max_digits=max(1, min(8, int(w / (0.8 * h)))),
            )
            if where == "mixed" and rng.random() < 0.3:  # a double frame
                cv2.rectangle(f.img, (x - 7, y - 7), (x + w + 7, y + hh + 7), f.ink, 1)
            f.caption(cap, (x, y, w, hh), "inside" if inside else pos)
        f.footer()
        return f.done()

    return build


def _comb_family(name: str, style: str):
    def build(rng: np.random.Generator) -> FormLayout:
        f = _Form(name, rng)
        y0 = f.header()
        above = rng.random() < 0.5
        for y, h in _rows(rng, y0 + 60, int(rng.integers(5, 9)), (70, 115), (120, 200)):
            cw = int(h * rng.uniform(0.6, 0.95))
            cap = _cap(rng)
            x = int(rng.integers(110, 400)) if above else int(rng.integers(580, 700))
            cells = int(rng.integers(2, min(11, (A4[0] - 120 - x) // cw)))
            box = f.comb(x, y, cells, cw, h, style, cap)
            f.caption(cap, box, "above" if above else "left")
        f.footer()
        return f.done()

    return build


def _line_family(name: str, dotted: bool):
    def build(rng: np.random.Generator) -> FormLayout:
        f = _Form(name, rng)
        y0 = f.header()
        for y, h in _rows(rng, y0 + 40, int(rng.integers(6, 11)), (90, 130), (40, 110)):
            cap = _cap(rng)
            x = int(rng.integers(520, 700))
            w = int(rng.integers(350, A4[0] - 140 - x))
            f.line((x, y, w, h), dotted=dotted, cap=cap)
            f.caption(cap + (":" if rng.random() < 0.5 else ""), (x, y, w, h), "left")
        f.footer()
        return f.done()

    return build


def table_grid(rng: np.random.Generator) -> FormLayout:
    f = _Form("table_grid", rng)
    y = f.header() + 40
    heads = ["No", "Item code", "Quantity", "Price"]
    widths = [int(rng.integers(90, 130)), int(rng.integers(380, 480))]
    widths += [int(rng.integers(220, 320)), int(rng.integers(320, 420))]
    x0 = int(rng.integers(110, 200))
    xs = np.cumsum([x0, *widths]).tolist()
    head_h, row_h = int(rng.integers(60, 90)), int(rng.integers(90, 130))
    rows = min(int(rng.integers(6, 12)), (A4[1] - 400 - y - head_h) // row_h)
    lw = f.lw
    y1 = y + head_h + rows * row_h
    for i, hx in enumerate(heads):
        f.text(hx, xs[i] + 12, y + head_h - 20, 0.9)
    if rng.random() < 0.5:  # shaded header row
        cv2.rectangle(f.img, (xs[0], y), (xs[-1], y + head_h), (220, 220, 220), -1)
        for i, hx in enumerate(heads):
            f.text(hx, xs[i] + 12, y + head_h - 20, 0.9)
    for xv in xs:
        cv2.line(f.img, (xv, y), (xv, y1), f.ink, lw)
    for r in range(rows + 1):
        yy = y + head_h + r * row_h
        cv2.line(f.img, (xs[0], yy), (xs[-1], yy), f.ink, lw)
    cv2.line(f.img, (xs[0], y), (xs[-1], y), f.ink, lw)
    for r in range(rows):
        ry = y + head_h + r * row_h
        b = f.text(f"{r + 1}", xs[0] + 20, ry + row_h // 2 + 14, 1.0)
        f.distractors.append(Distractor("printed", b, str(r + 1)))
        for c, (kind, md) in enumerate((("number", 6), ("small", 3), ("number", 6)), start=1):
            box = (xs[c] + lw + 2, ry + lw + 2, widths[c] - 2 * lw - 4, row_h - 2 * lw - 4)
            nm = f.name(heads[c])
            f.fields.append(CorpusField(nm, "box", box, max_digits=md, value=kind))
    f.footer()
    return f.done()


def printed_context(rng: np.random.Generator) -> FormLayout:
    """Printed digits, currency signs, units and decimal separators right beside the fields."""
    f = _Form("printed_context", rng)
    y0 = f.header()
    b = f.text(f"Form {int(rng.integers(10, 99))}/{int(rng.integers(1, 9))}", A4[0] - 420, 190)
    f.distractors.append(Distractor("printed", b))
    units = ("kg", "cm", "km", "%", "EUR", "USD", "l", "h", "m2", "x 100")
    for i, (y, h) in enumerate(_rows(rng, y0 + 60, int(rng.integers(6, 9)), (85, 125), (70, 140))):
        num = f"{i + 1}." if rng.random() < 0.5 else f"({i + 1})"
        b = f.text(num, 110, y + h // 2 + 12, 1.0)
        f.distractors.append(Distractor("printed", b, num))
        cap = _cap(rng)
        f.text(cap, 200, y + h // 2 + 12, 0.9)
        x = int(rng.integers(640, 760))
        kind = int(rng.integers(0, 3))
        if kind == 0:  # currency: sign, units box, separator, 2-cell cents comb
            sign = ("$", "EUR", "GBP", "Fr.")[int(rng.integers(0, 4))]
            b = f.text(sign, x - f.text_width(sign) - 12, y + h // 2 + 14, 1.2, 3)
            f.distractors.append(Distractor("printed", b, sign))
            w = int(h * rng.uniform(2.5, 4.0))
            f.box((x, y, w, h), cap=cap, max_digits=5)
            sep = "," if rng.random() < 0.5 else "."
            b = f.text(sep, x + w + 8, y + h - 8, 1.6, 4)
            f.distractors.append(Distractor("printed", b, sep))
            f.comb(x + w + 36, y, 2, int(h * 0.75), h, "full", cap + "_cents")
        elif kind == 1:  # number then a unit
            w = int(h * rng.uniform(2.2, 4.5))
            f.box((x, y, w, h), cap=cap, max_digits=5)
            u = units[int(rng.integers(0, len(units)))]
            b = f.text(u, x + w + 14, y + h // 2 + 14, 1.1, 2)
            f.distractors.append(Distractor("printed", b, u))
        else:  # printed limits / examples beside the field
            cells = int(rng.integers(3, 8))
            box = f.comb(
                x, y, cells, int(h * 0.7), h, ("full", "half")[int(rng.integers(0, 2))], cap
            )
            hint = f"(max {int(rng.integers(100, 9999))})" if rng.random() < 0.5 else "e.g. 0412"
            b = f.text(hint, box[0] + box[2] + 16, y + h // 2 + 12, 0.8)
            f.distractors.append(Distractor("printed", b, hint))
    f.footer()
    return f.done()


def checkboxes(rng: np.random.Generator) -> FormLayout:
    f = _Form("checkboxes", rng)
    y0 = f.header()
    for y, h in _rows(rng, y0 + 60, int(rng.integers(5, 8)), (85, 120), (70, 130)):
        cap = _cap(rng)
        f.text(cap, 110, y + h // 2 + 12, 0.95)
        x = 600
        if rng.random() < 0.5:
            w = int(h * rng.uniform(2.5, 5))
            f.box((x, y, w, h), cap=cap, max_digits=max(2, min(7, int(w / (0.8 * h)))))
        else:
            cells = int(rng.integers(3, 8))
            x, _, w, _ = f.comb(x, y, cells, int(h * 0.75), h, "full", cap)
        cx = x + w + int(rng.integers(60, 120))
        s = int(rng.integers(30, 50))
        for opt in ("Yes", "No") if rng.random() < 0.5 else ("A", "B", "C"):
            if cx + s + 120 > A4[0] - 100:
                break
            cy = y + (h - s) // 2
            cv2.rectangle(f.img, (cx, cy), (cx + s, cy + s), f.ink, max(1, f.lw - 1))
            f.distractors.append(Distractor("checkbox", (cx, cy, s, s)))
            f.text(opt, cx + s + 10, cy + s - 6, 0.8)
            cx += s + 30 + f.text_width(opt, 0.8)
    f.footer()
    return f.done()


def draw_logo(img: Image, rng: np.random.Generator, box: Box, ink: Colour) -> None:
    x, y, _w, h = box
    c = (x + h // 2, y + h // 2)
    cv2.circle(img, c, h // 2, ink, -1, cv2.LINE_AA)
    cv2.circle(img, c, int(h * 0.32), (255, 255, 255), int(rng.integers(4, 10)), cv2.LINE_AA)
    pts = np.array([[x + h + 20, y + h], [x + h + 70, y], [x + h + 120, y + h]], np.int32)
    cv2.fillPoly(img, [pts], ink, cv2.LINE_AA)
    name = ("ACME", "NORDA", "Vita+", "KRONOS")[int(rng.integers(0, 4))]
    cv2.putText(img, name, (x + h + 140, y + h - 12), cv2.FONT_HERSHEY_TRIPLEX, 2.0, ink, 4)


def draw_stamp(img: Image, rng: np.random.Generator, box: Box) -> None:
    """A rubber stamp (on the filled page, not the blank form): rotated frame, word and date."""
    x, y, w, h = box
    ink = ((40, 40, 200), (170, 60, 30), (120, 40, 120))[int(rng.integers(0, 3))]
    stamp = np.full((h, w, 3), 255, np.uint8)
    cv2.rectangle(stamp, (8, 8), (w - 8, h - 8), ink, 6)
    cv2.rectangle(stamp, (18, 18), (w - 18, h - 18), ink, 2)
    word = ("RECEIVED", "PAID", "CHECKED", "COPY")[int(rng.integers(0, 4))]
    cv2.putText(stamp, word, (30, h // 2), cv2.FONT_HERSHEY_DUPLEX, 1.6, ink, 4)
    day, mon, yr = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(2019, 2027))
    cv2.putText(
        stamp, f"{day:02d}.{mon:02d}.{yr}", (30, h - 40), cv2.FONT_HERSHEY_DUPLEX, 1.3, ink, 3
    )
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-25, 25)), 1.0)
    stamp = cv2.warpAffine(stamp, rot, (w, h), borderValue=(255, 255, 255))
    speckle = rng.random((h, w, 1)) < 0.15  # worn rubber
    stamp = np.where(speckle, 255, stamp).astype(np.uint8)
    region = img[y : y + h, x : x + w]
    region[:] = np.minimum(region, stamp[: region.shape[0], : region.shape[1]])


def logo_stamp(rng: np.random.Generator) -> FormLayout:
    f = _Form("logo_stamp", rng)
    lb = (110, 80, 500, 110)
    draw_logo(f.img, rng, lb, f.ink)
    f.distractors.append(Distractor("logo", (lb[0], lb[1], 520, lb[3])))
    f.text(TITLES[int(rng.integers(0, len(TITLES)))], 110, 280, 1.6, 4)
    b = f.text(f"Ref. {int(rng.integers(1000, 99999))}", A4[0] - 460, 150, 1.0)
    f.distractors.append(Distractor("printed", b))
    rows = _rows(rng, 440, int(rng.integers(5, 8)), (85, 125), (90, 150))
    for y, h in rows:
        cap = _cap(rng)
        x = int(rng.integers(560, 700))
        if rng.random() < 0.5:
            w = int(h * rng.uniform(2.5, 5))
            f.box((x, y, w, h), cap=cap, max_digits=max(2, min(7, int(w / (0.8 * h)))))
            f.caption(cap, (x, y, w, h), "left")
        else:
            box = f.comb(x, y, int(rng.integers(3, 8)), int(h * 0.75), h, "full", cap)
            f.caption(cap, box, "left")
    sw, sh = int(rng.integers(380, 480)), int(rng.integers(180, 240))
    sx = int(rng.integers(600, A4[0] - sw - 80))
    low = rows[-1][0] + 150 if rows and rng.random() < 0.5 else 440  # over the fields or below
    sy = int(rng.integers(low, max(low + 1, A4[1] - sh - 200)))
    f.distractors.append(Distractor("stamp", (sx, sy, sw, sh)))
    f.footer()
    return f.done()


def two_column(rng: np.random.Generator) -> FormLayout:
    f = _Form("two_column", rng)
    y0 = f.header()
    mid = A4[0] // 2
    if rng.random() < 0.6:
        cv2.line(f.img, (mid, y0), (mid, A4[1] - 300), f.ink, f.lw)
    for col in range(2):
        x0 = 110 if col == 0 else mid + 60
        span = mid - 170
        for y, h in _rows(rng, y0 + 80, int(rng.integers(4, 8)), (80, 120), (130, 200)):
            cap = _cap(rng)
            kind = int(rng.integers(0, 3))
            if kind == 0:
                w = int(rng.integers(int(h * 2.5), span))
                f.box((x0, y, w, h), cap=cap, max_digits=max(2, min(7, int(w / (0.8 * h)))))
                f.caption(cap, (x0, y, w, h), "above")
            elif kind == 1:
                cw = int(h * rng.uniform(0.6, 0.85))
                cells = int(rng.integers(2, max(3, min(10, span // cw))))
                style = ("full", "half", "ticks")[int(rng.integers(0, 3))]
                f.caption(cap, f.comb(x0, y, cells, cw, h, style, cap), "above")
            else:
                w = int(rng.integers(300, span))
                f.line((x0, y, w, h), dotted=rng.random() < 0.3, cap=cap)
                f.caption(cap, (x0, y, w, h), "above")
    f.footer()
    return f.done()


FAMILIES: dict[str, Callable[[np.random.Generator], FormLayout]] = {
    "boxes": _boxes_family("boxes", "mixed"),
    "comb_full": _comb_family("comb_full", "full"),
    "comb_half": _comb_family("comb_half", "half"),
    "comb_ticks": _comb_family("comb_ticks", "ticks"),
    "underline": _line_family("underline", dotted=False),
    "dotted": _line_family("dotted", dotted=True),
    "table_grid": table_grid,
    "shaded": _boxes_family("shaded", "left", fill=True),
    "captions_left": _boxes_family("captions_left", "left"),
    "captions_above": _boxes_family("captions_above", "above"),
    "captions_inside": _boxes_family("captions_inside", "inside", inside=True),
    "printed_context": printed_context,
    "checkboxes": checkboxes,
    "logo_stamp": logo_stamp,
    "two_column": two_column,
}
