"""to_mnist: MNIST's normalisation (fit in 20×20, centre of mass at the centre), any shape."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.normalize import FIT, SIZE, masks_to_mnist, to_mnist

SHAPES = [(40, 2), (40, 4), (2, 40), (60, 3), (1, 1), (28, 28), (90, 35), (7, 80)]


@pytest.mark.parametrize("shape", SHAPES)
def test_mass_is_centred_and_fits(shape: tuple[int, int]) -> None:
    ink = np.zeros((shape[0] + 10, shape[1] + 10), np.uint8)
    ink[5 : 5 + shape[0], 7 : 7 + shape[1]] = 255  # off-centre in its array
    out = to_mnist(ink)
    assert out.shape == (SIZE, SIZE) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    ys, xs = np.indices(out.shape)
    total = out.sum()
    assert abs((ys * out).sum() / total - (SIZE - 1) / 2) < 0.5
    assert abs((xs * out).sum() / total - (SIZE - 1) / 2) < 0.5
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= FIT + 2  # bilinear shift bleeds 1 px


def test_no_ink_gives_an_empty_crop() -> None:
    assert not to_mnist(np.zeros((12, 9), np.uint8)).any()


def test_masks_to_mnist_matches_to_mnist_crop_by_crop() -> None:
    """The batch path gives exactly ``to_mnist``'s crops of the same masks, empty ones included."""
    rng = np.random.default_rng(3)
    masks = [(rng.random(shape) > 0.6).astype(np.uint8) for shape in SHAPES]
    masks.append(np.zeros((9, 14), np.uint8))
    masks.append(np.pad(np.ones((5, 3), np.uint8), ((4, 7), (2, 9)))[2:, 1:])  # a view, off-centre
    out = masks_to_mnist(masks)
    assert out.shape == (len(masks), SIZE, SIZE) and out.dtype == np.float32
    for m, crop in zip(masks, out, strict=True):
        np.testing.assert_array_equal(crop, to_mnist(m * 255))
    assert masks_to_mnist([]).shape == (0, SIZE, SIZE)
