"""What the template-free reader leaves out or sends to review among the strings it read.

A page without a template is read whole, so its print is read too: captions and titles read
as unsure digits, specks and the pieces of printed rules as sure 1s, printed row numbers as
sure small numbers. These rules judge each string against the page's own handwriting: its
height is a high percentile of the sure strings' heights (print read as sure digits may
outnumber the handwriting on a table or a ruled page).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from digitize.types import Box, DigitResult, FieldResult

U8 = npt.NDArray[np.uint8]

#: Strings reading under this confidence, with characters under this share of the page's
#: handwriting height, are printed captions and left out.
CAPTION_CONFIDENCE = 0.5
CAPTION_SIZE = 0.5
#: A string kept whose characters are under this share of the page's handwriting height is the
#: size of print (row numbers, printed amounts beside fields): a person looks.
PRINT_SIZE = 0.6
PRINT_SIZED = "print_sized"
#: A lone character has no neighbours to vouch for it: under this share it is print-sized too
#: (a unit's or a currency's bold glyph beside a box reads as a sure 8).
LONE_PRINT_SIZE = 0.7
#: The page's handwriting height is this percentile of its sure strings' heights.
HANDWRITING_QUANTILE = 75
#: One or two "digits" under this share of that height are dust, however they read.
DUST_SIZE = 0.3
#: A lone 1 (or 11) under this share is a short stroke: a comb's tick, a stub of a rule, a
#: stamp's line, a check box's edge. A handwritten 1 stands as tall as the page's other digits.
SHORT_ONES_SIZE = 0.5
#: A string of 1s over this many times the handwriting height is a printed rule, not a number.
RULE_SIZE = 2.5
#: Thin strings of 1s, three or more on one straight line along the page's axes (within
#: ``LINE_TILT`` of them): the pieces of a printed rule a scan broke up. A person looks.
LINE_OF_MARKS = "line_of_marks"
LINE_TILT = 0.1  # tangent of the largest tilt, about 6 degrees
LINE_MEMBERS = 3
#: A lone 1 over this many times the page's handwriting height: a stroke that long standing
#: alone is more often a piece of a printed line (a box's side, a frame) than a number. A
#: person looks.
LONE_STROKE = "lone_stroke"
LONE_STROKE_SIZE = 1.4
#: Any other lone character over ``LONE_STROKE_SIZE`` times that height: a printed symbol (a
#: logo's ring read as a 0), a stamp's letter, more often than a number. A person looks.
LONE_LARGE = "lone_large"
#: A string's first or last character left out as print: a 1 over ``EDGE_TALL`` of the
#: string's character height (a box's side, a table's divider) or any character under
#: ``EDGE_SMALL`` of it (a printed row number, a unit). A person checks the rest.
EDGE_MARKS = "marks_at_the_ends"
EDGE_TALL, EDGE_SMALL = 1.6, 0.55
#: One character over this many times the median height of the string's others (heights along
#: the reading direction): a caption, a rule's piece or a stroke of the line above joined to a
#: digit, or two crops where the cuts could go another way. A person looks.
TALL_CHARACTER = "tall_character"
TALL_SHARE = 1.3
#: A string read as 1s whose ink comes within this share of its height of a printed line: what
#: is left of the line (a box's corner, a faint side) after its removal. A person looks.
LINE_PIECE = "line_piece"
LINE_PIECE_REACH = 0.2


#: A string whose box comes within ``SCAN_EDGE_REACH`` of the scan's long side (2 pixels at
#: least) of the scan's edge, on a page-sized scan: cut off by it (a number half off the
#: page), or a mark of the scanner's edge (its shadow, the lid) read as digits. Forms leave a
#: margin, so a number written there is rare. A person looks.
AT_SCAN_EDGE = "at_scan_edge"
SCAN_EDGE_REACH = 0.002


def at_scan_edge(box: Box, shape: tuple[int, ...]) -> bool:
    """Whether ``box`` (x, y, w, h) comes within the reach of an edge of a scan of ``shape``."""
    h, w = shape[:2]
    reach = max(2.0, SCAN_EDGE_REACH * max(h, w))
    x, y, bw, bh = box
    return x < reach or y < reach or x + bw > w - reach or y + bh > h - reach


#: A string of one digit on a page-sized scan: as often a piece of a longer number (the rest
#: lost to a line or a faint pen), a mark or print read as a digit, as a number written alone,
#: and nothing on the page tells which (docs/experiments.md). A person looks.
SINGLE_DIGIT = "single_digit"
#: A string of 1s only on a page-sized scan: straight strokes the classifier reads as sure 1s
#: whatever made them (a comb's dividers, a line's pieces, hatching), and a number written
#: with 1s alone is rare. A person looks.
ONLY_ONES = "only_ones"


#: One gap between a string's characters wider than its other gaps (their median) by more than
#: this share of the characters' height: two numbers read as one, perhaps. A person looks.
WIDE_GAP = "wide_gap"
WIDE_GAP_EXCESS = 0.75


def all_ones(f: FieldResult) -> bool:
    """Whether ``f`` reads as 1s only."""
    return bool(f.value) and not f.value.strip("1")


def handwriting_only(
    heights: Sequence[float],
    fields: list[FieldResult],
    beside_lines: Sequence[bool] | None = None,
    photo: bool = False,
) -> list[FieldResult]:
    """``fields`` (template-free strings, ``heights[i]`` the height of string i's characters)
    without printed captions, dust and rules; print-sized ones, broken rules, lone characters
    much taller than the handwriting, strings with one character much taller than the rest and
    (``beside_lines[i]``: string i's ink comes within ``LINE_PIECE_REACH`` of its height of a
    printed line) 1s beside a line flagged. ``photo``: a picture of a number or two, where a
    sign before an amount is left out too (``trim_edges``)."""
    if beside_lines is not None:
        for f, near in zip(fields, beside_lines, strict=True):
            if near and all_ones(f):
                f.flag(LINE_PIECE)
    sure = [
        h
        for h, f in zip(heights, fields, strict=True)
        # a lone sure "1" may be a speck, and "11" a broken rule
        if len(f.value) >= 2 and f.confidence >= 0.9 and f.value.strip("1")
    ]
    out = fields
    if sure:
        ref = float(np.percentile(sure, HANDWRITING_QUANTILE))
        kept = [
            (h, f)
            for h, f in zip(heights, fields, strict=True)
            if (f.confidence >= CAPTION_CONFIDENCE or h >= CAPTION_SIZE * ref)
            and (len(f.value) > 2 or h >= DUST_SIZE * ref)
            and not (all_ones(f) and len(f.value) <= 2 and h < SHORT_ONES_SIZE * ref)
            and not (all_ones(f) and h > RULE_SIZE * ref)
        ]
        for h, f in kept:  # sure, but the size of print: a row number, a printed amount
            if h < (LONE_PRINT_SIZE if len(f.value) == 1 else PRINT_SIZE) * ref:
                f.flag(PRINT_SIZED)
            lone = LONE_STROKE if f.value == "1" else LONE_LARGE
            if len(f.value) == 1 and h > LONE_STROKE_SIZE * ref:
                f.flag(lone)
        small = [(h, f) for h, f in kept if h < PRINT_SIZE * ref]
        numbering = printed_numbering([h for h, _ in small], [f for _, f in small])
        out = [f for _, f in kept if id(f) not in numbering]
    for f in out:
        trim_edges(f, photo)
        if tall_character(f):
            f.flag(TALL_CHARACTER)
        if wide_gap(f):
            f.flag(WIDE_GAP)
    for f in lines_of_marks(out):
        f.flag(LINE_OF_MARKS)
    return out


#: Print-sized strings, ``NUMBERING_MIN`` or more with characters of one height (within
#: ``NUMBERING_ALIKE`` of it), one under the other with their left edges, centres or right edges
#: on one straight line (within ``NUMBERING_ALIGN`` of that height) near the page's axes: numbers
#: printed down a column (a table's row numbers, a list's item numbers) in one type size.
#: Handwriting varies its height from number to number. Left out.
NUMBERING_MIN, NUMBERING_ALIKE, NUMBERING_ALIGN = 3, 0.08, 0.25


def printed_numbering(heights: Sequence[float], fields: Sequence[FieldResult]) -> set[int]:
    """The ``id`` of every string among ``fields`` (print-sized ones; ``heights[i]``: string
    i's character height) that is one of a column of printed numbers (``NUMBERING_MIN``,
    ``NUMBERING_ALIKE``, ``NUMBERING_ALIGN``)."""
    found: set[int] = set()
    for h in heights:
        alike = [
            f for k, f in zip(heights, fields, strict=True) if abs(k - h) <= NUMBERING_ALIKE * h
        ]
        if len(alike) < NUMBERING_MIN:
            continue
        x, y, w, hh = np.array([f.box for f in alike], np.float64).T
        down = np.ptp(y) >= np.ptp(x)  # the column runs down the page (else: a sideways page)
        along, lo, size, tall = (y + hh / 2, x, w, hh) if down else (x + w / 2, y, hh, w)
        for edge in (lo, lo + size / 2, lo + size):
            on = _on_a_line(along, edge, NUMBERING_ALIGN * float(np.median(tall)))
            if on.sum() >= NUMBERING_MIN:
                found.update(id(f) for f, k in zip(alike, on, strict=True) if k)
                break
    return found


def _on_a_line(
    along: npt.NDArray[np.float64], across: npt.NDArray[np.float64], tol: float
) -> npt.NDArray[np.bool_]:
    """Which points lie on one straight line within ``tol`` of it, at most ``LINE_TILT`` off the
    ``along`` axis: the line fitted to them all, the farthest left out until the rest are on."""
    keep = np.ones(len(along), bool)
    while keep.sum() >= 2 and np.ptp(along[keep]) > 0:
        slope, icept = np.polyfit(along[keep], across[keep], 1)
        off = np.where(keep, np.abs(across - (slope * along + icept)), -1.0)
        worst = int(np.argmax(off))
        if off[worst] <= tol:
            return keep if abs(slope) <= LINE_TILT else np.zeros_like(keep)
        keep[worst] = False
    return np.zeros_like(keep)


def _thin(box: Box) -> str | None:
    """ "v" or "h": the long axis of a thin string's box (a 1 or a rule's piece), else None."""
    w, h = box[2], box[3]
    if w < 0.35 * h:
        return "v"
    if h < 0.35 * w:
        return "h"
    return None


def lines_of_marks(fields: Sequence[FieldResult]) -> list[FieldResult]:
    """Thin strings of 1s lying three or more on one straight line along the page's axes,
    spread over more than their own length: what is left of a printed rule (a page frame's
    side, a table's divider) that the scan broke into dashes."""
    marks = [(f, _thin(f.box)) for f in fields if all_ones(f)]
    found: set[int] = set()
    for axis in ("v", "h"):
        group = [f for f, a in marks if a == axis]
        # centres as (along the line, across it)
        pts = [
            (b[1] + b[3] / 2, b[0] + b[2] / 2)
            if axis == "v"
            else (b[0] + b[2] / 2, b[1] + b[3] / 2)
            for b in (f.box for f in group)
        ]
        length = [max(f.box[2], f.box[3]) for f in group]
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                (a0, c0), (a1, c1) = pts[i], pts[j]
                if a1 == a0 or abs((c1 - c0) / (a1 - a0)) > LINE_TILT:
                    continue
                slope = (c1 - c0) / (a1 - a0)
                tol = max(6.0, 0.15 * min(length[i], length[j]))
                on = [k for k, (a, c) in enumerate(pts) if abs(c0 + slope * (a - a0) - c) <= tol]
                span = max(pts[k][0] for k in on) - min(pts[k][0] for k in on)
                if len(on) >= LINE_MEMBERS and span > 2 * max(length[k] for k in on):
                    found.update(id(group[k]) for k in on)
    return [f for f in fields if id(f) in found]


def _along(f: FieldResult) -> list[int]:
    """The heights of ``f``'s characters along its reading direction (a sideways page's strings
    run down it, their characters lying on their side)."""
    across = f.box[2] >= f.box[3]  # the string runs along x
    return [d.box[3] if across else d.box[2] for d in f.digits]


def wide_gap(f: FieldResult) -> bool:
    """Whether one gap between ``f``'s characters (three or more) exceeds the median of its
    other gaps by over ``WIDE_GAP_EXCESS`` of their median height: a hand spaces one number's
    digits alike (a comb's cells alike too); two numbers side by side, where no line was found
    between them, leave one wide gap."""
    if len(f.digits) < 3:
        return False
    across = f.box[2] >= f.box[3]  # the string runs along x
    spans = sorted((d.box[0], d.box[2]) if across else (d.box[1], d.box[3]) for d in f.digits)
    gaps = sorted(b[0] - (a[0] + a[1]) for a, b in pairwise(spans))
    excess = gaps[-1] - float(np.median(gaps[:-1]))
    return excess > WIDE_GAP_EXCESS * float(np.median(_along(f)))


def tall_character(f: FieldResult) -> bool:
    """Whether one of ``f``'s characters stands over ``TALL_SHARE`` times the median height of
    the others: handwriting keeps its height along a number; a taller crop holds something else
    (a caption over the digit, a piece of a rule, a digit of the next line), or the string is
    not one number."""
    if len(f.digits) < 2:
        return False
    heights = _along(f)
    k = int(np.argmax(heights))
    rest = heights[:k] + heights[k + 1 :]
    return heights[k] > TALL_SHARE * float(np.median(rest))


#: A number's first character read unsurely (under ``SIGN_SURE``) with this much probability
#: of being no digit at all is a sign before it ($ € £ #), which the classifier reads as a 4,
#: an 8 or a 9; a written first digit is read surely and almost never so (``bench_amounts``).
SIGN_NOT_DIGIT, SIGN_SURE = 0.05, 0.95


def _a_sign(d: DigitResult) -> bool:
    if d.probs is None or d.confidence >= SIGN_SURE:
        return False
    return 1.0 - float(np.sum(d.probs)) >= SIGN_NOT_DIGIT


def trim_edges(f: FieldResult, photo: bool = False) -> None:
    """Leave out ``f``'s first or last character where its size says print, not handwriting,
    and on a ``photo`` (an amount's picture) a first character that reads as a sign.

    Heights are taken along the reading direction (a sideways page's strings run down it).
    Only strings of three or more characters are judged, against their median height.
    """
    if len(f.digits) < 3 or len(f.digits) != len(f.value):
        return
    across = f.box[2] >= f.box[3]  # the string runs along x

    def height(b: Box) -> int:
        return b[3] if across else b[2]

    med = float(np.median([height(d.box) for d in f.digits]))
    digits = list(f.digits)
    trimmed = False
    if photo and _a_sign(digits[0]):
        digits.pop(0)
        trimmed = True
    while len(digits) >= 3:
        for end in (0, -1):
            d = digits[end]
            h = height(d.box)
            if (d.value == 1 and h > EDGE_TALL * med) or h < EDGE_SMALL * med:
                digits.pop(end)
                trimmed = True
                break
        else:
            break
    if not trimmed:
        return
    f.digits = digits
    f.value = "".join(str(d.value) for d in digits)  # every digit read one: lengths agree
    x0 = min(d.box[0] for d in digits)
    y0 = min(d.box[1] for d in digits)
    x1 = max(d.box[0] + d.box[2] for d in digits)
    y1 = max(d.box[1] + d.box[3] for d in digits)
    f.box = (x0, y0, x1 - x0, y1 - y0)
    f.flag(EDGE_MARKS)


#: Ink the string left out, within ``BESIDE_REACH`` character heights past its ends on its line
#: (its rows, and ``BESIDE_GROW`` character heights above and below: a digit cut by a line sits
#: lower or higher than the rest) or inside its box, over ``BESIDE_SHARE`` of one of its
#: characters' ink: a digit cut by a printed line it crossed, or the specks of a pen that
#: skipped. The number may be longer than what was read: a person looks.
INK_BESIDE = "ink_beside_number"
BESIDE_REACH, BESIDE_SHARE, BESIDE_GROW = 0.6, 0.2, 0.25


def ink_beside(box: Box, own: U8, ink: U8, digit_height: float) -> bool:
    """Whether ``ink`` (the page's, print removed) holds much that the string at ``box``, whose
    own ink is ``own``, left out: inside its box or just past either end (a little above or
    below its rows there too)."""
    x, y, w, h = box
    mine = int(np.count_nonzero(own))
    if mine == 0:
        return False
    reach = round(BESIDE_REACH * digit_height)
    x0, x1 = max(0, x - reach), min(ink.shape[1], x + w + reach)
    grow = round(BESIDE_GROW * digit_height)
    y0, y1 = max(0, y - grow), min(ink.shape[0], y + h + grow)
    around = ink[y0:y1, x0:x1] > 0
    inner = around[y - y0 : y - y0 + h, x - x0 : x - x0 + w]  # a view: own ink taken out
    inner &= ~(own[: inner.shape[0], : inner.shape[1]] > 0)
    # Above and below the string's box, only what lies past its ends counts (not the lines of
    # writing over and under it).
    around[: y - y0, x - x0 : x - x0 + w] = False
    around[y - y0 + h :, x - x0 : x - x0 + w] = False
    chars = max(1.0, w / max(1.0, 0.7 * digit_height))
    return int(np.count_nonzero(around)) > BESIDE_SHARE * mine / chars


#: Two strings on one line closer than this share of the taller one's character height, with no
#: printed line between them, may be one number parted (a comb read in two, a last digit past
#: its cell): both go to review. Handwriting leaves wider gaps between numbers than between
#: digits.
CROWDED_GAP = 0.8


def crowded(boxes: Sequence[Box], heights: Sequence[float], walls: U8) -> list[set[int]]:
    """Per string (``boxes`` on the page turned to read), the strings beside it on its line
    within ``CROWDED_GAP`` character heights with no wall (``walls``: printed lines) between."""
    out: list[set[int]] = [set() for _ in boxes]
    for i, (a, ha) in enumerate(zip(boxes, heights, strict=True)):
        for j in range(i + 1, len(boxes)):
            b, hb = boxes[j], heights[j]
            top, bottom = max(a[1], b[1]), min(a[1] + a[3], b[1] + b[3])
            if bottom - top < 0.5 * min(a[3], b[3]):
                continue
            left, right = min(a[0] + a[2], b[0] + b[2]), max(a[0], b[0])
            if right - left >= CROWDED_GAP * max(ha, hb):
                continue
            gap = walls[top:bottom, max(0, left) : max(0, right)] > 0
            if gap.size and (gap.sum(axis=0) >= 0.5 * (bottom - top)).any():
                continue
            out[i].add(j)
            out[j].add(i)
    return out
