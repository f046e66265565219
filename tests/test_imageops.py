"""``segmentation.imageops``: the fast downscale and border the reader and previews use."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.imageops import components_with_stats, fit, pad, shrink


@pytest.mark.parametrize(
    ("shape", "side"),
    [
        ((2673, 1943), 1400),  # a preview
        ((1000, 700), 1400),
        ((3508, 2480), 1400),
        ((1201, 3000), 1400),
        ((2339, 1654), 320),  # a binariser's paper estimate
        ((2673, 1943), 1800),  # a page of no known form, under 2x
    ],
)
def test_shrink_keeps_thin_lines(shape: tuple[int, int], side: int) -> None:
    """The fast two-step downscale keeps 1-pixel printed rules, as INTER_AREA does."""
    h, w = shape
    img = np.full(shape, 235, np.uint8)
    step = max(8, w // 40)
    img[:, ::step] = 20  # 1-pixel vertical rules: the first thing aliasing loses
    scale = min(1.0, side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    got = shrink(img, size)
    assert got.shape == (size[1], size[0])
    assert abs(float(got.mean()) - float(img.mean())) < 2  # ink is averaged, not dropped
    row = got[got.shape[0] // 2].astype(int)
    for x in range(0, w, step):  # each rule still darkens its column
        c = min(round(x * scale), size[0] - 1)
        assert row[max(0, c - 1) : c + 2].min() < 235 - 40 * scale, x


def test_shrink_to_its_own_size_is_the_image() -> None:
    img = np.arange(35, dtype=np.uint8).reshape(5, 7)
    assert np.array_equal(shrink(img, (7, 5)), img)


@pytest.mark.parametrize("r", [1, 3])
def test_pad_is_numpys(r: int) -> None:
    mask = (np.random.default_rng(r).random((9, 13)) > 0.5).astype(np.uint8)
    assert np.array_equal(pad(mask, r), np.pad(mask, r))
    assert np.array_equal(pad(mask[2:7, 3:11], r), np.pad(mask[2:7, 3:11], r))  # a view too


@pytest.mark.parametrize("shape", [(1800, 1368), (300, 200), (37, 23)])
def test_components_are_opencvs_default_labelling(shape: tuple[int, int]) -> None:
    import cv2

    rng = np.random.default_rng(shape[0])
    blobs = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 2) > 0.55
    mask = blobs.astype(np.uint8) * 255
    n, labels, stats, centroids = components_with_stats(mask)
    n0, labels0, stats0, centroids0 = cv2.connectedComponentsWithStats(mask, 8)
    assert n == n0 > 2
    assert np.array_equal(labels, labels0) and np.array_equal(stats, stats0)
    assert np.allclose(centroids, centroids0)
    view = mask[5:-3, 4:-2]  # a view into a larger page, as field regions are
    assert np.array_equal(
        components_with_stats(view)[1], cv2.connectedComponentsWithStats(view, 8)[1]
    )


@pytest.mark.parametrize("share", [0.0, 0.01, 0.04, 0.2])
def test_components_statistics_are_opencvs_exactly(share: float) -> None:
    """Sparse ink (statistics gathered from the ink pixels) and inky masks (OpenCV's own) give
    OpenCV's labels, statistics and centroids bit for bit, label 0 (the paper) included; so do
    a view into a page and a mask with ink in its first and last rows and columns."""
    import cv2

    from segmentation.imageops import STATS_MAX_INK, STATS_MIN_PIXELS

    rng = np.random.default_rng(int(share * 100))
    shape = (900, 700)
    mask = np.zeros(shape, np.uint8)
    while cv2.countNonZero(mask) < share * mask.size:  # strokes and specks up to the share
        y, x = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
        mask[y : y + int(rng.integers(1, 40)), x : x + int(rng.integers(1, 6))] = 255
    mask[0, :5] = mask[-1, -3:] = mask[:7, 0] = mask[-2:, -1] = 255
    assert mask.size >= STATS_MIN_PIXELS
    for m in (mask, mask[3:-5, 2:-4]):
        got = components_with_stats(m)
        want = cv2.connectedComponentsWithStats(m, 8)
        assert got[0] == want[0] and np.array_equal(got[1], want[1])
        assert got[2].dtype == want[2].dtype and np.array_equal(got[2], want[2])
        assert np.array_equal(got[3], want[3])  # exactly, not within a tolerance
    assert (cv2.countNonZero(mask) <= STATS_MAX_INK * mask.size) == (share <= STATS_MAX_INK)


def test_ink_statistics_of_a_page_of_ink() -> None:
    """``_ink_stats`` itself, where ink leaves paper only in a corner (label 0's box and centroid
    are that corner's), and None where no paper is left (OpenCV's figures are taken then)."""
    import cv2

    from segmentation.imageops import _ink_stats

    full = np.full((60, 80), 255, np.uint8)
    full[:3, -2:] = 0
    full[30] = 0  # a cut: two components
    n, labels, stats0, centroids0 = cv2.connectedComponentsWithStats(full, 8)
    got = _ink_stats(full, labels, n)
    assert got is not None and n == 3
    assert np.array_equal(got[0], stats0) and np.array_equal(got[1], centroids0)
    assert _ink_stats(np.full((5, 5), 255, np.uint8), np.ones((5, 5), np.int32), 2) is None


@pytest.mark.parametrize(
    ("shape", "side", "expected"),
    [
        ((2339, 1654), 1800, (1800, 1273)),  # portrait: the height is the long side
        ((1654, 2339), 400, (283, 400)),  # landscape
        ((900, 600), 1800, (900, 600)),  # small enough already: returned as it is
    ],
)
def test_fit_bounds_the_long_side(
    shape: tuple[int, int], side: int, expected: tuple[int, int]
) -> None:
    img = np.full(shape, 200, np.uint8)
    out, scale = fit(img, side)
    assert out.shape == expected
    assert max(out.shape) <= side
    if out.shape == shape:
        assert out is img and scale == 1.0
    else:
        assert scale == pytest.approx(side / max(shape))


def _rules_or_specks(seed: int) -> np.ndarray:
    """A 400 × 300 mask of a dozen rules in few rows (seed % 3 == 0), in few columns (1), or of
    specks everywhere (2)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((400, 300), np.uint8)
    for _ in range(12):
        y, x = int(rng.integers(0, 400)), int(rng.integers(0, 300))
        if seed % 3 == 0:
            mask[y : y + int(rng.integers(1, 4)), x : x + int(rng.integers(5, 200))] = 255
        elif seed % 3 == 1:
            mask[y : y + int(rng.integers(5, 200)), x : x + int(rng.integers(1, 4))] = 255
        else:
            mask |= (rng.random(mask.shape) > 0.995).astype(np.uint8) * 255
    return mask


@pytest.mark.parametrize("seed", range(6))
def test_sparse_components_are_the_same_components(seed: int) -> None:
    """The same components with the same statistics as ``components_with_stats``, numbered
    in an order of their own: rules in few rows (rows dropped), few columns (columns dropped
    too), and specks everywhere (labelled as it is)."""
    import cv2

    from segmentation.imageops import sparse_components

    mask = _rules_or_specks(seed)
    n, labels, stats, centroids = sparse_components(mask)
    n0, labels0, stats0, centroids0 = cv2.connectedComponentsWithStats(mask, 8)
    assert n == n0 > 1
    # One label to one label, and each component's statistics and centroid exactly.
    pairs = np.unique(np.stack([labels.ravel(), labels0.ravel()]), axis=1)
    assert pairs.shape[1] == n and np.array_equal(pairs[0] == 0, pairs[1] == 0)
    for a, b in pairs.T[1:]:
        assert np.array_equal(stats[a], stats0[b])
        assert np.array_equal(centroids[a], centroids0[b])


@pytest.mark.parametrize("seed", range(6))
def test_sparse_labels_are_the_components_within_a_box(seed: int) -> None:
    """The labels of the whole mask's components cut to a box, one label to one label with
    OpenCV's: a U-shaped rule leaving the box and coming back keeps one label; an empty box
    and a mask without ink give zeros."""
    import cv2

    from segmentation.imageops import sparse_labels

    mask = _rules_or_specks(seed)
    mask[100:103, 20:200] = 255  # a U: two arms in the box, joined below it
    mask[100:300, 20:23] = 255
    mask[100:300, 197:200] = 255
    mask[297:300, 20:200] = 255
    box = (slice(50, 250), slice(10, 280))
    labels = sparse_labels(mask, box)
    full = cv2.connectedComponents(mask, connectivity=8)[1][box]
    assert labels.shape == full.shape and labels.dtype == np.int32
    pairs = np.unique(np.stack([labels.ravel(), full.ravel()]), axis=1)
    assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]
    assert np.array_equal(pairs[0] == 0, pairs[1] == 0)
    assert labels[100, 11] == labels[100, 188] > 0  # (150, 21) and (150, 198) of the mask
    assert not sparse_labels(mask, (slice(5, 5), slice(0, 300))).size
    assert not sparse_labels(np.zeros_like(mask), box).any()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("horizontal", [True, False])
