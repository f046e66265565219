"""Template-free reading: find every handwritten digit string on a page.

The page is binarised (either polarity, uneven light), long thin printed rules are removed, and
the remaining components are grouped into strings: neighbours on the same text line, close
horizontally, of similar height and similar stroke width. Printed text is thin and small next to
handwriting, so it forms strings of its own and never merges with handwriting.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import Box
from segmentation.binarize import binarize
from segmentation.comb_cells import Grid
from segmentation.drawn_boxes import (
    BOX_REACH,
    BOX_ROW,
    Wall,
    comb_cells_of,
    in_one_box,
    wall_between,
    walls_and_boxes,
)
from segmentation.imageops import (
    Components,
    components_with_stats,
    grouped,
)
from segmentation.printed_rules import remove_rules, split_rules

U8 = npt.NDArray[np.uint8]


@dataclass
class TextString:
    """One string found on the page: its box and ink (255 = ink) in page pixels."""

    box: Box
    ink: U8
    digit_height: float
    stroke: float
    #: Writing close to it on the far side of a printed line was kept apart: one number may run
    #: across the line (into the next cell), so digits may be missing.
    parted: bool = False
    #: Written in a comb: its cells (``Grid``, x from the string's box), one digit each.
    cells: Grid | None = None


def _stroke_widths(
    lab: npt.NDArray[np.int32], stats: npt.NDArray[np.int32], mask: U8
) -> npt.NDArray[np.float64]:
    """Per-component mean stroke width: 2 × area / boundary length (areas from ``stats``)."""
    edge = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) & mask
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    per = np.bincount(lab[edge > 0], minlength=len(stats)).astype(np.float64)
    return 2.0 * area / np.maximum(per, 1.0)


def page_ink(image: npt.NDArray[np.generic]) -> U8:
    """The page binarised (255 = ink) with printed rules removed."""
    return remove_rules(binarize(image))


def page_ink_and_rules(image: npt.NDArray[np.generic]) -> tuple[U8, U8]:
    """The page binarised (255 = ink) with printed rules removed, and the rules removed."""
    return split_rules(binarize(image))


def touches(string: TextString, rules: U8, margin: int = 2) -> bool:
    """The string's ink comes within ``margin`` pixels of a printed rule (or crossed one)."""
    x, y, w, h = string.box
    m = margin
    x0, y0 = max(0, x - m), max(0, y - m)
    near = rules[y0 : y + h + m, x0 : x + w + m]
    if not near.any():
        return False
    grown = np.zeros_like(near)
    grown[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = string.ink[: near.shape[0], : near.shape[1]]
    grown = cv2.dilate(grown, np.ones((2 * m + 1, 2 * m + 1), np.uint8))
    return bool((grown & near).any())


#: Text runs down the page when more marks have their nearest neighbour above or below than
#: beside them, by this factor. On 480 corpus pages (0-31) the log of that ratio was 0.24 or more
#: on every sideways page and -0.21 or less on every upright one: the midpoint is 1.
VERTICAL_LEAN = 1.0


def vertical_text(ink: U8, marks: Components | None = None) -> bool:
    """True when the text lines run top to bottom (a page scanned a quarter turn off).

    Each mark's nearest neighbour lies along its text line; lines of printed words and digit
    strings agree on that direction, whatever the writing is. ``marks``: ``ink`` labelled
    already (``components_with_stats``).
    """
    n, _, st, cen = marks if marks is not None else components_with_stats(ink)
    if n <= 3:
        return False
    h, w = ink.shape
    sel = (
        (st[1:, 3] >= 6)
        & (st[1:, 2] >= 2)
        & (st[1:, 3] <= 0.5 * h)
        & (st[1:, 2] <= 0.5 * w)
        & (st[1:, 4] >= 20)
    )
    c = cen[1:][sel]
    size = np.maximum(st[1:, 2], st[1:, 3])[sel].astype(np.float64)
    if len(c) < 3:
        return False
    if len(c) > 1500:
        keep = np.argsort(-size)[:1500]
        c, size = c[keep], size[keep]
    d = np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1])
    np.fill_diagonal(d, np.inf)
    nn = d.argmin(axis=1)
    near = d[np.arange(len(c)), nn] <= 2.5 * size
    dx = np.abs(c[nn, 0] - c[:, 0])[near]
    dy = np.abs(c[nn, 1] - c[:, 1])[near]
    horizontal, vertical = int((dx > dy).sum()), int((dy > dx).sum())
    return vertical >= 3 and vertical > VERTICAL_LEAN * horizontal


