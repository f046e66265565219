"""Cut columns and the minimal-ink seams through them."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.cuts import between_loops, cut_positions, holes, seams


def _seam_one_by_one(mask: np.ndarray, x0: int, half: int) -> np.ndarray:
    """The seam as it was traced before ``seams``: one window, numpy row by row."""
    h, w = mask.shape
    lo, hi = max(1, x0 - half), min(w - 1, x0 + half)
    if hi < lo:
        return np.full(h, min(max(x0, 0), w), np.int64)
    cols = np.arange(lo, hi + 1)
    cost = mask[:, lo : hi + 1].astype(np.float32) + 0.05 * np.abs(cols - x0)[None, :]
    n = cost.shape[1]
    acc = np.empty_like(cost)
    acc[0] = cost[0]
    side = np.empty(n + 2, np.float32)
    side[0] = side[-1] = np.float32(1e9)
    for y in range(1, h):
        side[1:-1] = acc[y - 1]
        acc[y] = np.minimum(np.minimum(side[:-2], side[1:-1]), side[2:]) + cost[y]
    path = np.empty(h, np.int64)
    j = int(acc[-1].argmin())
    path[-1] = j
    for y in range(h - 2, -1, -1):
        a, b = max(0, j - 1), min(n, j + 2)
        j = a + int(acc[y, a:b].argmin())
        path[y] = j
    return path + lo


def test_seams_are_the_seams_traced_one_by_one() -> None:
    """Several windows at once, clipped ones at the sides and empty ones included."""
    rng = np.random.default_rng(7)
    for h, w in ((30, 40), (55, 23), (8, 60), (1, 12), (20, 2)):
        mask = rng.random((h, w)) > 0.55
        xs = [0, 1, w // 3, w // 2, w - 2, w - 1, w + 3]
        for half in (2, 5):
            got = seams(mask, xs, half)
            assert len(got) == len(xs)
            for x0, path in zip(xs, got, strict=True):
                np.testing.assert_array_equal(path, _seam_one_by_one(mask, x0, half))
                np.testing.assert_array_equal(seams(mask, [x0], half)[0], path)
    assert seams(np.zeros((5, 5), bool), [], 2) == []


def test_a_seam_goes_round_the_ink() -> None:
    """Two touching bars with a notch: the seam takes the notch, not the ink."""
    mask = np.zeros((20, 30), bool)
    mask[:, 8:22] = True
    mask[:, 14:16] = False  # the gap between two strokes, bridged at one row
    mask[10, 14:16] = True
    path = seams(mask, [13], 4)[0]
    assert not mask[np.arange(20), path][np.arange(20) != 10].any()


def _rings(shift: int, h: int = 40) -> np.ndarray:
    """Two 0s drawn as rings ``shift`` pixels apart (their width 24): overlapping when < 24."""
    img = np.zeros((h + 10, shift + 40), np.uint8)
    for cx in (17, 17 + shift):
        cv2.ellipse(img, (cx, 5 + h // 2), (12, h // 2), 0, 0, 360, 255, 3)
    return img > 0


def _closed_loops(mask: np.ndarray) -> int:
    return len(holes(mask, 40.0)[1])


def test_holes_are_the_loops_inside_paper() -> None:
    rings = _rings(14)  # overlapping: each ring's inside, and the lens between them
    inside, loops = holes(rings, 40.0)
    assert len(loops) == 3
    assert not (inside & rings).any()
    assert not inside[0].any() and not inside[:, 0].any()  # the paper outside is no loop
    assert len(holes(_rings(40), 40.0)[1]) == 2


def test_a_cut_parts_overlapping_loops_where_their_outline_pinches() -> None:
    """Two overlapping 0s: a column between their loops; a box with a tick across it (two
    loops, one unpinched outline) gets none."""
    rings = _rings(20)
    _, loops = holes(rings, 40.0)
    cols = between_loops(rings, loops)
    assert cols and all(22 <= x <= 34 for x in cols)  # about the crossings, x = 27
    assert set(cols) <= set(cut_positions(rings, 40.0, parting=cols))
    box = np.zeros((44, 44), bool)
    box[2:42, 2:42] = True
    box[5:39, 5:39] = False
    box[5:39, 21:23] = True  # the tick: a stroke down the middle
    assert len(holes(box, 40.0)[1]) == 2
    assert between_loops(box, holes(box, 40.0)[1]) == []


def test_a_seam_keeps_out_of_loops() -> None:
    """Cut between two overlapping 0s, the seam passes through their crossings and each side
    keeps a closed loop; tracing least ink alone it runs down the lens's side and cuts one."""
    rings = _rings(16)
    inside, loops = holes(rings, 40.0)
    (x,) = between_loops(rings, [b for b in loops if b[2] > 8])  # the 0s' insides, not the lens
    xs = np.arange(rings.shape[1])[None, :]
    for given, closed in ((inside, True), (None, False)):
        path = seams(rings, [x], 6, given)[0]
        left = rings & (xs < path[:, None])
        right = rings & (xs >= path[:, None])
        assert (_closed_loops(left) >= 1 and _closed_loops(right) >= 1) == closed
