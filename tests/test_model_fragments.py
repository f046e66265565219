"""Synthetic not-a-digit crops: normalised like real crops, seeded, every kind present."""

from __future__ import annotations

import cv2
import numpy as np

from model.training.fragments import KINDS, looks_like_a_one, make_fragments
from segmentation.normalize import to_mnist


def test_fragments_are_normalised_crops_and_reproducible(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    a, kinds = make_fragments(mnist_sample[0], 300, seed=3)
    b, _ = make_fragments(mnist_sample[0], 300, seed=3)
    c, _ = make_fragments(mnist_sample[0], 300, seed=4)
    assert a.shape == (300, 28, 28) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(kinds) == set(KINDS)


def test_upright_strokes_are_not_taught_as_rejects() -> None:
    upright = np.zeros((60, 60), np.uint8)
    cv2.line(upright, (28, 5), (33, 55), 255, 4)
    flat = np.zeros((60, 60), np.uint8)
    cv2.line(flat, (5, 30), (55, 33), 255, 4)
    assert looks_like_a_one(to_mnist(upright))
    assert not looks_like_a_one(to_mnist(flat))


def test_real_ones_look_like_ones_and_other_digits_mostly_do_not(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_sample
    flags = np.array([looks_like_a_one(im.astype(np.float32) / 255) for im in images])
    assert flags[labels == 1].mean() > 0.8
    assert flags[labels != 1].mean() < 0.1


def test_currency_signs_are_taught_as_no_digit(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    """A $, €, £ or ¥ before an amount is digit-sized: without being taught as a reject it reads
    as a sure 4, 8 or 9. Every sign drawn is a crop with ink, in a training font."""
    from model.training import fragments

    x, kinds = make_fragments(mnist_sample[0], 60, seed=1, kinds=("sign",))
    assert set(kinds) == {"sign"}
    assert all(crop.max() > 0.5 for crop in x)
    fonts = fragments._sign_fonts()
    if fonts:  # offline with no font cached, signs are OpenCV's printed $
        from model.training.fonts import HELD_OUT_FONTS

        assert not any(name in path for path, _ in fonts for name in HELD_OUT_FONTS)
