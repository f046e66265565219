"""Flagged 1s and crossed 7s drawn on training digits (``model.training.variants``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from model.training import variants
from model.training.train import TrainConfig, build_sets


def _one(slant: int = 0) -> np.ndarray:
    """A plain 1 as MNIST has it: a stroke in the 20-pixel box, centred."""
    a = np.zeros((28, 28), np.uint8)
    cv2.line(a, (14 + slant, 4), (14 - slant, 23), 255, 2, cv2.LINE_AA)
    return a


def _seven() -> np.ndarray:
    a = np.zeros((28, 28), np.uint8)
    cv2.line(a, (8, 5), (20, 5), 255, 2, cv2.LINE_AA)
    cv2.line(a, (20, 5), (12, 23), 255, 2, cv2.LINE_AA)
    return a


def test_a_flag_grows_from_the_top_down_to_the_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(variants, "UPSTROKE_SHARE", 0.0)
    rng = np.random.default_rng(0)
    for slant in (0, 3):
        plain = _one(slant)
        drawn = [variants.flagged_one(plain, rng) for _ in range(20)]
        flagged = [d for d in drawn if d is not None]
        assert len(flagged) >= 15
        for d in flagged:
            assert d.shape == (28, 28) and d.dtype == np.uint8
            ys, xs = np.nonzero(d > 60)
            top_x = xs[ys == ys.min()].mean()
            assert xs[ys < 14].min() < top_x - 2  # the flag hangs left of the top
            lower_left = d[24:, :7]  # the flag stops above the foot
            assert lower_left.max() < 128


def test_a_flag_too_flat_would_be_a_sevens_bar_and_is_not_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(variants, "UPSTROKE_SHARE", 0.0)
    # A stem leaning far to the left leaves no flag that is both to the left and steep.
    a = np.zeros((28, 28), np.uint8)
    cv2.line(a, (23, 6), (4, 20), 255, 2, cv2.LINE_AA)
    rng = np.random.default_rng(1)
    assert all(variants.flagged_one(a, rng) is None for _ in range(10))


def test_an_up_stroke_runs_beside_the_stem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(variants, "UPSTROKE_SHARE", 1.0)
    rng = np.random.default_rng(5)
    plain = _one()
    for _ in range(10):
        d = variants.flagged_one(plain, rng)
        assert d is not None
        assert (d > 60).sum() > (plain > 60).sum()  # a second stroke beside the stem
        ys, xs = np.nonzero(d > 60)
        assert np.ptp(ys) >= 17 and np.ptp(xs) < np.ptp(ys) / 2  # still a 1's tall, narrow shape


def test_a_seven_gets_a_bar_across_its_stem() -> None:
    rng = np.random.default_rng(2)
    plain = _seven()
    crossed = variants.crossed_seven(plain, rng)
    assert crossed is not None
    rows = (crossed > 100).sum(axis=1)
    plain_rows = (plain > 100).sum(axis=1)
    # a new wide row in the middle of the digit, where the plain 7 has only its stem
    assert rows[10:18].max() >= plain_rows[10:18].max() + 4


def test_variant_digits_are_seeded_and_labelled() -> None:
    x = np.stack([_one(), _one(2), _seven(), _seven()])
    y = np.array([1, 1, 7, 7])
    a, ya = variants.variant_digits(x, y, 30, seed=3)
    b, yb = variants.variant_digits(x, y, 30, seed=3)
    assert a.shape == (30, 28, 28) and np.array_equal(a, b) and np.array_equal(ya, yb)
    assert set(ya.tolist()) == {1, 7} and (ya == 1).sum() > (ya == 7).sum()
    assert variants.variant_digits(x, y, 0, seed=3)[0].shape == (0, 28, 28)


def test_training_set_holds_the_variants_when_asked() -> None:
    from model.training.data import Mnist

    rng = np.random.default_rng(4)
    digits = np.stack([_one(), _seven()] * 50)
    labels = np.array([1, 7] * 50)
    noise = rng.integers(0, 255, (20, 28, 28), dtype=np.uint8)
    data = Mnist(digits, labels, noise, np.zeros(20, np.int64), noise, np.zeros(20, np.int64))
    plain = build_sets(data, TrainConfig(limit=100))["train"]
    more = build_sets(data, TrainConfig(limit=100, variant_digits=40))["train"]
    assert len(more[1]) == len(plain[1]) + 40
