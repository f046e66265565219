"""Small image operations shared by the reader, the binariser and the worker's previews."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt


def grouped(items: Sequence[int], pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """``items`` in groups: two items in one of ``pairs`` share a group, and so do items a chain
    of pairs links (the pair graph's connected components). Groups and their members come in
    the order of ``items``."""
    parent = {i: i for i in items}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in items:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def shrink(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Downscale to ``size`` (width, height) without aliasing, fast.

    Area-averaging by a whole factor takes OpenCV's fast path; linear interpolation does the
    rest (under 2×), after a [1, 2, 1] blur when no averaging came first, so that a 1-pixel
    rule falls on a sample. A fractional INTER_AREA costs 3-8× more: 23 ms against 3-8 ms for a
    200-dpi A4 page on one core.
    """
    h, w = image.shape[:2]
    if (w, h) == size:
        return image
    k = max(1, min(w // max(1, size[0]), h // max(1, size[1])))
    if k > 1:
        image = cv2.resize(
            image[: h // k * k, : w // k * k], (w // k, h // k), interpolation=cv2.INTER_AREA
        )
        if (image.shape[1], image.shape[0]) == size:
            return image
    else:
        image = cv2.GaussianBlur(image, (3, 3), 0)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def fit(image: npt.NDArray[np.uint8], long_side: int) -> tuple[npt.NDArray[np.uint8], float]:
    """``image`` shrunk (``shrink``) so its long side is at most ``long_side``, and the scale
    applied (1.0: the image itself, never enlarged)."""
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w, 1))
    if scale < 1.0:
        image = shrink(image, (max(1, round(w * scale)), max(1, round(h * scale))))
    return image, scale


def pad(mask: npt.NDArray[np.uint8], r: int) -> npt.NDArray[np.uint8]:
    """``mask`` with an ``r``-pixel border of zeros (``np.pad``'s result, 20× faster)."""
    return cv2.copyMakeBorder(mask, r, r, r, r, cv2.BORDER_CONSTANT, value=0)


def bridged(
    kept: npt.NDArray[np.uint8],
    taken: npt.NDArray[np.uint8],
    ink: npt.NDArray[np.uint8],
    gap: int,
) -> npt.NDArray[np.uint8]:
    """The ink of ``taken`` (printed lines taken off ``ink``, leaving ``kept``) where the kept
    handwriting closes across it along either axis within ``gap`` pixels: the strokes that
    cross a line, cut by its removal, joined again."""
    across = cv2.bitwise_or(
        cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((gap, 1), np.uint8)),
        cv2.morphologyEx(kept, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8)),
    )
    return cv2.bitwise_and(cv2.bitwise_and(across, taken), ink)


def open_line(
    mask: npt.NDArray[np.uint8], length: int, *, horizontal: bool
) -> npt.NDArray[np.uint8]:
    """``cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)`` with a one-pixel line ``length`` long
    (``horizontal``: a row of it), the same pixels.

    The opening keeps runs of ink at least ``length`` long, each row (column) opened on its own,
    so only the rows (columns) that can hold such a run are opened; the rest stay blank. At
    the mask's ends OpenCV's erosion takes the outside for ink, so a run there needs only the
    part of the line on its side of the anchor (``length // 2`` is the anchor): that many
    pixels of ink, not ``length``, make a row (column) worth opening.
    """
    kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
    least = min(length - length // 2, length // 2 + 1)
    if mask.shape[1 if horizontal else 0] < length:  # a window past both ends: no shortcut
        return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    # Ink pixels per line: sums of ones (numpy's count along an axis is 10-20x slower).
    ones = cv2.threshold(mask, 0, 1, cv2.THRESH_BINARY)[1]
    counts = cv2.reduce(ones, 1 if horizontal else 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    lines = np.flatnonzero(counts >= least)
    if len(lines) > OPEN_SHARE * len(counts):
        return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    out = np.zeros_like(mask)
    if not len(lines):
        return out
    if horizontal:
        out[lines] = cv2.morphologyEx(mask[lines], cv2.MORPH_OPEN, kernel)
    else:
        out[:, lines] = cv2.morphologyEx(mask[:, lines], cv2.MORPH_OPEN, kernel)
    return out


#: ``open_line`` opens the whole mask when more than this share of its lines hold enough ink.
OPEN_SHARE = 0.5


#: ``components_with_stats`` of a mask: count, labels, stats, centroids.
Components = tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]


def components_with_stats(mask: npt.NDArray[np.uint8]) -> Components:
    """``cv2.connectedComponentsWithStats(mask, 8)``: the same labels, statistics and centroids,
    up to 2× faster.

    OpenCV gathers the statistics pixel by pixel, paper included (7 ms of its 9 for a page of no
    known form on one core, whichever algorithm labels). So the labels alone come from Grana's
    block-based scan (2 ms) and the statistics from the ink pixels only (``_ink_stats``, 3 ms).
    That pays while ink is scarce; small or inky masks keep OpenCV's own statistics.
    """
    if mask.size >= STATS_MIN_PIXELS and cv2.countNonZero(mask) <= STATS_MAX_INK * mask.size:
        n, labels = cv2.connectedComponentsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
        got = _ink_stats(mask, labels, int(n))
        if got is not None:  # None: no paper at all, OpenCV's own figures for the empty label 0
            return int(n), labels, *got
    n, labels, stats, centroids = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_GRANA
    )
    return int(n), labels, stats, centroids


