"""Comb fields on a page of no known form: a row of cells for one digit each, the cells parted by
evenly spaced printed dividers (full height, half height, or ticks on a base line).

A comb's print is one piece of the page's rules: its frame or base line with its dividers. Along
it, the columns where a divider stands hold more of that print than the rest (the frame's roof
and floor, or the base line alone), and the dividers stand at one pitch, a cell about a digit
wide: a row of boxes for whole numbers and handwriting have no such grid.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: A comb's cells: the x of its first cell's left border, the pitch, the number of cells.
Grid = tuple[float, float, int]

#: A divider rises at least this share of the digit height above the pen of the comb's rules,
#: at least ``MIN_RISE`` pixels (a tick is a fifth of a digit high or more), and at least
#: ``SPAN`` of the way across the comb's print (a frame's dividers reach half its height or
#: more; a digit's stroke left on its floor adds a pen's width).
RISE, MIN_RISE, SPAN = 0.12, 3, 0.3
#: A comb's cell holds one digit: its pitch lies between these multiples of the digit height.
PITCH = (0.5, 2.0)
#: Dividers stand on the grid of one pitch within this share of it; at least ``COVER`` of the
#: grid's lines between the outermost found hold one (a divider a digit hides is lost), and
#: at most ``STRAY`` as many upright strokes off the grid as on it (a letter, a digit's stroke).
EVEN, COVER, STRAY = 0.15, 0.6, 1 / 3
#: At least this many cells between dividers found.
MIN_CELLS = 2
#: A base line running on past its last divider by this share of a pitch or more bounds cells
#: there too (a comb whose ends are not marked).
OPEN_END = 0.6


def divider_grid(m: npt.NDArray[np.bool_], digit_height: float) -> Grid | None:
    """The cells of the comb whose print is ``m`` (one piece of the page's rules, in its box's
    pixels), or None when its upright strokes are no comb's dividers."""
    cols = m.sum(axis=0)
    base = float(np.median(cols))
    high = cols >= base + max(MIN_RISE, RISE * digit_height, SPAN * (m.shape[0] - base))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], high.astype(np.int8), [0]))))
    xs = (edges[::2] + edges[1::2] - 1) / 2.0  # the middle of each run of high columns
    if len(xs) < MIN_CELLS + 1:
        return None
    gaps = np.diff(xs)
    gaps = gaps[(gaps >= PITCH[0] * digit_height) & (gaps <= PITCH[1] * digit_height)]
    if not len(gaps):
        return None
    pitch = float(np.median(gaps))
    # The grid through the most strokes: each stroke in turn as one of its lines.
    steps = (xs[None, :] - xs[:, None]) / pitch
    on = np.abs(steps - np.round(steps)) <= EVEN
    best = int(on.sum(axis=1).argmax())
    on, k = on[best], np.round(steps[best][on[best]])
    x = xs[on]
    span = int(k.max() - k.min())
    if len(x) < MIN_CELLS + 1 or len(x) < COVER * (span + 1) or (~on).sum() > STRAY * len(x):
        return None
    pitch, first = (float(v) for v in np.polyfit(k - k.min(), x, 1))
    before = int(first / pitch + 1 - OPEN_END)
    after = int((len(cols) - 1 - (first + span * pitch)) / pitch + 1 - OPEN_END)
    return first - before * pitch, pitch, span + before + after


def comb_field(grid: Grid | None) -> tuple[int | None, tuple[int, int] | None]:
    """``oversegment.plan``'s ``cells`` and ``field`` for a string written in a comb's ``grid``
    (x from the string's box); (None, None) for one written elsewhere."""
    if grid is None:
        return None, None
    left, pitch, cells = grid
    return cells, (round(left), round(pitch * cells))