def test_open_line_is_opencvs_opening(seed: int, horizontal: bool) -> None:
    """The pixels of ``cv2.morphologyEx``'s opening by a line, whatever the mask: runs at its
    ends (half a line counts there), grey values, a mask narrower than the line, lines of odd
    and even length, few lines inked (the shortcut) and many (the whole mask opened)."""
    import cv2

    from segmentation.imageops import open_line

    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(20, 160, 2))
    mask = np.zeros((h, w), np.uint8)
    value = 255 if seed % 2 else int(rng.integers(1, 256))
    for _ in range(int(rng.integers(1, 4 if seed < 4 else 60))):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        if horizontal:
            mask[y, max(0, x - int(rng.integers(5, 60))) : x + 1] = value
            mask[y, : int(rng.integers(8, 40))] = value  # a run from the left end
        else:
            mask[max(0, y - int(rng.integers(5, 60))) : y + 1, x] = value
            mask[h - int(rng.integers(8, 40)) :, x] = value  # a run to the bottom end
    mask |= (rng.random(mask.shape) > 0.97).astype(np.uint8) * 7
    for length in (3, 16, 17, 30, 31, 200):
        kernel = np.ones((1, length) if horizontal else (length, 1), np.uint8)
        expected = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        assert np.array_equal(open_line(mask, length, horizontal=horizontal), expected)


def test_ink_positions_map_picked_ink_back() -> None:
    """``_ink_positions``: every ink pixel of the picked rows and columns, at its place in the
    mask, in the picked image's raster order; blank pixels left out."""
    from segmentation.imageops import _ink_positions

    mask = np.zeros((9, 12), np.uint8)
    mask[1, 2] = mask[1, 3] = mask[6, 10] = mask[7, 2] = 255
    rows, cols = np.array([1, 2, 6, 7]), np.array([2, 3, 4, 10, 11])
    ys, xs, at = _ink_positions(mask[rows][:, cols], rows, cols)
    assert ys.tolist() == [1, 1, 6, 7] and xs.tolist() == [2, 3, 10, 2]
    assert at.tolist() == [0, 1, 13, 15]  # flat positions in the 4×5 picked image


def test_grouped_joins_chains_of_pairs_in_the_items_order() -> None:
    from segmentation.imageops import grouped

    assert grouped([5, 1, 7, 3, 9], [(7, 3), (9, 1), (3, 5)]) == [[5, 7, 3], [1, 9]]
    assert grouped([2, 4], []) == [[2], [4]]
