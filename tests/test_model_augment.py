"""Training augmentation: page-style crops look like the reader's crops, and stay seeded."""

from __future__ import annotations

import numpy as np
import pytest

from model.training.augment import AugmentConfig, affine, augment, elastic, page_style, touching


def _centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0:28, 0:28]
    total = img.sum()
    return float((ys * img).sum() / total), float((xs * img).sum() / total)


@pytest.mark.parametrize("height", [(24.0, 24.0), (48.0, 48.0), (72.0, 72.0)])
def test_page_style_is_an_mnist_shaped_crop(
    mnist_sample: tuple[np.ndarray, np.ndarray], height: tuple[float, float]
) -> None:
    x, _ = mnist_sample
    cfg = AugmentConfig(height=height)
    rng = np.random.default_rng(0)
    for digit in x[:20]:
        crop = page_style(digit, rng, cfg)
        assert crop.shape == (28, 28) and crop.dtype == np.float32
        assert crop.min() >= 0.0 and crop.max() <= 1.0 and crop.max() > 0.5
        cy, cx = _centre_of_mass(crop)
        assert abs(cy - 13.5) < 1.0 and abs(cx - 13.5) < 1.0  # to_mnist centres the mass
        ys, xs = np.nonzero(crop > 0.05)
        assert max(np.ptp(ys), np.ptp(xs)) <= 21  # fitted in 20×20 (+ anti-aliasing)


def test_page_style_crops_are_binarised_shapes_not_grey_strokes(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    """A thresholded mask, resampled: mostly full ink or none, unlike MNIST's soft grey edges."""
    x, _ = mnist_sample
    rng = np.random.default_rng(1)
    cfg = AugmentConfig(height=(60.0, 60.0))
    crops = np.stack([page_style(d, rng, cfg) for d in x[:50]])
    ink = crops[crops > 0.05]
    assert (ink > 0.9).mean() > 0.4


def test_augment_share_and_seed(mnist_sample: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = mnist_sample
    batch = x[:64]
    none = AugmentConfig(page_style=0.0)
    a = augment(batch, np.random.default_rng(5), none)
    np.testing.assert_array_equal(a, affine(batch, np.random.default_rng(5), none))
    full = AugmentConfig(page_style=1.0)
    b1 = augment(batch, np.random.default_rng(7), full)
    b2 = augment(batch, np.random.default_rng(7), full)
    np.testing.assert_array_equal(b1, b2)  # seeded: the same epoch comes out the same
    assert b1.shape == (64, 28, 28) and not np.allclose(b1, a)


def test_affine_keeps_the_digit_on_the_canvas(mnist_sample: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = mnist_sample
    out = affine(x[:100], np.random.default_rng(3), AugmentConfig())
    kept = out.reshape(100, -1).sum(1) / (x[:100].reshape(100, -1).sum(1) / 255.0)
    assert kept.min() > 0.6  # at most 10 % shift and zoom: most ink stays in view


def test_elastic_warps_the_chosen_share_and_keeps_the_ink(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    x, _ = mnist_sample
    batch = x[:200].astype(np.float32) / 255
    warped = batch.copy()
    elastic(warped, np.random.default_rng(2), AugmentConfig(elastic=0.5))
    changed = np.abs(warped - batch).reshape(200, -1).max(1) > 0.2
    assert 0.35 < changed.mean() < 0.65  # about the share asked for, the rest untouched
    assert warped.min() >= 0.0 and warped.max() <= 1.0
    ink = warped[changed].reshape(changed.sum(), -1).sum(1)
    before = batch[changed].reshape(changed.sum(), -1).sum(1)
    assert np.all((ink > 0.4 * before) & (ink < 1.7 * before))  # a warp, not an erasure
    cy, cx = zip(*(_centre_of_mass(w) for w in warped[changed]), strict=True)
    assert np.all(np.abs(np.array(cy) - 14) < 4) and np.all(np.abs(np.array(cx) - 14) < 4)


def test_augment_applies_elastic_after_page_style(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    """Every digit warped: the batch differs from the unwarped one yet stays seeded."""
    x, _ = mnist_sample
    a = augment(x[:32], np.random.default_rng(9), AugmentConfig(page_style=0.3))
    c1 = augment(x[:32], np.random.default_rng(9), AugmentConfig(page_style=0.3, elastic=1.0))
    c2 = augment(x[:32], np.random.default_rng(9), AugmentConfig(page_style=0.3, elastic=1.0))
    np.testing.assert_array_equal(c1, c2)
    assert not np.allclose(a, c1)


def test_a_touching_neighbour_adds_a_strip_of_its_ink_beside_the_digit(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    x, _ = mnist_sample
    rng = np.random.default_rng(3)
    for digit, other in zip(x[:20], x[20:40], strict=True):
        big = digit.astype(np.float32) / 255
        out = touching(big, other, 1.0, rng)
        assert out.shape[0] == 28 and out.shape[1] > 28  # widened for the strip
        pad = (out.shape[1] - 28) // 2
        np.testing.assert_array_equal(
            np.maximum(out[:, pad : pad + 28], big), out[:, pad : pad + 28]
        )
        added = (out > 0.3).sum() - (big > 0.3).sum()
        assert 0 < added < (other > 76).sum()  # a strip of the neighbour, not all of it


def test_neighbours_only_touch_when_asked(mnist_sample: tuple[np.ndarray, np.ndarray]) -> None:
    x, _ = mnist_sample
    off = augment(x[:32], np.random.default_rng(9), AugmentConfig(page_style=1.0))
    same = augment(x[:32], np.random.default_rng(9), AugmentConfig(page_style=1.0, neighbour=0.0))
    on = augment(x[:32], np.random.default_rng(9), AugmentConfig(page_style=1.0, neighbour=1.0))
    np.testing.assert_array_equal(off, same)  # off draws nothing: seeded runs stay as they were
    assert not np.allclose(off, on)