#: Marks whose centres lie within 3x3 blocks (each a 56th of the page's long side) beyond
#: which they are grain, not writing. On 60 generated pages of no known form such a square held
#: at most 12 (printed words), at most 6 around a handwritten digit; where a grey scanner lid
#: shows beside the paper, its grain binarises into 63-206 at the densest.
GRAIN_MARKS = 24
#: ... and a block beside such a square holding this many (handwriting: at most 2 a block).
GRAIN_EDGE_MARKS = 4


def _in_grain(centroids: npt.NDArray[np.float64], shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Per component: its centre lies where marks crowd like grain (a scanner lid's, a dark
    table's), so it is no part of a number. Such areas once made ~50 strings of specks a page."""
    h, w = shape[:2]
    block = max(8, round(max(h, w) / 56))
    rows, cols = h // block + 1, w // block + 1
    bx = (centroids[:, 0] // block).astype(np.int64)
    by = (centroids[:, 1] // block).astype(np.int64)
    cell = by * cols + bx
    counts = np.bincount(cell[1:], minlength=rows * cols).astype(np.float32)  # 0: background
    grid = counts.reshape(rows, cols)
    around = cv2.boxFilter(grid, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    crowded = (around >= GRAIN_MARKS).astype(np.uint8)
    # The grain's edge, half-empty squares: blocks beside it that are crowded themselves.
    edge = (cv2.dilate(crowded, np.ones((3, 3), np.uint8)) > 0) & (grid >= GRAIN_EDGE_MARKS)
    return (crowded.astype(bool) | edge).ravel()[cell]


def find_strings(
    image: npt.NDArray[np.generic],
    *,
    ink: U8 | None = None,
    min_height: int = 8,
    rules: U8 | None = None,
) -> list[TextString]:
    """Digit-string candidates of a whole page in reading order (``ink``: ``page_ink(image)``;
    ``rules``: the printed rules removed from it, whose long vertical lines no string crosses:
    a table's columns, a page's two columns)."""
    if ink is None:
        ink = page_ink(image)
    n, lab, st, cen = components_with_stats(ink)
    if n <= 1:
        return []
    sw = _stroke_widths(lab, st, ink)
    grain = _in_grain(cen, ink.shape)
    idx = [
        i
        for i in range(1, n)
        if max(st[i, 2], st[i, 3]) >= min_height
        and st[i, cv2.CC_STAT_AREA] >= min_height * 2
        and not grain[i]
    ]
    if not idx:
        return []
    boxes = st[idx, :4].astype(np.float64)
    x, y, w, h = boxes.T
    unit = float(np.percentile(h, 75))
    walls, drawn, combs = walls_and_boxes(rules, unit) if rules is not None else ([], [], [])
    drawn = [b for b in drawn if b[3] <= BOX_ROW * unit]  # one row: a comb, a field's box
    cx, cy = x + w / 2, y + h / 2
    # Every test below wants the two boxes overlapping across or along the line: only such
    # pairs are tested, all at once (the same sums and comparisons, pair by pair).
    a, b = _overlapping_pairs(x, y, w, h)
    ia = np.asarray(idx)
    hmax = np.maximum(h[a], h[b])
    hmin = np.minimum(h[a], h[b])
    vov = np.minimum(y[a] + h[a], y[b] + h[b]) - np.maximum(y[a], y[b])
    gap = np.maximum(x[b] - (x[a] + w[a]), x[a] - (x[b] + w[b]))
    swa, swb = sw[ia[a]], sw[ia[b]]
    swr = np.maximum(swa, swb) / np.maximum(np.minimum(swa, swb), 0.5)
    reach = 1.2 * hmax
    if drawn:  # in one comb or box, digits in far-apart cells are one number
        reach = np.where(in_one_box(drawn, cx[a], cy[a], cx[b], cy[b]), BOX_REACH * hmax, reach)
    alike = (vov >= 0.5 * hmin) & (hmax <= 2.2 * hmin) & (swr <= 3.5)
    ok = alike & (gap <= reach)
    if combs:  # what is written in a comb's cells is its number, broken digits' pieces too
        ok |= in_one_box([b for b, _ in combs], cx[a], cy[a], cx[b], cy[b]) & (swr <= 3.5)
    # Rejoin broken digits: a small piece above/below a larger one, overlapping in x.
    xov = np.minimum(x[a] + w[a], x[b] + w[b]) - np.maximum(x[a], x[b])
    vgap = np.maximum(y[b] - (y[a] + h[a]), y[a] - (y[b] + h[b]))
    stacked = (xov >= 0.4 * np.minimum(w[a], w[b])) & (vgap <= 0.35 * hmax) & (swr <= 3.5)
    if rules is not None:
        for k in np.flatnonzero(stacked & ~ok):
            stacked[k] = not _floor_between(rules, st[ia[a[k]], :4], st[ia[b[k]], :4])
    if stacked.any():  # lines at the plain reach (a drawn box's longer one joins its cells)
        stacked &= ~_two_lines(len(idx), a, b, alike & (gap <= 1.2 * hmax), h)
    ok |= stacked
    parted: set[int] = set()
    across: list[tuple[int, int]] = []  # close and alike, a wall between (component ids)
    if walls:
        walled = wall_between(walls, cx[a], cy[a], cx[b], cy[b])
        # Kept apart, though close and alike: a number may run across.
        near = ok & walled & (gap <= 0.6 * hmax) & (hmax <= 1.5 * hmin)
        across = list(zip(ia[a[near]].tolist(), ia[b[near]].tolist(), strict=True))
        parted.update(i for pair in across for i in pair)
        ok &= ~walled
    pairs = list(zip(ia[a[ok]].tolist(), ia[b[ok]].tolist(), strict=True))
    groups = grouped(idx, pairs)
    if across:
        spilled = _spilled_digits(across, groups, st)
        if spilled:
            groups = grouped(idx, pairs + spilled)
    found: list[TextString] = []
    for members in _merge_groups(groups, st, sw, walls):
        mb = st[members, :4]
        x0, y0, x1, y1 = _extent(st, members)
        # Keep every component of the page that lies inside the string box (bars, dots, pieces).
        sub = lab[y0:y1, x0:x1]
        inside = sub == members[0]
        for i in members[1:]:
            inside |= sub == i
        heights = mb[:, 3]
        dh = float(statistics.median(heights[heights >= 0.5 * heights.max()].tolist()))
        stroke = float(statistics.median(sw[members].tolist()))
        found.append(
            TextString(
                (x0, y0, x1 - x0, y1 - y0),
                (inside * 255).astype(np.uint8),
                dh,
                stroke,
                parted=any(i in parted for i in members),
                cells=comb_cells_of((x0, y0, x1 - x0, y1 - y0), dh, combs),
            )
        )
    return reading_order(found)


def _extent(st: npt.NDArray[np.int32], members: list[int]) -> tuple[int, int, int, int]:
    """The box of components ``members`` (``st``: their stats): left, top, right, bottom."""
    mb = st[members, :4]
    x0, y0 = int(mb[:, 0].min()), int(mb[:, 1].min())
    return x0, y0, int((mb[:, 0] + mb[:, 2]).max()), int((mb[:, 1] + mb[:, 3]).max())


#: Past a wall, writing no wider than this many times its height is one digit.
SPILL_WIDTH = 1.3


def _spilled_digits(
    across: list[tuple[int, int]], groups: list[list[int]], st: npt.NDArray[np.int32]
) -> list[tuple[int, int]]:
    """Of the pairs of marks close either side of a wall (``across``), those where the right
    one begins writing no wider than a digit (``SPILL_WIDTH``): the last digit of a number that
    ran past its cell's line (a table's last column, a box too short). It joins the number on
    the left; both were flagged as parted, so a person still looks."""
    group_of = {i: g for g in groups for i in g}
    out = []
    for p, q in across:
        left, right = (p, q) if st[p, 0] <= st[q, 0] else (q, p)
        x0, y0, x1, y1 = _extent(st, group_of[right])
        if st[right, 0] == x0 and x1 - x0 <= SPILL_WIDTH * (y1 - y0):
            out.append((left, right))
    return out


#: A mark on a line of at least this many marks (a printed word, a written number) is a
#: character of its own, not a piece broken off a digit of the line above or below.
LINE_MARKS = 3


def _two_lines(
    n: int,
    a: npt.NDArray[np.intp],
    b: npt.NDArray[np.intp],
    same_line: npt.NDArray[np.bool_],
    h: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    """Per pair (a, b) of the ``n`` marks (``h``: their heights): they lie on two lines
    (``same_line`` pairs joined), the shorter mark's of ``LINE_MARKS`` marks or more: a caption
    printed over a number, a number written over the next. A piece broken off a digit (a 5's
    bar, a dry stroke) is too small to stand on a line of its neighbours, so it still joins."""
    roots = np.empty(n, np.intp)
    pairs = zip(a[same_line].tolist(), b[same_line].tolist(), strict=True)
    for k, members in enumerate(grouped(range(n), pairs)):
        roots[members] = k
    size = np.bincount(roots, minlength=n)[roots]
    shorter = np.where(h[a] <= h[b], size[a], size[b])
    return (roots[a] != roots[b]) & (shorter >= LINE_MARKS)


def _floor_between(rules: U8, first: npt.NDArray[np.int32], second: npt.NDArray[np.int32]) -> bool:
    """A printed rule runs between two marks stacked one above the other (under most of their
    overlap), and one of them stands clear of it: a caption over a comb, a table's next row;
    not the halves of a digit the rule's removal cut."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = first, second
    if ay > by:
        (ax, ay, aw, ah), (bx, by, bw, bh) = (bx, by, bw, bh), (ax, ay, aw, ah)
    x0, x1 = max(ax, bx), min(ax + aw, bx + bw)
    y0, y1 = ay + ah - 2, by + 2  # from the upper one's foot to the lower one's head
    if x1 - x0 < 2 or y1 <= y0:
        return False
    band = rules[max(0, y0) : y1, x0:x1] > 0
    if band.any(axis=0).mean() < 0.8:  # across most of the overlap (a tilted rule spans rows)
        return False
    rows = np.flatnonzero(band.any(axis=1))
    top, bottom = max(0, y0) + rows[0], max(0, y0) + rows[-1]
    return bool(top - (ay + ah) > 2 or by - bottom > 2)


#: Pairs of boxes are found among this many boxes at a time (a block of pairs in memory).
PAIR_BLOCK = 512


def _overlapping_pairs(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Index pairs (a, b), a < b, in order, of boxes overlapping vertically or horizontally."""
    n = len(x)
    firsts, seconds = [], []
    b = np.arange(n)
    for start in range(0, n, PAIR_BLOCK):
        a = np.arange(start, min(n, start + PAIR_BLOCK))[:, None]
        across = (y[a] < y + h) & (y < y[a] + h[a])
        along = (x[a] < x + w) & (x < x[a] + w[a])
        ka, kb = np.nonzero((across | along) & (b > a))
        firsts.append(ka + start)
        seconds.append(kb)
    if not firsts:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    return np.concatenate(firsts), np.concatenate(seconds)


def _merge_groups(
    groups: list[list[int]],
    st: npt.NDArray[np.int32],
    sw: npt.NDArray[np.float64],
    walls: list[Wall] | None = None,
) -> list[list[int]]:
    """Join groups on one text line that are close and alike (a digit broken into small pieces
    forms a group of its own first, since no piece alone is as tall as its neighbours)."""

    def info(g: list[int]) -> tuple[float, float, float, float, float, float]:
        x0, y0, x1, y1 = _extent(st, g)
        return x0, y0, x1, y1, y1 - y0, float(statistics.median(sw[g].tolist()))

    infos = [info(g) for g in groups]
    a = 0
    while a < len(groups):
        ax0, ay0, ax1, ay1, ah, asw = infos[a]
        for b in range(a + 1, len(groups)):
            bx0, by0, bx1, by1, bh, bsw = infos[b]
            vov = min(ay1, by1) - max(ay0, by0)
            gap = max(bx0 - ax1, ax0 - bx1)
            hmin, hmax = min(ah, bh), max(ah, bh)
            swr = max(asw, bsw) / max(min(asw, bsw), 0.5)
            if (
                vov >= 0.5 * hmin
                and gap <= 1.2 * hmax
                and hmax <= 2.2 * hmin
                and swr <= 3.5
                and not (walls and wall_between(walls, (ax0 + ax1) / 2, (ay0 + ay1) / 2,
                                                (bx0 + bx1) / 2, (by0 + by1) / 2).any())
            ):  # fmt: skip
                groups[a] = groups[a] + groups.pop(b)
                infos.pop(b)
                infos[a] = info(groups[a])
                break
        else:
            a += 1
    return groups


def reading_order(strings: list[TextString]) -> list[TextString]:
    """Top to bottom by text line, left to right within a line."""
    rest = sorted(strings, key=lambda s: s.box[1])
    lines: list[list[TextString]] = []
    for s in rest:
        cy = s.box[1] + s.box[3] / 2
        for line in lines:
            ref = line[0].box
            if ref[1] <= cy <= ref[1] + ref[3]:
                line.append(s)
                break
        else:
            lines.append([s])
    out: list[TextString] = []
    for line in lines:
        out.extend(sorted(line, key=lambda s: s.box[0]))
    return out
