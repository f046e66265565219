"""Training digits drawn in handwriting fonts: rendering, the split, and training without npm.

No network: the renderer is fed OpenCV's Hershey faces, and fetching is made to fail.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from model.training import fonts

HERSHEY = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX]


def test_held_out_fonts_are_never_training_fonts() -> None:
    assert set(fonts.ALL_TRAIN_FONTS).isdisjoint(fonts.HELD_OUT_FONTS)
    assert len(set(fonts.ALL_TRAIN_FONTS)) == len(fonts.ALL_TRAIN_FONTS) >= 40
    assert fonts.VALIDATION_FONTS == ("homemade-apple", "reenie-beanie", "covered-by-your-grace")
    assert fonts.TEST_FONTS == ("nanum-pen-script", "rock-salt", "permanent-marker")
    with pytest.raises(ValueError, match="held-out"):
        fonts.available_fonts(("caveat", "rock-salt"))


@pytest.mark.parametrize("page_style", [False, True])
def test_render_digit_is_an_mnist_style_crop(page_style: bool) -> None:
    rng = np.random.default_rng(0)
    for digit in range(10):
        crop = fonts.render_digit(HERSHEY[digit % 3], digit, rng, page_style=page_style)
        assert crop.shape == (28, 28) and crop.dtype == np.float32
        assert crop.min() >= 0.0 and crop.max() == pytest.approx(1.0, abs=0.02)
        ys, xs = np.nonzero(crop > 0.05)
        assert max(np.ptp(ys), np.ptp(xs)) >= 17  # fitted to MNIST's 20-px box
        assert crop[:2].sum() == crop[-2:].sum() == 0  # a border of paper, as MNIST has


def test_font_digits_balanced_seeded_and_varied() -> None:
    x, y = fonts.font_digits(HERSHEY, 200, seed=3)
    assert x.shape == (200, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [20] * 10
    x2, y2 = fonts.font_digits(HERSHEY, 200, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    fives = x[y == 5].astype(np.float32)
    assert np.abs(fives[0] - fives[1:]).mean() > 5  # jittered: no two copies alike
    empty, labels = fonts.font_digits([], 10, seed=1)
    assert empty.shape == (0, 28, 28) and labels.shape == (0,)


def test_without_npm_training_fonts_are_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Any] = []

    def no_npm(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise OSError("npm: not found")

    monkeypatch.setattr(subprocess, "run", no_npm)
    monkeypatch.setattr(fonts, "cache_dir", lambda: tmp_path)
    fonts.font_path.cache_clear()
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        x, y = fonts.training_font_digits(50, seed=1)
    assert x.shape == (0, 28, 28) and y.shape == (0,)
    assert len(calls) == 1  # one failed fetch: the rest are not tried
    assert "cannot fetch fonts" in caplog.text and "MNIST alone" in caplog.text
    fonts.font_path.cache_clear()


def test_build_sets_mixes_font_digits_into_training(
    mnist_sample: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from model.training import train
    from model.training.data import Mnist

    monkeypatch.setattr(
        train, "training_font_digits", lambda n, seed: fonts.font_digits(HERSHEY, n, seed)
    )
    x, y = mnist_sample
    data = Mnist(x[:400], y[:400], x[400:], y[400:], x, y)
    cfg = train.TrainConfig(font_digits=100, train_fragments=30, val_fragments=20)
    sets = train.build_sets(data, cfg)
    xt, yt = sets["train"]
    assert len(xt) == len(yt) == 400 + 100 + 30
    assert (yt[:400] == y[:400]).all() and (yt[400:500] < 10).all() and (yt[500:] == 10).all()
    none = train.build_sets(data, train.TrainConfig(font_digits=0, train_fragments=30))
    assert len(none["train"][1]) == 430
