"""Where to cut touching digits: candidate columns and minimal-ink seams through them.

Cuts are proposed generously (over-segmentation): minima of the vertical ink projection that
cross at most a couple of strokes, valleys of the upper contour and peaks of the lower one. Each
is traced top to bottom as the seam crossing the least ink near it, so slanted and overlapping
digits come apart along their real boundary rather than a straight line. Loops are kept whole:
two loops side by side in a pinched outline (overlapping zeros) get a cut between them, and a
seam pays for crossing a loop's inside as for ink.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.bool_]
_K3 = np.ones((3, 3), np.uint8)


def stroke_width(mask: Mask) -> float:
    """Mean stroke width of some ink: 2 × area / boundary length."""
    m = mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)
    area = cv2.countNonZero(m)
    # The boundary: the ink the erosion takes (it only ever takes ink away).
    edge = area - cv2.countNonZero(cv2.erode(m, _K3, borderValue=0))
    return 2.0 * area / max(edge, 1)


Loop = tuple[int, int, int, int]  #: the box of the paper a loop encloses


def holes(mask: Mask, href: float) -> tuple[Mask, list[Loop]]:
    """The paper a blob encloses (its loops' insides: 4-connected paper that does not reach the
    mask's rim), and the boxes of the enclosures at least ``LOOP_SIZE`` digit heights tall."""
    paper = np.pad(~mask, 1, constant_values=True).view(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    inside = labels[1:-1, 1:-1] != labels[0, 0]
    inside &= ~mask
    boxes = [
        (int(x) - 1, int(y) - 1, int(w), int(h))
        for k, (x, y, w, h, _a) in enumerate(stats.tolist())
        if k and k != labels[0, 0] and h >= LOOP_SIZE * href
    ]
    return inside, boxes


#: An enclosure this tall (digit heights) or taller is a loop whose neighbour a cut may part.
LOOP_SIZE = 0.2
#: What a seam pays per pixel of a loop's inside it crosses (a pixel of ink costs 1): a seam
#: that enters a loop cuts it twice, and leaves two open pieces where there was a 0, 6, 8 or 9.
#: 2 read more chained amounts than 1 or 0.5 (docs/experiments.md).
LOOP_COST = 2.0


def between_loops(mask: Mask, boxes: list[Loop]) -> list[int]:
    """Columns between loops side by side where the outline pinches (dips from above or rises
    from below by ``PINCH`` stroke widths between them): where two overlapping digits' loops
    part. Two loops in one unpinched outline are one figure (a box with a tick in it, a slashed
    zero)."""
    if len(boxes) < 2:
        return []
    pinch = PINCH * stroke_width(mask)
    h = mask.shape[0]
    top = mask.argmax(axis=0)  # the first and the last inked row of each column
    bot = h - 1 - mask[::-1].argmax(axis=0)
    boxes = sorted(boxes, key=lambda b: b[0] + b[2] / 2)
    out = []
    for a, b in itertools.pairwise(boxes):
        if min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) <= 0:
            continue
        ca, cb = a[0] + a[2] // 2, b[0] + b[2] // 2
        if cb <= ca + 1:
            continue
        dip = int(top[ca:cb].max()) - max(int(top[ca]), int(top[cb]))
        rise = min(int(bot[ca]), int(bot[cb])) - int(bot[ca:cb].min())
        if max(dip, rise) >= pinch:
            out.append(round((a[0] + a[2] + b[0]) / 2))
    return out


def seams(
    mask: Mask, xs: list[int], half: int, inside: Mask | None = None
) -> list[npt.NDArray[np.int64]]:
    """For each of the columns ``xs``, the top-to-bottom path within ``half`` of it that crosses
    the least ink (one column per row), and the least of a loop's ``inside`` (``LOOP_COST`` a
    pixel) when given: their sums run side by side.

    Each seam's window of columns is one row of a stack (narrower windows, at the mask's sides,
    padded with a cost no path takes) and the minimum over each column and its two neighbours
    is one erosion of the stack, row of the mask by row; the paths are traced back in plain
    Python, which is faster than numpy over three numbers.
    """
    h, w = mask.shape
    out: list[npt.NDArray[np.int64]] = [np.empty(0, np.int64)] * len(xs)
    spans = []
    for k, x0 in enumerate(xs):
        lo, hi = max(1, x0 - half), min(w - 1, x0 + half)
        if hi < lo:
            out[k] = np.full(h, min(max(x0, 0), w), np.int64)
        else:
            spans.append((k, x0, lo, hi))
    if not spans:
        return out
    n = max(hi - lo + 1 for _, _, lo, hi in spans)
    cost = np.full((h, len(spans), n), _NO_PATH)
    ink = mask.astype(np.float32)
    if inside is not None:
        ink += LOOP_COST * inside
    for r, (_, x0, lo, hi) in enumerate(spans):
        cols = np.arange(lo, hi + 1)
        cost[:, r, : hi - lo + 1] = ink[:, lo : hi + 1] + 0.05 * np.abs(cols - x0)[None, :]
    acc = np.empty_like(cost)
    acc[0] = cost[0]
    for y in range(1, h):  # the neighbours' minimum taken in float32, the sum in float64
        np.add(cv2.erode(acc[y - 1].astype(np.float32), _ROW3), cost[y], out=acc[y])
    for r, (k, _, lo, hi) in enumerate(spans):
        width = hi - lo + 1
        table = acc[:, r, :width].tolist()
        last = table[h - 1]
        j = last.index(min(last))
        path = [0] * h
        path[-1] = j
        for y in range(h - 2, -1, -1):
            # The first least of columns j - 1, j, j + 1 (those inside the window).
            row, c = table[y], j
            if c:
                j, best = c - 1, row[c - 1]
                if row[c] < best:
                    j, best = c, row[c]
            else:
                best = row[c]
            if c + 1 < width and row[c + 1] < best:
                j = c + 1
            path[y] = j
        out[k] = np.array(path, np.int64) + lo
    return out


_ROW3 = np.ones((1, 3), np.uint8)  #: the minimum over a column and its two neighbours
_NO_PATH = 1e9


def _extrema(v: npt.NDArray[np.float32], size: int, minima: bool) -> npt.NDArray[np.bool_]:
    """Where ``v`` equals its own minimum (or maximum) over a window of ``2 * size + 1``."""
    k = np.ones((1, 2 * size + 1), np.uint8)
    row = v.reshape(1, -1)
    ref = cv2.erode(row, k) if minima else cv2.dilate(row, k)
    return np.abs(row - ref)[0] < 1e-3


def cut_positions(
    mask: Mask, href: float, near: list[int] | None = None, parting: list[int] | None = None
) -> list[int]:
    """Columns where a cut between two touching digits is likely (more than needed).

    Candidates: minima of the smoothed vertical projection, valleys of the upper contour and
    peaks of the lower contour; or, for comb fields, the cell borders given in ``near``. Besides
    those, the columns ``parting`` loops (``between_loops``): overlapping digits cross there,
    where the projection is high and the contours may not dip.
    """
    h, w = mask.shape
    margin = max(2, round(0.1 * href))
    if w <= 2 * margin:
        return []
    if near is not None:
        return [c for c in near if margin <= c <= w - margin]
    sw = stroke_width(mask)
    prof = cv2.blur(mask.sum(axis=0).astype(np.float32).reshape(1, -1), (3, 1))[0]
    has = mask.any(axis=0)
    # The first and the last inked row of each column (argmax: the first True).
    top = np.where(has, mask.argmax(axis=0), 0).astype(np.float32)
    bot = np.where(has, h - 1 - mask[::-1].argmax(axis=0), h).astype(np.float32)
    inner = np.zeros(w, bool)
    inner[margin : w - margin] = True
    cands: list[tuple[float, int]] = []
    low = inner & _extrema(prof, margin, True) & (prof <= min(0.5 * prof.max(), 2.5 * sw))
    cands += [(float(prof[x]) / h, int(x)) for x in np.flatnonzero(low)]
    valley = inner & _extrema(top, margin, False) & (top > top.min() + 0.2 * h)
    cands += [(0.5 - float(top[x] - top.min()) / h, int(x)) for x in np.flatnonzero(valley)]
    peak = inner & _extrema(bot, margin, True) & (bot < bot.max() - 0.2 * h)
    cands += [(0.5 - float(bot.max() - bot[x]) / h, int(x)) for x in np.flatnonzero(peak)]
    cands.sort()
    chosen: list[int] = []
    spacing = 0.15 * href
    limit = max(1, round(w / (0.4 * href)))
    for _, x in cands:
        if all(abs(x - c) >= spacing for c in chosen):
            chosen.append(x)
        if len(chosen) >= limit:
            break
    # Added, not ranked with the others: they must not crowd out a cut a little way off.
    for x in parting or []:
        if margin <= x <= w - margin and all(abs(x - c) > MIN_APART for c in chosen):
            chosen.append(x)
    return sorted(chosen)


PINCH = 0.5  #: stroke widths the outline dips between two loops for them to be two digits
MIN_APART = 2  #: a cut between loops this close (pixels) to another adds nothing
