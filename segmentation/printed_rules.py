"""Printed structure on a page of no known form: the rules, box sides, comb dividers and dashed
lines that handwriting is written on or in, found so that they are never read as digits.

Each finder returns a mask (255 = structure); ``split_rules`` puts them together and takes them
off the ink. What a finder takes is printed by its shape: straight, thin, at the pen of the rules
around it, or repeated at even spacing, which a person's handwriting is not.
"""

from __future__ import annotations

import statistics

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.comb_ticks import comb_ticks
from segmentation.imageops import (
    Components,
    bridged,
    components_with_stats,
    open_line,
    sparse_components,
)

U8 = npt.NDArray[np.uint8]


def _thickness(ink: U8, x: int, y: int, bw: int, bh: int, horizontal: bool) -> float:
    """Median thickness of the original ink across a line found at ``(x, y, bw, bh)``: the run
    of ink through it, within 8 pixels either side (a caption's letters over a frame's roof,
    the digits standing on its floor or written in the cells beside a divider lie near it, not
    on it)."""
    m = 8
    if horizontal:
        band = ink[max(0, y - m) : y + bh + m, x : x + bw] > 0
        return _run_through(band, y - max(0, y - m), bh)
    band = ink[y : y + bh, max(0, x - m) : x + bw + m] > 0
    return _run_through(band.T, x - max(0, x - m), bw)


def _run_through(band: npt.NDArray[np.bool_], top: int, rows: int) -> float:
    """Median over the columns of ``band`` of the ink run through rows ``[top, top + rows)``
    (0 where none of those rows holds ink)."""
    n = band.shape[0]
    if not band.size or top >= n:
        return 0.0
    rows = min(rows, n - top)
    line = band[top : top + rows]
    lo = line.argmax(axis=0)  # first and last ink of each column within the line's rows
    hi = rows - 1 - line[::-1].argmax(axis=0)
    # The run goes on past the line's rows only from ink on its first (last) row.
    up = np.where(lo == 0, _ink_run(band[:top][::-1]), 0)
    down = np.where(hi == rows - 1, _ink_run(band[top + rows :]), 0)
    runs = np.where(line.any(axis=0), hi - lo + 1 + up + down, 0)
    return float(np.median(runs))


