"""Comb dividers standing on a page's printed rules: short upright strokes off a rule at even
spacing (ticks), or from one rule to the next (a comb's dividers), found so that they are taken
off the ink with the rules (``printed_rules.split_rules``) and never read as 1s.
"""

from __future__ import annotations

import statistics

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.imageops import sparse_components, sparse_labels

U8 = npt.NDArray[np.uint8]


#: Comb dividers: at least this many short strokes off one rule, evenly spaced, alike in length.
MIN_TICKS = 3
TICK_MIN_LENGTH = 8  # pixels: shorter stubs are left to the rule's own removal
TICK_MAX_HEIGHT = 80  # pixels: taller strokes are no tick
#: Rows from a rule beyond which no stroke can count as touching it: a tick's height, the 3
#: rows looked at above and below it, and a margin (a stroke cut at this distance is too tall
#: or too far to touch a rule either way, so cutting the page there changes nothing).
TICK_REACH = TICK_MAX_HEIGHT + 8


def _rules_at(lab_r: npt.NDArray[np.int32], x: int, bw: int, row: int) -> set[int]:
    """The rules (labels of ``lab_r``) within 3 rows of ``row`` over columns ``x`` to ``x + bw``."""
    near = lab_r[max(0, row - 3) : row + 3, x : x + bw]
    return set(np.unique(near[near > 0]).tolist())


def _spans(lab_r: npt.NDArray[np.int32], x: int, y: int, bw: int, bh: int) -> bool:
    """A stroke at (x, y, bw, bh) meets one rule at its top and another at its bottom."""
    above, below = _rules_at(lab_r, x, bw, y), _rules_at(lab_r, x, bw, y + bh)
    return bool(above and below and above != below)


def _broken_dividers(
    by_rule: dict[int, list[int]], st: npt.NDArray[np.int32], lab_r: npt.NDArray[np.int32], x0: int
) -> set[int]:
    """A divider broken by a digit written across it: a piece hanging from one rule above a
    piece standing on the next, in one column, a digit's height apart at most. Pieces merely in
    one column (a stroke on one comb, a tick of another comb lower down the page) are not one."""
    columns: dict[int, list[tuple[int, int]]] = {}
    for rule, members in by_rule.items():
        for i in members:
            columns.setdefault(int(x0 + st[i][0] + st[i][2] // 2) // 4, []).append((rule, i))

    out: set[int] = set()
    for key, pieces in columns.items():
        near_pieces = pieces + columns.get(key - 1, []) + columns.get(key + 1, [])
        for ra, a in pieces:
            top, bottom = st[a][1], st[a][1] + st[a][3]
            for rb, b in near_pieces:
                if rb == ra:
                    continue
                if st[b][1] >= bottom - 2:  # b below a: a hangs from its rule, b stands on its
                    upper, lower, gap = a, b, st[b][1] - bottom
                elif st[b][1] + st[b][3] <= top + 2:
                    upper, lower, gap = b, a, top - (st[b][1] + st[b][3])
                else:
                    continue
                u_rule, l_rule = (ra, rb) if upper == a else (rb, ra)
                ux, uy, uw, _, _ = st[upper]
                lx, ly, lw, lh, _ = st[lower]
                if (
                    gap <= TICK_MAX_HEIGHT
                    and u_rule in _rules_at(lab_r, ux, uw, uy)
                    and l_rule in _rules_at(lab_r, lx, lw, ly + lh)
                ):
                    out.add(a)
                    break
    return out


def comb_ticks(ink: U8, horiz: U8) -> U8:
    """Short vertical strokes standing on a printed rule at even spacing: a comb's dividers.

    They are too short for the rules' vertical opening (a tick is a third of a digit high), yet
    each reads as a sure "1". Handwriting touching the rule is not periodic, so only
    strokes on the rule's grid of equal gaps, alike in height and thickness, are taken.

    Only strokes within ``TICK_REACH`` rows of a rule can touch one, so the rest of the page is
    never labelled (labelling with statistics costs by the pixel: 6-11 ms a page each): the
    strokes are labelled in the box around those rows, the rules without statistics.
    """
    out = np.zeros_like(ink)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (1, TICK_MIN_LENGTH))
    stubs = cv2.morphologyEx(ink, cv2.MORPH_OPEN, k)
    # Rows within TICK_REACH of a rule's row (a running count: OpenCV's dilation of one
    # column by a tall line costs more than the page's reduce).
    ruled = np.concatenate(([0], np.cumsum(cv2.reduce(horiz, 1, cv2.REDUCE_MAX)[:, 0] > 0)))
    y = np.arange(ink.shape[0])
    reach = ruled[np.minimum(y + TICK_REACH + 1, len(y))] - ruled[np.maximum(y - TICK_REACH, 0)]
    stubs[reach == 0] = 0
    if not stubs.any():
        return out
    # The box around them, grown by what the tests below look at beyond a stroke's own box.
    bx, by, bw, bh = cv2.boundingRect(stubs)
    x0, y0 = max(0, bx - 2), max(0, by - 3)
    x1, y1 = min(ink.shape[1], bx + bw + 2), min(ink.shape[0], by + bh + 3)
    box = (slice(y0, y1), slice(x0, x1))
    near = cv2.dilate(horiz[box], np.ones((5, 3), np.uint8))
    lab_r = sparse_labels(horiz, box)
    n, lab, st, _ = sparse_components(stubs[box])
    res = out[box]

    def take(i: int) -> None:
        """Stroke ``i`` is a comb's divider: its ink goes to the result."""
        x, y, bw, bh, _ = st[i]
        res[y : y + bh, x : x + bw][lab[y : y + bh, x : x + bw] == i] = 255

    by_rule: dict[int, list[int]] = {}
    for i in range(1, n):
        x, y, bw, bh, _ = st[i]
        if bw > 6 or bh > TICK_MAX_HEIGHT:  # not a thin short stroke
            continue
        touching = lab_r[y - 3 if y >= 3 else 0 : y + bh + 3, x : x + bw]
        rule = int(touching.max())  # the rules it touches: none, one, or more (the least differs)
        if not rule:
            continue
        sel = lab[y : y + bh, x : x + bw] == i
        if touching[touching > 0].min() == rule:
            if near[y : y + bh, x : x + bw][sel].any():
                by_rule.setdefault(rule, []).append(i)
        elif _spans(lab_r, x, y, bw, bh):
            take(i)  # from one rule to the next: a divider
    for i in _broken_dividers(by_rule, st, lab_r, x0):
        take(i)
    for members in by_rule.values():
        if len(members) < MIN_TICKS:
            continue
        heights = np.array([st[i][3] for i in members], np.float64)
        mid = float(statistics.median(heights.tolist()))
        alike = [i for i, h in zip(members, heights, strict=True) if abs(h - mid) <= 0.35 * mid]
        if len(alike) < MIN_TICKS:
            continue
        xs = np.sort(np.array([st[i][0] + st[i][2] / 2 for i in alike]))
        gaps = np.diff(xs)
        gap = float(statistics.median(gaps.tolist()))
        if gap < 12:
            continue
        even = np.abs(gaps - gap) <= 0.15 * gap
        if even.sum() < MIN_TICKS - 1 or even.mean() < 0.6:
            continue
        for i in alike:
            x, y, bw, bh, _ = st[i]
            centre = x + bw / 2
            if np.min(np.abs(((centre - xs[0]) / gap) - np.round((centre - xs[0]) / gap))) <= 0.15:
                take(i)
    return out
