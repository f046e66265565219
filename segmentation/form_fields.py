"""Fields of a blank (or filled) form found from its printed structure: the designer's eyes.

``find_fields`` looks at a picture of a form and returns where a person is meant to write digits:
separate boxes, comb fields (with their cell count), lines or dotted lines to write on, and table
cells meant for numbers, each with the printed caption that labels it when one is near.

It works on the page's printed rules only (``form_lines``): the white areas the rules close in
are boxes and cells, a row of equal narrow cells is a comb, upright stubs on a box's floor or on
a bare rule at even spacing are a comb's dividers, and a bare rule of a field's length is a line
to write on. Handwriting is neither long, thin nor straight, so a filled form gives the fields of
the blank one. What is too small to write digits in (check boxes), too large (page frames,
panels, rules across the page) or already holds print (table headers, printed numbers) is not a
field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import Box
from segmentation.form_lines import MAX_PEN, Segment, Sheet, shaded_areas, sheet
from segmentation.imageops import components_with_stats

FBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class FoundField:
    kind: str  # "box" | "comb" | "line" (the kinds of docs/templates.md)
    box: Box  # the box a template uses; for "line" the space above the line, the line included
    cells: int | None = None  # a comb's cell count
    caption: Box | None = None  # the printed text labelling the field, when one is near


#: Working-scale sizes (A4 at 200 dpi): the smallest box a number is written in (a check box
#: is smaller), the shortest line to write on, the height of the space above a line, and the
#: largest share of the page a field takes (more is a frame or a rule across the page).
MIN_SIDE, MIN_LONG = 40, 62
MIN_LINE = 150
LINE_SPACE, LINE_BELOW = 110, 12
MAX_W, MAX_H = 0.74, 0.3
#: A comb cell holds one digit: between these multiples of its height wide.
CELL_RATIO = (0.3, 1.5)
#: Narrowest comb cell (a digit needs room) and longest tick comb cell (no box gives its height).
MIN_PITCH, MAX_TICK_PITCH = 30, 140


@dataclass
class _Cand:
    kind: str
    box: FBox  # working pixels
    cells: int | None = None
    caption: FBox | None = None


def find_fields(grey: npt.NDArray[np.uint8]) -> list[FoundField]:
    """The fields of the form in ``grey`` (any resolution), in reading order."""
    sh = sheet(grey)
    cands = _enclosed(sh)
    cands += _bare_rules(sh, cands)
    cands = _without_signature_line(sh, cands)
    _add_captions(sh, cands)
    out = [
        FoundField(
            c.kind,
            sh.box_to_input(c.box),
            c.cells,
            sh.box_to_input(c.caption) if c.caption else None,
        )
        for c in cands
    ]
    return _reading_order(out)


#: A form is signed on a line at its foot: the lowest part of the page, by share of its height.
SIGNATURE_FOOT = 0.1


def _without_signature_line(sh: Sheet, cands: list[_Cand]) -> list[_Cand]:
    """All but a lone line at the foot of the page, below every other field: where the form is
    signed (or dated), not where a number is written."""
    foot = (1 - SIGNATURE_FOOT) * sh.ink.shape[0]
    lines = [c for c in cands if c.kind == "line" and c.box[1] + c.box[3] > foot]
    if len(lines) != 1:
        return cands
    sign = lines[0]
    if any(c is not sign and c.box[1] + c.box[3] > sign.box[1] for c in cands):
        return cands
    return [c for c in cands if c is not sign]


def _reading_order(fields: list[FoundField]) -> list[FoundField]:
    """Top to bottom, a row (fields level with the first one) left to right."""
    rest = sorted(fields, key=lambda f: f.box[1])
    out: list[FoundField] = []
    while rest:
        first = rest[0]
        mid = first.box[1] + first.box[3] / 2
        row = [f for f in rest if f.box[1] <= mid <= f.box[1] + f.box[3]]
        row = row or [first]
        out += sorted(row, key=lambda f: f.box[0])
        rest = [f for f in rest if f not in row]
    return out


# -- enclosed areas: boxes, full combs, table cells ------------------------------------------------


@dataclass
class _Region:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


def _regions(sh: Sheet) -> tuple[list[_Region], npt.NDArray[np.int32], set[int]]:
    """White areas closed in by rules (rectangular ones), the label map, the open labels."""
    walls = cv2.dilate(sh.horiz | sh.vert, np.ones((3, 3), np.uint8))
    hh, ww = walls.shape
    n, lab, st, _ = cv2.connectedComponentsWithStats(255 - walls, connectivity=4)
    out, open_ = [], set()
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in st[i])
        if x == 0 or y == 0 or x + w >= ww or y + h >= hh or w > MAX_W * ww or h > MAX_H * hh:
            open_.add(i)
            continue
        if w >= 16 and h >= 16 and area >= 0.8 * w * h:
            out.append(_Region(x, y, w, h))
    return out, lab, open_


def _enclosed(sh: Sheet) -> list[_Cand]:
    regions, _, _ = _regions(sh)
    grow = sh.pen / 2 + 1
    regions.sort(key=lambda r: r.x)
    nxt: dict[int, int] = {}
    for a, ra in enumerate(regions):
        tol = max(4.0, 0.1 * ra.h)
        for b in range(a + 1, len(regions)):
            rb = regions[b]
            if rb.x - ra.right > sh.pen + 12:
                break
            if rb.x > ra.right and abs(rb.y - ra.y) <= tol and abs(rb.bottom - ra.bottom) <= tol:
                nxt[a] = b
                break
    heads = set(range(len(regions))) - set(nxt.values())
    cands: list[_Cand] = []
    for head in sorted(heads):
        chain = [head]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        for run in _comb_runs([regions[i] for i in chain]):
            if len(run) >= 2:
                x0, y0 = run[0].x - grow, min(r.y for r in run) - grow
                x1, y1 = run[-1].right + grow, max(r.bottom for r in run) + grow
                cands.append(_Cand("comb", (x0, y0, x1 - x0, y1 - y0), len(run)))
            else:
                # A table's cell shares its lines with its neighbours: its box stops at their
                # near edge, so what is left of a line after form removal is in no field.
                c = _single(sh, run[0], grow if len(chain) == 1 else 0.0)
                if c is not None:
                    cands.append(c)
    for x, y, w, h in shaded_areas(sh):
        if any(_iou((x, y, w, h), c.box) > 0.3 for c in cands):
            continue
        c = _single(sh, _Region(x, y, w, h), 0.0)
        if c is not None:
            cands.append(c)
    # A panel that holds fields is no field itself.
    return [c for c in cands if not any(o is not c and _inside(o.box, c.box) for o in cands)]


def _comb_runs(chain: list[_Region]) -> list[list[_Region]]:
    """A row of adjacent cells split into runs of equal narrow cells (combs) and the rest."""
    runs: list[list[_Region]] = []
    for r in chain:
        narrow = CELL_RATIO[0] * r.h <= r.w <= CELL_RATIO[1] * r.h
        last = runs[-1] if runs else None
        if (
            last is not None
            and narrow
            and CELL_RATIO[0] * last[-1].h <= last[-1].w <= CELL_RATIO[1] * last[-1].h
            and abs(r.w - last[0].w) <= 0.15 * max(r.w, last[0].w) + 3
        ):
            last.append(r)
        else:
            runs.append([r])
    return runs


def _single(sh: Sheet, r: _Region, grow: float) -> _Cand | None:
    """A lone enclosed area: a box, a comb whose dividers stand on its floor, or no field."""
    if min(r.w, r.h) < MIN_SIDE or max(r.w, r.h) < MIN_LONG:
        return None  # a check box, a letter's bowl
    box = (r.x - grow, r.y - grow, r.w + 2 * grow, r.h + 2 * grow)
    stubs = _stubs(sh, r.x, r.right, r.bottom - 2)
    n = _grid(stubs, r.x - grow, r.right + grow, r.h, inner=True)
    if n:
        return _Cand("comb", box, n)
    caption = _inside_print(sh, r)
    if caption is False:
        return None
    return _Cand("box", box, None, caption if isinstance(caption, tuple) else None)


def _inside_print(sh: Sheet, r: _Region) -> FBox | bool | None:
    """Print inside an area: a caption in its top-left corner (its box), print that fills the
    area's middle as a table header or a printed number does (False), or nothing (None).

    Handwriting is taller than such print (half the field or more), so a filled field stays.
    """
    m = 3
    x0, y0, x1, y1 = r.x + m, r.y + m, r.right - m, r.bottom - m
    if x1 <= x0 or y1 <= y0:
        return None
    content = sh.ink[y0:y1, x0:x1] & ~sh.horiz[y0:y1, x0:x1] & ~sh.vert[y0:y1, x0:x1]
    n, _, st, _ = components_with_stats(content)
    marks = [s for s in st[1:n] if s[4] >= 12]
    if not marks:
        return None
    top = [s for s in marks if s[1] + s[3] <= 0.45 * r.h and s[0] <= 0.6 * r.w]
    rest = [s for s in marks if not any(s is t for t in top)]
    caption: FBox | None = None
    if top:
        cx0 = min(s[0] for s in top) + x0
        cy0 = min(s[1] for s in top) + y0
        cx1 = max(s[0] + s[2] for s in top) + x0
        cy1 = max(s[1] + s[3] for s in top) + y0
        caption = (cx0, cy0, cx1 - cx0, cy1 - cy0)
    if rest:
        ry0 = min(s[1] for s in rest)
        ry1 = max(s[1] + s[3] for s in rest)
        if ry1 - ry0 < 0.5 * r.h and sum(int(s[4]) for s in rest) > 40:
            return False
    return caption


def _stubs(sh: Sheet, x0: int, x1: int, y: int | npt.NDArray[np.int64]) -> list[tuple[float, int]]:
    """Upright strokes standing on row ``y`` (or a row per column) between ``x0`` and ``x1``:
    (centre, height)."""
    hh, ww = sh.stubs.shape
    full = np.full(max(0, x1 - x0), y) if np.ndim(y) == 0 else np.asarray(y)
    lo, hi = max(0, x0), min(ww, x1)
    if hi <= lo:
        return []
    rows = np.clip(full[lo - x0 : hi - x0], 3, hh - 1)
    x0, x1 = lo, hi
    ys = rows[None, :] - np.arange(0, 4)[:, None]
    band = sh.stubs[ys, np.arange(x0, x1)[None, :]].any(axis=0)
    out: list[tuple[float, int]] = []
    cols = np.flatnonzero(band)
    if cols.size == 0:
        return out
    groups = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1)
    for g in groups:
        if len(g) > MAX_PEN + 2:
            continue
        foot = int(rows[g[len(g) // 2]])
        column = np.asarray(sh.stubs[: foot + 1, x0 + g[0] : x0 + g[-1] + 1].any(axis=1))[::-1]
        gaps = np.flatnonzero(~column)
        height = int(gaps[0]) if gaps.size else int(column.size)
        out.append((x0 + float(g.mean()), height))
    return out


def _grid(
    stubs: list[tuple[float, int]], a: float, b: float, cell_h: float | None, inner: bool
) -> int:
    """The cell count of a comb whose dividers are ``stubs`` between its ends ``a`` and ``b``
    (0 when they are no comb's): every divider of an even grid present and alike in height."""
    if len(stubs) < (1 if inner else 3):
        return 0
    best = 0
    for n in range(2, 40):
        p = (b - a) / n
        if cell_h is not None and not CELL_RATIO[0] * cell_h <= p <= CELL_RATIO[1] * cell_h:
            if p < CELL_RATIO[0] * cell_h:
                break
            continue
        if cell_h is None and p > MAX_TICK_PITCH:
            continue
        if p < MIN_PITCH:
            break
        tol = max(4.0, 0.1 * p)
        ks = range(1, n) if inner else range(0, n + 1)
        heights = []
        for k in ks:
            near = [s for s in stubs if abs(s[0] - (a + k * p)) <= tol]
            if near:
                heights.append(max(s[1] for s in near))
        if len(heights) < len(ks) - (len(ks) - 1) // 6:
            continue
        med = float(np.median(heights))
        if sum(abs(t - med) <= 0.4 * med + 2 for t in heights) < 0.8 * len(heights):
            continue
        if cell_h is not None and med < 0.1 * cell_h:
            continue
        best = n
    return best


# -- bare rules: lines to write on, tick combs -----------------------------------------------------


def _bare_rules(sh: Sheet, taken: list[_Cand]) -> list[_Cand]:
    """Rules with open paper above and below: tick combs and lines to write on."""
    _, lab, open_ = _regions(sh)
    hh, ww = sh.ink.shape
    out: list[_Cand] = []
    for seg in sorted(sh.rules, key=lambda s: (s.y0, s.x0)):
        if seg.length < 3 * 20 or seg.length > MAX_W * ww:
            continue
        xs = np.arange(seg.x0, seg.x1)
        above = lab[max(0, seg.y0 - 4), xs]
        below = lab[min(hh - 1, seg.y1 + 3), xs]
        if np.isin(above, list(open_)).mean() < 0.7 or np.isin(below, list(open_)).mean() < 0.7:
            continue
        if any(
            _overlap_x(seg, c.box) > 0.5 and abs(c.box[1] + c.box[3] - seg.y) < 20 for c in taken
        ):
            continue
        c = _ticks(sh, seg) or _line(sh, seg)
        if c is not None:
            out.append(c)
    return out


def _solid(sh: Sheet, seg: Segment) -> float:
    """Share of the rule's columns inked in the page itself (text bars joined by closing: less)."""
    return float(_along(sh, seg, (seg.top + seg.bottom) // 2, range(-2, 3)).mean())


def _printed_rule(sh: Sheet, seg: Segment) -> bool:
    """A rule drawn as one: solid, or dashed or dotted at even spacing, with clear paper under
    it and no more ink on it than a line of handwriting puts there.

    The bottoms of a printed word, joined into a bar, are neither solid nor evenly broken, and
    the letters stand on them all along.
    """
    cols = _along(sh, seg, (seg.top + seg.bottom) // 2, range(-2, 3))
    if cols.mean() < 0.97 and not _evenly_broken(cols):
        return False
    full = max(float(cols.mean()), 1e-3)
    up = next((k for k in range(1, 8) if _along(sh, seg, seg.top, [-k]).mean() < 0.5 * full), 8)
    down = next((k for k in range(1, 8) if _along(sh, seg, seg.bottom, [k]).mean() < 0.5 * full), 8)
    above = _along(sh, seg, seg.top, range(-up - 6, -up))
    below = _along(sh, seg, seg.bottom, range(down + 1, down + 7))
    return float(above.mean()) <= 0.5 and float(below.mean()) <= 0.15


def _along(
    sh: Sheet, seg: Segment, rows: npt.NDArray[np.int64], offsets: range | list[int]
) -> npt.NDArray[np.bool_]:
    """Per column of the rule: is there ink at ``rows`` + any of ``offsets``?"""
    ys = np.clip(rows[None, :] + np.array(offsets)[:, None], 0, sh.ink.shape[0] - 1)
    xs = np.arange(seg.x0, seg.x1)[None, :]
    return np.asarray(sh.ink[ys, xs].any(axis=0))


def _evenly_broken(cols: npt.NDArray[np.bool_]) -> bool:
    """Inked columns along a rule that alternate in marks and gaps of one size each (a dashed
    or dotted rule, a mark now and then joined to the next by a digit written across it)."""
    edges = np.flatnonzero(np.diff(cols.astype(np.int8))) + 1
    runs = np.diff(np.concatenate([[0], edges, [cols.size]]))
    first_ink = bool(cols[0])
    marks = runs[(0 if first_ink else 1) :: 2][1:-1]
    gaps = runs[(1 if first_ink else 0) :: 2][1:-1]
    if len(gaps) < 6:
        return False

    def alike(a: npt.NDArray[np.int64]) -> bool:
        med = float(np.median(a))
        return bool(np.mean(np.abs(a - med) <= 0.35 * med + 2) >= 0.85)

    return alike(gaps) and alike(marks)


def _ticks(sh: Sheet, seg: Segment) -> _Cand | None:
    if seg.dotted or _solid(sh, seg) < 0.95:
        return None
    foot = np.concatenate([np.full(4, seg.top[0]), seg.top, np.full(4, seg.top[-1])]) - 1
    stubs = _stubs(sh, seg.x0 - 4, seg.x1 + 4, foot)
    stubs = [s for s in stubs if s[1] <= 80]
    if len(stubs) < 3:
        return None
    a, b = stubs[0][0], stubs[-1][0]
    if a - seg.x0 > 12 or seg.x1 - b > 12:
        return None
    n = _grid(stubs, a, b, None, inner=False)
    if not n:
        return None
    p = (b - a) / n
    h = 1.3 * p
    return _Cand("comb", (a, seg.y - h, b - a, h), n)


def _line(sh: Sheet, seg: Segment) -> _Cand | None:
    if seg.length < MIN_LINE or not _printed_rule(sh, seg):
        return None
    bottom = seg.y + LINE_BELOW
    top = bottom - LINE_SPACE
    for other in sh.rules:
        if other.y1 < seg.y0 - 4 and other.y1 + 8 > top and _overlap_x(seg, _seg_box(other)) > 0.3:
            top = other.y1 + 8
    return _Cand("line", (seg.x0, top, seg.length, bottom - top))


def _seg_box(s: Segment) -> FBox:
    return (s.x0, s.y0, s.x1 - s.x0, s.y1 - s.y0)


def _overlap_x(seg: Segment, box: FBox) -> float:
    lo, hi = max(seg.x0, box[0]), min(seg.x1, box[0] + box[2])
    return max(0.0, hi - lo) / max(1, seg.length)


# -- captions --------------------------------------------------------------------------------------


def _add_captions(sh: Sheet, cands: list[_Cand]) -> None:
    """The nearest printed text to the left of a field (level with it) or just above it."""
    text = sh.ink & ~sh.horiz & ~sh.vert
    for c in cands:
        ix, iy, iw, ih = (int(v) for v in c.box)
        text[max(0, iy) : iy + ih, max(0, ix) : ix + iw] = 0
    words = cv2.morphologyEx(text, cv2.MORPH_CLOSE, np.ones((3, 25), np.uint8))
    n, _, st, _ = components_with_stats(words)
    blobs = [s for s in st[1:n] if 8 <= s[3] <= 80 and s[2] >= 10 and s[4] >= 40]
    for i, c in enumerate(cands):
        if c.caption is not None:
            continue
        x, y, w, h = c.box
        best: tuple[float, FBox] | None = None
        d: float
        for bx, by, bw, bh, _ in blobs:
            cy = by + bh / 2
            if y <= cy <= y + h and x - 450 <= bx + bw <= x + 5:
                d = x - (bx + bw)
            elif y - 90 <= by + bh <= y + 5 and bx < x + w and bx + bw > x - 20:
                d = y - (by + bh) + 10
            else:
                continue
            if best is None or d < best[0]:
                best = (d, (float(bx), float(by), float(bw), float(bh)))
        if best is not None:
            cands[i] = replace(c, caption=best[1])


def _iou(a: FBox, b: FBox) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    return i / max(1e-9, a[2] * a[3] + b[2] * b[3] - i)


def _inside(inner: FBox, outer: FBox) -> bool:
    """``inner`` lies within ``outer`` and is clearly smaller."""
    return (
        inner[0] >= outer[0] - 2
        and inner[1] >= outer[1] - 2
        and inner[0] + inner[2] <= outer[0] + outer[2] + 2
        and inner[1] + inner[3] <= outer[1] + outer[3] + 2
        and inner[2] * inner[3] < 0.8 * outer[2] * outer[3]
    )
