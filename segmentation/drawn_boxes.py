"""Template-free: the page's drawn boxes, combs and long vertical lines, found among its
printed rules, that say which handwriting belongs together (``freeform.find_strings``): what is
written in one box is one number, far-apart comb cells included; a table's column line parts
the numbers either side of it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from digitize.types import Box
from segmentation.comb_cells import MIN_CELLS, PITCH, Grid, divider_grid
from segmentation.imageops import open_line, sparse_components
from segmentation.printed_rules import box_sides

U8 = npt.NDArray[np.uint8]


#: A printed vertical line at least this many digit heights long, and this share of the page's
#: long side, parts the ink either side (a comb's dividers and a box's sides are shorter).
WALL_LENGTH = 3.0
WALL_SHARE = 0.08
Wall = tuple[float, float, float]  # x centre, top, bottom
#: Inside one drawn box at most this many handwriting heights tall, strings join across gaps
#: up to ``BOX_REACH`` character heights (a comb's cells, a box written in with spaces).
BOX_ROW, BOX_REACH = 3.0, 4.0


def _line_rows(m: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The ink of each row of a drawn box's print ``m``, and the rows of its lines (at least
    half the fullest row's ink: a frame's roof and floor, a comb's base line)."""
    rows = m.sum(axis=1)
    return rows, np.flatnonzero(rows >= 0.5 * rows.max())


def _between_frame_lines(m: npt.NDArray[np.bool_], y: int, digit_height: float) -> tuple[int, int]:
    """A drawn box's rows from its top line to its bottom line (``m``: its print, from row
    ``y``): a stroke of print that rises past the frame (a caption's letter drawn on to a
    divider) is not inside it."""
    rows, line = _line_rows(m)
    if line[-1] - line[0] < 0.5 * digit_height:  # one line left: the other side broke
        return y, y + len(rows)
    return y + int(line[0]), y + int(line[-1]) + 1


def walls_and_boxes(
    rules: U8, digit_height: float
) -> tuple[list[Wall], list[Box], list[tuple[Box, Grid]]]:
    """The long vertical lines among the printed rules (a table's column lines, a gutter), and
    the ends of every drawn box and comb of ticks: what is written in one is read apart from its
    neighbours; those boxes themselves (a comb's cells keep its digits far apart); and the combs
    among them with their cells (page pixels)."""
    length = max(round(WALL_SHARE * max(rules.shape)), round(WALL_LENGTH * digit_height))
    lines = open_line(rules, length, horizontal=False)
    n, _, st, _ = sparse_components(lines)
    walls = [
        (st[i, 0] + st[i, 2] / 2, float(st[i, 1]), float(st[i, 1] + st[i, 3])) for i in range(1, n)
    ]
    boxes: list[Box] = []
    combs: list[tuple[Box, Grid]] = []
    n, lab, st, _ = sparse_components(rules)
    # Narrower than a digit's height: no box, comb or comb of ticks (each is wider), so its
    # print is not looked at (most of a page's rules are such pieces).
    for i in np.flatnonzero(st[1:, 2] >= digit_height) + 1:
        x, y, w, h, _ = st[i]
        m = lab[y : y + h, x : x + w] == i
        wide = w >= MIN_CELLS * PITCH[0] * digit_height
        grid = divider_grid(m, digit_height) if wide and h <= BOX_ROW * digit_height else None
        top, bottom = int(y), int(y + h)
        # A box, or a comb's frame (its dividers found, though the scan broke a side) ...
        framed = min(w, h) >= digit_height and box_sides(m)[1]
        if framed or (grid is not None and h > 1.2 * digit_height):
            top, bottom = _between_frame_lines(m, y, digit_height)
        else:
            if not (
                w >= 3 * digit_height
                and h <= 1.2 * digit_height
                and (grid is not None or _ticked_at_both_ends(m, digit_height))
            ):
                continue
            # ... or a comb of ticks: its writing stands on the line, where its ticks rise to.
            rows, line = _line_rows(m)  # the base line's rows
            if rows[: line[0]].sum() >= rows[line[-1] + 1 :].sum():
                top = max(0, round(y + h - COMB_HEIGHT * digit_height))
            else:  # upside down
                bottom = min(rules.shape[0], round(y + COMB_HEIGHT * digit_height))
        walls += [(float(x), float(top), float(bottom)), (float(x + w), float(top), float(bottom))]
        boxes.append((int(x), top, int(w), bottom - top))
        if grid is not None:
            combs.append((boxes[-1], (x + grid[0], grid[1], grid[2])))
    return walls, boxes, combs


def comb_cells_of(box: Box, digit_height: float, combs: list[tuple[Box, Grid]]) -> Grid | None:
    """The cells of the comb a string is written in (x from the string's box), if any: the
    string's middle lies in the comb and its cells are about a digit of the string wide."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    for (bx, by, bw, bh), (left, pitch, cells) in combs:
        if (
            bx <= cx <= bx + bw
            and by <= cy <= by + bh
            and PITCH[0] * digit_height <= pitch <= PITCH[1] * digit_height
        ):
            return left - x, pitch, cells
    return None


#: A comb drawn as a line with ticks: what is written on it stands this many digit heights tall.
COMB_HEIGHT = 1.6


def _ticked_at_both_ends(m: npt.NDArray[np.bool_], digit_height: float) -> bool:
    """A rule with a tick rising at each end (a comb of ticks): its ends bound the writing on it,
    so a caption printed just before it is not read with the number."""
    cols = m.sum(axis=0)
    pen = float(np.median(cols))
    end = max(2, round(0.02 * m.shape[1]))
    rise = pen + 0.2 * digit_height
    return bool(cols[:end].max() >= rise and cols[-end:].max() >= rise)


Centres = float | npt.NDArray[np.float64]


def in_one_box(
    boxes: list[Box], ax: Centres, ay: Centres, bx: Centres, by: Centres
) -> npt.NDArray[np.bool_]:
    """Whether centre (ax, ay) and centre (bx, by) (pair by pair) lie in one drawn box of one
    row's height (a comb, a box for one number; not a table, whose rows share its frame)."""
    ax, ay, bx, by = (np.asarray(v, np.float64) for v in (ax, ay, bx, by))
    out = np.zeros(np.broadcast(ax, bx).shape, bool)
    for x, y, w, h in boxes:
        in_a = (x <= ax) & (ax <= x + w) & (y <= ay) & (ay <= y + h)
        out |= in_a & (x <= bx) & (bx <= x + w) & (y <= by) & (by <= y + h)
    return out


def wall_between(walls: list[Wall], ax: Centres, ay: Centres, bx: Centres, by: Centres
            ) -> npt.NDArray[np.bool_]:  # fmt: skip
    """Whether a wall stands between centre (ax, ay) and centre (bx, by) (pair by pair)."""
    ax, ay, bx, by = (np.asarray(v, np.float64) for v in (ax, ay, bx, by))
    lo, hi, mid = np.minimum(ax, bx), np.maximum(ax, bx), (ay + by) / 2
    out = np.zeros(lo.shape, bool)
    for wx, top, bottom in walls:
        out |= (lo < wx) & (wx < hi) & (top <= mid) & (mid <= bottom)
    return out