def _ink_run(rows: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Per column, how many of ``rows`` hold ink before the first that does not."""
    if not rows.shape[0]:
        return np.zeros(rows.shape[1], np.intp)
    run = rows.argmin(axis=0)
    run[rows.all(axis=0)] = rows.shape[0]
    return run


def remove_rules(ink: U8) -> U8:
    """``ink`` without its printed rules (see ``split_rules``)."""
    return split_rules(ink)[0]


def split_rules(
    ink: U8,
    *,
    photo: bool = False,
    faint: tuple[U8, U8] | None = None,
    marks: Components | None = None,
) -> tuple[U8, U8]:
    """The ink without printed rules, and the rules: long thin straight lines, and the shorter
    ticks hanging off them.

    A line is judged by the thickness of the original ink across it (a curved thick pen stroke
    yields a thin sliver when opened, but its ink across is thick). Short vertical lines (comb
    ticks, box sides) only count when they touch a horizontal rule, so a handwritten 1 stays.
    ``photo``: the image is a picture of a number or two, not a page, so its digits' straight
    strokes (a 2's foot, a 4's bar and stem) are as long as the lines a page's rules are found
    by: a horizontal rule must be as long as the image is high, and a vertical one must meet it.
    ``faint``: the ink of faint horizontal and vertical lines found on the grey page
    (``faint_rules``), taken as rules too (box sides meeting them included). On a page (not a
    photo) vertical lines are looked for across gaps of up to ``LINE_GAP`` - 1 pixels.
    ``marks``: ``ink`` labelled already (``components_with_stats``).
    """
    h, w = ink.shape
    horiz = np.zeros_like(ink)
    vert = np.zeros_like(ink)
    short = max(40, round(min(h, w) / 40))
    rules: list[tuple[int, int, int, int, float]] = []  # horizontal rules: box and pen width
    # Vertical lines taken: their labels among the opening's components, and their boxes.
    vlab, vlines = None, []
    for horizontal in (True, False):
        length = max(60, round(w / 20)) if horizontal else short
        if horizontal:  # rows with too little ink for a rule are left out of the opening
            lines = open_line(ink, length, horizontal=True)
        else:  # (columns: picking them costs more than it saves)
            k = cv2.getStructuringElement(cv2.MORPH_RECT, (1, length))
            # A page's hairline turned by deskewing breaks every few pixels: its gaps are
            # bridged (not on a photo, whose digits' strokes are as long as its lines).
            gap = np.ones((LINE_GAP, 1), np.uint8)
            closed = ink if photo else cv2.morphologyEx(ink, cv2.MORPH_CLOSE, gap)
            lines = cv2.morphologyEx(closed, cv2.MORPH_OPEN, k)
        if not lines.any():
            continue
        # Lines lie in few rows or columns (labelling costs by the pixel); each is judged alone.
        n, lab, st, _ = sparse_components(lines)
        target = horiz if horizontal else vert
        for i in range(1, n):
            x, y, bw, bh, _ = st[i]
            long_ = bw if horizontal else bh
            if photo and horizontal and long_ < h:
                continue
            thick = _thickness(ink, x, y, bw, bh, horizontal)
            # A box side or divider is drawn with the pen of the rules it meets; a horizontal
            # line opened whole across its ink (no thinner than that ink) is straight through
            # its pen, a bold rule, where a curved pen stroke leaves a sliver.
            if horizontal:
                opened = (lab[y : y + bh, x : x + bw] == i).sum(axis=0)
                pen = min(float(np.median(opened)) + 1.0, BOLD_RULE_MAX)
            else:
                pen = _pen_of_rules_met(rules, x, y, bw, bh)
            if thick <= max(4.0, long_ / 40, 1.25 * pen):
                sub = target[y : y + bh, x : x + bw]
                sub[lab[y : y + bh, x : x + bw] == i] = 255
                if horizontal:
                    rules.append((x, y, bw, bh, thick))
                else:
                    vlab = lab
                    vlines.append((i, x, y, bw, bh))
    if faint is not None:
        horiz |= faint[0]
    cc = marks if marks is not None else components_with_stats(ink)  # once for the finders
    horiz |= broken_rules(ink, cc, vertical=False, anchored_span=short)
    if vlab is not None:
        # Keep vertical lines that are very long (not on a photo) or touch a horizontal rule
        # (each line taken is a whole component of the opening, so its labels there are its own).
        near = cv2.dilate(horiz, np.ones((7, 7), np.uint8))
        for i, x, y, bw, bh in vlines:
            sel = vlab[y : y + bh, x : x + bw] == i
            if (photo or bh < 3 * short) and not (near[y : y + bh, x : x + bw][sel]).any():
                vert[y : y + bh, x : x + bw][sel] = 0
    if faint is not None:  # after the test above, which judges the opening's lines only
        vert |= faint[1]
    if horiz.any():
        vert |= comb_ticks(ink & ~horiz, horiz)
    if vert.any():  # a page fed sideways: the comb's ticks stand on a vertical rule
        # cv2.transpose: numpy's transposed copy of a page is 5-15x slower.
        horiz |= cv2.transpose(comb_ticks(cv2.transpose(ink & ~vert), cv2.transpose(vert)))
    sides = broken_rules(ink, cc, anchors=horiz, anchored_span=short)
    vert |= dashed_lines(ink, cc) | small_boxes(ink, cc) | sides
    remove = horiz | vert
    if not remove.any():
        return ink, remove
    # Grow a little across the lines so their anti-aliased edges go too.
    remove = cv2.dilate(remove, np.ones((3, 3), np.uint8))
    kept = cv2.bitwise_and(ink, cv2.compare(remove, 0, cv2.CMP_EQ))
    if not photo:  # (a photo's digits are as long as its lines: nothing of a line comes back)
        kept |= bridged(kept, remove, ink, BRIDGE_GAP)
    return kept, remove


#: Strokes cut by taking a line off are joined again (``imageops.bridged``, as template mode
#: bridges the form's print) across gaps up to this many pixels less one (a bold divider,
#: grown, is 8-10 pixels wide at the working scale). On corpus pages 0-15, template-free found
#: and exact: 1558 (none) -> 1566 (7), 1569 (11), 1579 (15), 1577 (19), 1573 (25) of 1813.
BRIDGE_GAP = 15


#: Gaps along a vertical line up to this many pixels less one are bridged before it is looked for.
LINE_GAP = 5
#: A horizontal rule's pen, judged by the opened line's own height, counts up to this many
#: pixels (a bold frame at the working scale; a broader band is a bar, not a line).
BOLD_RULE_MAX = 8.0


def _pen_of_rules_met(
    rules: list[tuple[int, int, int, int, float]], x: int, y: int, bw: int, bh: int
) -> float:
    """The widest pen among the horizontal rules within a few pixels of a vertical line."""
    m = 7
    return max(
        (
            t
            for rx, ry, rw, rh, t in rules
            if rx - m <= x + bw and x <= rx + rw + m and ry - m <= y + bh and y <= ry + rh + m
        ),
        default=0.0,
    )


#: A drawn box: the share of each side of its bounding box that its ink covers. A box (sides
#: from ``BOX_MIN`` up to ``FIELD_BOX_MAX`` of the page's long side: a check box, a short comb,
#: a field's box) loses its outline only, whatever is written inside it or across its side.
BOX_SIDE_COVER = 0.85
BOX_MIN, FIELD_BOX_MAX = 0.005, 0.6
#: The outline's band is at least 8 % of a box's short side (a broad pen whose width the top
#: side did not show), but never over this share of the page's long side: a table is drawn
#: with the pen of a field's box, and 8 % of a table took the digits touching its frame.
BOX_BAND_MAX = 0.01


def box_sides(m: npt.NDArray[np.bool_], band_max: float = np.inf) -> tuple[int, bool]:
    """(band width, whether ``m``'s ink covers all four sides of its bounding box).

    The band reaches past the outline's pen (its thickness along the top side, where little
    handwriting reaches), so a broad pen's outline goes whole; its floor (8 % of the short
    side) is at most ``band_max`` pixels.
    """
    h, w = m.shape
    top = m[: max(1, h // 4)]
    pen = float(np.median(np.argmin(top, axis=0))) if top[0].mean() > 0.5 else 0.0
    floor = max(2, round(min(0.08 * min(w, h), band_max)))
    band = int(min(max(floor, pen + 2), max(2, 0.25 * min(w, h))))
    sides = (
        m[:band].any(axis=0),
        m[-band:].any(axis=0),
        m[:, :band].any(axis=1),
        m[:, -band:].any(axis=1),
    )
    return band, min(float(c.mean()) for c in sides) >= BOX_SIDE_COVER


def small_boxes(ink: U8, cc: Components | None = None) -> U8:
    """Outlines of closed, hollow rectangles: check boxes, one-digit boxes, fields' boxes.

    Their sides may be shorter than the openings that find rules, or drawn with a pen too broad
    for them, and a check box reads as a sure "0". Ink covering all four sides of its bounding
    box almost whole is a drawn rectangle; a handwritten 0 touches its box's sides at a few
    points only.
    """
    out = np.zeros_like(ink)
    _, lab, st, _ = cc if cc is not None else components_with_stats(ink)
    side = max(ink.shape)
    lo, big = BOX_MIN * side, FIELD_BOX_MAX * side
    w_, h_, a_ = st[:, 2], st[:, 3], st[:, 4]
    fits = (w_ >= lo) & (h_ >= lo) & (w_ <= big) & (h_ <= big) & (a_ <= 0.4 * w_ * h_)
    candidates = np.flatnonzero(fits)
    for i in candidates[candidates > 0]:  # label 0 is the paper
        x, y, w, h, _ = st[i]
        m = lab[y : y + h, x : x + w] == i
        band, closed = box_sides(m, BOX_BAND_MAX * side)
        if not closed:
            continue
        # The outline only: what is written inside, or across a side, stays.
        out[y : y + h, x : x + w][_outline(m, band)] = 255
    return out


def _outline(m: npt.NDArray[np.bool_], band: int) -> npt.NDArray[np.bool_]:
    """The straight sides of a drawn box or table ``m`` (its ink), within ``band`` of its
    bounding box's edges: a digit written against a side (one that ran past a table's last
    column) is joined to the box's ink but is not straight along it, so it stays."""
    h, w = m.shape
    edge = np.zeros((h, w), np.uint8)
    edge[:band], edge[-band:] = m[:band], m[-band:]
    edge[:, :band] |= m[:, :band]
    edge[:, -band:] |= m[:, -band:]
    run = max(15, round(OUTLINE_RUN * min(h, w)))
    lines = cv2.morphologyEx(edge, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    lines |= cv2.morphologyEx(edge, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    # Grown a pixel: the line's anti-aliased edges, and where it wanders, go with it.
    return (cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0) & m


#: A box's side is straight along at least this share of the box's smaller side.
OUTLINE_RUN = 0.25


#: A dashed or dotted rule: at least this many marks in a row, evenly spaced, alike.
MIN_DASHES = 4


def dashed_lines(ink: U8, cc: Components | None = None) -> U8:
    """Dashes or dots in a straight row at even spacing, alike in size: a dashed printed rule.

    Each dash alone is a thin stroke that reads as a sure "1" (a dot as a speck); handwriting
    does not repeat one mark at one spacing along a straight line. Rows may run a little off the
    axes (a skewed scan).
    """
    out = np.zeros_like(ink)
    n, lab, st, cen = cc if cc is not None else components_with_stats(ink)
    if n <= MIN_DASHES:
        return out
    w, h, area = st[1:, 2], st[1:, 3], st[1:, 4]
    small = (np.maximum(w, h) <= 80) & (area >= 4)
    for vertical in (True, False):
        long_, short = (h, w) if vertical else (w, h)
        dots = (long_ <= 3 * short) & (long_ <= 12)
        marks = np.flatnonzero(small & (((long_ >= 4 * short) & (short <= 7)) | dots)) + 1
        if len(marks) < MIN_DASHES:
            continue
        along = cen[marks, 1] if vertical else cen[marks, 0]
        across = cen[marks, 0] if vertical else cen[marks, 1]
        order = np.argsort(along, kind="stable")
        marks, along, across = marks[order], along[order], across[order]
        size = np.maximum(st[marks, 2], st[marks, 3]).astype(np.float64)
        nxt = _next_alike(along, across, size)
        seen = np.zeros(len(marks), bool)
        for start in range(len(marks)):
            if seen[start]:
                continue
            chain = [start]
            while nxt[chain[-1]] >= 0 and not seen[nxt[chain[-1]]]:
                chain.append(int(nxt[chain[-1]]))
            seen[chain] = True
            if len(chain) < MIN_DASHES:
                continue
            steps = np.diff(along[chain])
            unit = float(statistics.median(steps.tolist()))
            # Even spacing, a dash now and then missing (a faint line binarised in pieces).
            multiple = np.maximum(1.0, np.round(steps / max(unit, 1.0)))
            if np.max(np.abs(steps - multiple * unit)) > 0.25 * unit + 2:
                continue
            # A printed row stands clear; among grain or specks, chains are found by chance.
            ids = marks[chain]
            x0, y0 = st[ids, 0].min() - 6, st[ids, 1].min() - 6
            x1 = (st[ids, 0] + st[ids, 2]).max() + 6
            y1 = (st[ids, 1] + st[ids, 3]).max() + 6
            inside = (
                (cen[1:, 0] >= x0) & (cen[1:, 0] <= x1) & (cen[1:, 1] >= y0) & (cen[1:, 1] <= y1)
            )
            if np.count_nonzero(inside) > 1.5 * len(chain):
                continue
            for c in chain:
                x, y, bw, bh, _ = st[marks[c]]
                sub = out[y : y + bh, x : x + bw]
                sub[lab[y : y + bh, x : x + bw] == marks[c]] = 255
    return out


def _next_alike(
    along: npt.NDArray[np.float64], across: npt.NDArray[np.float64], size: npt.NDArray[np.float64]
) -> list[int]:
    """For each mark (sorted by ``along``), the first later one that could be the next dash of
    its row: a step on of at least half its size and at most ``4 * size + 12``, nearly level
    with it, about its size; -1 where none is.

    Every pair within reach is tested at once (the same sums and comparisons, pair by pair);
    marks are sorted along the row, so the reach ends at the first pair out of it.
    """
    n = len(along)
    reach = 4 * size + 12
    # Pairs (a, b), b after a up to a little past the reach (exactly where, below).
    end = np.searchsorted(along, along + reach + 1.0, side="right")
    count = np.maximum(end - np.arange(n) - 1, 0)
    a = np.repeat(np.arange(n), count)
    b = np.arange(len(a)) - np.repeat(np.cumsum(count) - count, count) + a + 1
    step = along[b] - along[a]
    ok = (
        (step <= reach[a])
        & (step >= 0.5 * size[a])
        & (np.abs(across[b] - across[a]) <= 3 + 0.06 * step)
        & (np.abs(size[b] - size[a]) <= 0.3 * size[a] + 1)
    )
    nxt = [-1] * n
    for i, j in zip(a[ok][::-1].tolist(), b[ok][::-1].tolist(), strict=True):
        nxt[i] = j  # the first b of each a written last
    return nxt


#: A long printed line scanned faint breaks into thin pieces of any length: a row of them at
#: least this long (a share of the page's side) and mostly ink is a line.
BROKEN_SPAN = 0.12
BROKEN_COVER = 0.5
BROKEN_MANY = 4  #: ... or this many pieces in a row, however short the row
BROKEN_SPAN_MIN = 160  #: ... and never shorter than this many pixels


def broken_rules(
    ink: U8,
    cc: Components | None = None,
    *,
    vertical: bool = True,
    anchors: U8 | None = None,
    anchored_span: float = 0.0,
) -> U8:
    """Thin strokes end to end along one straight line: a faint printed rule, frame or box side.

    A faint line binarises in pieces of uneven length, each a thin stroke that reads as a sure
    "1" (``dashed_lines`` wants even dashes). A chain of them spanning a good part of the page,
    mostly ink and straight, is printed: handwriting does not stack strokes end to end. A
    shorter chain (``anchored_span`` pixels or more) counts when it has many pieces or meets
    ``anchors`` (the horizontal rules, which a box's side runs between).
    """
    out = np.zeros_like(ink)
    n, lab, st, _ = cc if cc is not None else components_with_stats(ink)
    if n <= 3:
        return out
    a0 = st[1:, 1 if vertical else 0].astype(np.float64)  # start along the line
    length = st[1:, 3 if vertical else 2].astype(np.float64)
    across = st[1:, 0 if vertical else 1] + st[1:, 2 if vertical else 3] / 2.0
    thin = st[1:, 2 if vertical else 3]
    marks = np.flatnonzero((thin <= 6) & (length >= 4 * thin) & (length >= 8))
    if len(marks) < 3:
        return out
    # On a small image (a photo of one number) a share of its side is a digit's height.
    span_min = max(BROKEN_SPAN * ink.shape[0 if vertical else 1], BROKEN_SPAN_MIN)
    marks = marks[np.argsort(a0[marks], kind="stable")]
    nxt = np.full(n, -1)
    for i, a in enumerate(marks):
        end = a0[a] + length[a]
        for b in marks[i + 1 :]:
            gap = a0[b] - end
            if gap > max(12.0, 1.5 * length[a]):
                break
            if gap >= -2 and abs(across[b] - across[a]) <= 2 + 0.03 * (a0[b] - a0[a]):
                nxt[a] = b
                break
    pointed = set(nxt[nxt >= 0].tolist())
    for start in marks:
        if start in pointed:
            continue
        chain = [int(start)]
        while nxt[chain[-1]] >= 0:
            chain.append(int(nxt[chain[-1]]))
        ids = np.array(chain)
        span = a0[ids[-1]] + length[ids[-1]] - a0[ids[0]]
        if len(chain) < 3 or length[ids].sum() < BROKEN_COVER * span:
            continue
        anchored = anchors is not None and _meets(anchors, st[ids + 1])
        if span < span_min and not (
            span >= anchored_span and (len(chain) >= BROKEN_MANY or anchored)
        ):
            continue
        for c in ids + 1:
            x, y, bw, bh, _ = st[c]
            sub = out[y : y + bh, x : x + bw]
            sub[lab[y : y + bh, x : x + bw] == c] = 255
    return out


def _meets(anchors: U8, boxes: npt.NDArray[np.int32]) -> bool:
    """Whether ink of ``anchors`` lies within a few pixels of the first or the last box."""
    for x, y, bw, bh, _ in (boxes[0], boxes[-1]):
        if anchors[max(0, y - 4) : y + bh + 4, max(0, x - 4) : x + bw + 4].any():
            return True
    return False