#: ``components_with_stats`` gathers the statistics itself from masks of this many pixels on,
#: with at most this share of ink (measured on one core: 2× faster on a page at 4 % ink, level
#: at 6 %, 30 % slower at 7-10 %; below 20,000 pixels numpy's per-call cost outweighs it).
STATS_MIN_PIXELS = 20_000
STATS_MAX_INK = 0.05


def _ink_stats(
    mask: npt.NDArray[np.uint8], labels: npt.NDArray[np.int32], n: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]] | None:
    """OpenCV's statistics and centroids of ``labels`` (``n`` of them, 0 the paper), exactly,
    from the coordinates of the ink pixels; None when there is no paper (label 0 empty).

    Centroids as OpenCV computes them: integer sums of the coordinates over the area, divided
    in double precision (sums of integers in float64 are exact below 2**53). Label 0 is the
    rest of the mask: its sums are the whole mask's less the ink's.
    """
    h, w = mask.shape
    flat = np.flatnonzero(mask != 0)  # in raster order
    if len(flat) >= h * w:
        return None
    lab = labels.ravel()[flat]
    ys, xs = np.divmod(flat, w)
    stats = np.empty((n, 5), np.int32)
    area = np.bincount(lab, minlength=n)
    for axis, coord in ((0, xs), (1, ys)):
        lo = np.full(n, np.iinfo(np.int64).max, np.int64)
        hi = np.full(n, -1, np.int64)
        np.minimum.at(lo, lab, coord)
        np.maximum.at(hi, lab, coord)
        stats[:, axis] = lo
        stats[:, axis + 2] = hi - lo + 1
    stats[:, 4] = area
    centroids = np.empty((n, 2))
    centroids[:, 0] = np.bincount(lab, weights=xs, minlength=n)
    centroids[:, 1] = np.bincount(lab, weights=ys, minlength=n)
    centroids[1:] /= area[1:, None].astype(np.float64)
    # Label 0: the paper, every pixel the ink leaves.
    free_rows = np.flatnonzero(np.bincount(ys, minlength=h) < w)
    free_cols = np.flatnonzero(np.bincount(xs, minlength=w) < h)
    area0 = h * w - len(flat)
    stats[0] = (
        free_cols[0],
        free_rows[0],
        free_cols[-1] - free_cols[0] + 1,
        free_rows[-1] - free_rows[0] + 1,
        area0,
    )
    sum_x = h * (w * (w - 1) // 2) - int(xs.sum())
    sum_y = w * (h * (h - 1) // 2) - int(ys.sum())
    centroids[0] = (sum_x / area0, sum_y / area0)
    return stats, centroids


def sparse_components(mask: npt.NDArray[np.uint8]) -> Components:
    """``components_with_stats`` of a mask whose ink lies in few rows or columns (printed rules,
    the strokes near them): the same components with the same statistics, but numbered in an
    order of their own, and label 0's statistics and centroid left zero.

    The statistics cost by the pixel, paper included (6-11 ms a page), so the blank rows (and
    columns, when most are blank) are dropped before labelling, one kept between runs of ink so
    that nothing joins. A component spans no blank row or column, so its box maps back whole;
    the labels are put back in place. A mask with ink nearly everywhere is labelled as it is.
    """
    w = mask.shape[1]
    rows, cols = _rows_and_columns(mask)
    if not len(rows):
        return 1, np.zeros(mask.shape, np.int32), np.zeros((1, 5), np.int32), np.zeros((1, 2))
    if len(rows) * len(cols) > SPARSE_SHARE * mask.size:
        n, labels, stats, centroids = components_with_stats(mask)
        stats[0], centroids[0] = 0, 0.0
        return n, labels, stats, centroids
    picked = mask[rows] if len(cols) == w else mask[rows][:, cols]
    n, small, stats, centroids = components_with_stats(picked)
    labels = np.zeros(mask.shape, np.int32)
    if len(cols) == w:
        labels[rows] = small
    else:
        ys, xs, at = _ink_positions(picked, rows, cols)
        labels[ys, xs] = small.ravel()[at]
    stats[0], centroids[0] = 0, 0.0
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    for axis, kept in ((0, cols), (1, rows)):
        start = stats[1:, axis]
        shift = (kept[start] - start).astype(np.float64)
        # Centroids as OpenCV computes them: the sum of the coordinates over the area.
        total = np.rint(centroids[1:, axis] * area) + shift * area
        centroids[1:, axis] = total / area
        stats[1:, axis] = kept[start]
    return n, labels, stats, centroids


def sparse_labels(mask: npt.NDArray[np.uint8], box: tuple[slice, slice]) -> npt.NDArray[np.int32]:
    """The labels of ``mask``'s 8-connected components within ``box`` (``(rows, columns)``
    slices with plain bounds): what ``sparse_components(mask)[1][box]`` holds, numbered in an
    order of their own, without the statistics (a third of the labelling's cost) and without
    a label image the size of the mask. Components are found on the whole mask, so one that
    leaves the box and comes back keeps one label.
    """
    rows, cols = _rows_and_columns(mask)
    r0, r1, _ = box[0].indices(mask.shape[0])
    c0, c1, _ = box[1].indices(mask.shape[1])
    out = np.zeros((max(0, r1 - r0), max(0, c1 - c0)), np.int32)
    if not len(rows):
        return out
    w = mask.shape[1]
    picked = mask[rows] if len(cols) == w else mask[rows][:, cols]
    _, small = cv2.connectedComponentsWithAlgorithm(picked, 8, cv2.CV_32S, cv2.CCL_GRANA)
    ri = np.flatnonzero((rows >= r0) & (rows < r1))
    if len(cols) == w:  # whole rows: no gathering along them
        out[rows[ri] - r0] = small[ri, c0:c1]
        return out
    ys, xs, at = _ink_positions(picked, rows, cols)
    inside = (ys >= r0) & (ys < r1) & (xs >= c0) & (xs < c1)
    out[ys[inside] - r0, xs[inside] - c0] = small.ravel()[at[inside]]
    return out


def _ink_positions(
    picked: npt.NDArray[np.uint8], rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The ink of ``picked`` (``mask[rows][:, cols]``): its rows and columns in ``mask``, and
    its flat positions in ``picked``.

    Labels go back to the mask through these, ink pixel by ink pixel: everything else is
    label 0 either way, and the ink is a few percent of the pixels an ``np.ix_`` assignment
    walks (that cost 4 ms a call).
    """
    at = np.flatnonzero(picked != 0)
    r, c = np.divmod(at, picked.shape[1])
    return rows[r], cols[c], at


#: ``sparse_components`` labels the mask as it is when the rows and columns it keeps span more
#: than this share of it, and keeps every column when it would keep more than this share of
#: them (picking them costs more than the blank pixels they save).
SPARSE_SHARE = 0.5


def _rows_and_columns(
    mask: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The rows and columns ``sparse_components`` and ``sparse_labels`` label: those with ink
    and one blank after each run; every column when most would be kept (picking them costs
    more than it saves)."""
    rows = np.flatnonzero(_kept(cv2.reduce(mask, 1, cv2.REDUCE_MAX)[:, 0]))
    cols = np.flatnonzero(_kept(mask.max(axis=0)))
    w = mask.shape[1]
    if len(cols) > SPARSE_SHARE * w:
        cols = np.arange(w)
    return rows, cols


def _kept(line: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Rows (or columns) with ink, and the first blank one after each run of them."""
    ink = line > 0
    out = ink.copy()
    out[1:] |= ink[:-1]
    return out
