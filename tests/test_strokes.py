"""Crops made ready for the classifier: broken strokes rejoined, pen width brought to MNIST's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmentation.cuts import stroke_width
from segmentation.normalize import to_mnist
from segmentation.strokes import bridge_breaks, crop_ink, mnist_crops


@pytest.mark.parametrize("slant", [0, 6, -6])
@pytest.mark.parametrize("h", [40, 80])
def test_a_gap_cut_across_the_strokes_is_bridged(h: int, slant: int) -> None:
    """A ring cut through by a thin (slanted) gap comes out as one closed ring again."""
    img = np.zeros((h + 10, h + 10), np.uint8)
    cv2.ellipse(img, ((h + 10) // 2, (h + 10) // 2), (h // 3, h // 2 - 2), 0, 0, 360, 1, 3)
    y = (h + 10) // 2
    cv2.line(img, (0, y - slant), (h + 10, y + slant), 0, max(2, h // 25))
    assert cv2.connectedComponents(img)[0] - 1 == 2
    out = bridge_breaks(img, h)
    assert cv2.connectedComponents(out)[0] - 1 == 1
    assert out.sum() - img.sum() < 0.1 * img.sum()  # the gap, not the ring's inside
    assert (out >= img).all()
    crop = crop_ink(img.astype(bool))  # the reader's crops go through the same repair
    assert cv2.connectedComponents((crop > 0).astype(np.uint8))[0] - 1 == 1


def test_bridging_leaves_digits_side_by_side_and_wide_gaps_apart() -> None:
    pair = np.zeros((60, 60), np.uint8)
    pair[5:55, 10:15] = 1
    pair[5:55, 35:40] = 1  # two bars side by side: no ink over one another
    np.testing.assert_array_equal(bridge_breaks(pair, 60), pair)
    apart = np.zeros((60, 20), np.uint8)
    apart[2:20, 8:12] = 1
    apart[40:58, 8:12] = 1  # a gap of a third of the height is not a break
    np.testing.assert_array_equal(bridge_breaks(apart, 60), apart)


@pytest.mark.parametrize("pen", [2, 4, 16, 28, 34])
def test_crop_ink_brings_any_pen_to_mnist_width(pen: int) -> None:
    """A fine pen is thickened and a felt marker thinned to about a ninth of the size."""
    img = np.zeros((130, 100), np.uint8)
    cv2.ellipse(img, (50, 65), (35, 55), 0, 0, 360, 1, pen)
    size = max(img.shape)
    before = stroke_width(img.astype(bool)) / size
    after = stroke_width(crop_ink(img.astype(bool)) > 0) / size
    assert 0.08 <= after <= 0.17
    assert abs(after - 0.11) < abs(before - 0.11) or 0.095 <= before <= 0.16


def test_mnist_crops_are_the_crops_of_crop_ink_and_to_mnist() -> None:
    """Fine, broad and broken pens, tiny and empty pieces, views into a bigger mask: the reader's
    batch gives exactly ``to_mnist(crop_ink(mask))`` for each."""
    masks = []
    for pen in (1, 3, 12, 30):
        img = np.zeros((90, 70), np.uint8)
        cv2.ellipse(img, (35, 45), (25, 38), 0, 0, 360, 1, pen)
        masks.append(img.astype(bool))
    ring = np.zeros((60, 60), np.uint8)
    cv2.ellipse(ring, (30, 30), (18, 26), 0, 0, 360, 1, 3)
    ring[29:32] = 0  # a gap across the strokes, bridged
    masks += [ring.astype(bool), ring.astype(bool)[5:50, 8:40], np.ones((6, 4), bool)]
    masks.append(np.zeros((20, 20), bool))
    out = mnist_crops(masks)
    assert out.shape == (len(masks), 28, 28)
    for m, crop in zip(masks, out, strict=True):
        np.testing.assert_array_equal(crop, to_mnist(crop_ink(m)))
