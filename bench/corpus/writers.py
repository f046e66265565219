"""Handwriting sources for the corpus: MNIST digits and handwriting fonts with stroke jitter.

A writer turns a digit into pen ink: a float alpha image ``height`` pixels tall (1 = full ink),
drawn with the page's ``Pen`` (ink colour and width). Pages paste it with multiply blending.

* ``mnist_writer("validation")`` writes MNIST validation digits (``load_mnist().x_val``): use it
  for every choice; ``mnist_writer("test")`` the test digits, only to report;
  ``mnist_writer("train")`` the training digits (to harvest crops for training only).
* ``font_writer("validation")`` writes with ``fonts.VALIDATION_FONTS``, ``font_writer("test")``
  with ``fonts.TEST_FONTS`` (both halves of ``HELD_OUT_FONTS``, never trained on);
  ``font_writer("train")`` with every training font (``TRAIN_FONTS`` and ``EXTRA_TRAIN_FONTS``).
  Each digit gets a random font of the set,
  size, slant (shear), elastic stroke jitter and pen width.
* ``source_writer(DigitSource)`` wraps any digit source (tests use the small ones).

Everything is a function of the rng passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from bench.corpus import fonts
from model.training.augment import jitter
from model.training.fonts import crop_to_ink, draw_glyph
from model.training.synthetic import DigitSource

Alpha = npt.NDArray[np.float32]

#: Ink colours (BGR): black, blue ballpoints, a grey pencil-like pen.
INKS: tuple[tuple[int, int, int], ...] = (
    (25, 25, 25),
    (40, 30, 30),
    (150, 60, 20),
    (170, 90, 40),
    (120, 40, 10),
    (110, 110, 110),
)


@dataclass(frozen=True)
class Pen:
    colour: tuple[int, int, int]
    width: int  # -1 thinner, 0 as drawn, 1..2 wider (pixels of dilation at 200 dpi)
    pressure: float  # peak ink opacity


def random_pen(rng: np.random.Generator) -> Pen:
    return Pen(
        INKS[int(rng.integers(0, len(INKS)))],
        int(rng.choice([-1, 0, 0, 1, 1, 2])),
        float(rng.uniform(0.8, 0.97)),
    )


def _pen_width(alpha: Alpha, width: int) -> Alpha:
    if width == 0:
        return alpha
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(width) + 1, 2 * abs(width) + 1))
    return (cv2.dilate(alpha, k) if width > 0 else cv2.erode(alpha, k)).astype(np.float32)


def _fit_height(a: Alpha, height: int) -> Alpha:
    a = crop_to_ink(a, 0.1)
    scale = height / a.shape[0]
    width = max(2, round(a.shape[1] * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.clip(cv2.resize(a, (width, height), interpolation=interp), 0, 1).astype(np.float32)


class Writer:
    """Base: ``name`` and ``glyph(digit, height, pen, rng)``; ``picked`` traces the source."""

    name = "writer"

    def glyph(self, digit: int, height: int, pen: Pen, rng: np.random.Generator) -> Alpha:
        raise NotImplementedError


class SourceWriter(Writer):
    """Digits from a ``DigitSource`` (MNIST or a test source), scaled to pen-sized strokes."""

    def __init__(self, source: DigitSource, name: str) -> None:
        self.source = source
        self.name = name

    def glyph(self, digit: int, height: int, pen: Pen, rng: np.random.Generator) -> Alpha:
        img = self.source.image(self.source.pick_index(digit, rng))
        big = _fit_height(img, height)
        # MNIST strokes scaled up are too fat for a pen at 200 dpi: thin them a little.
        big = np.clip((big - rng.uniform(0.25, 0.45)) * 2.5, 0, 1).astype(np.float32)
        return _pen_width(big, pen.width)


def source_writer(source: DigitSource, name: str = "source") -> SourceWriter:
    return SourceWriter(source, name)


@lru_cache(maxsize=2)
def _mnist(split: str) -> DigitSource:
    from model.training.data import load_mnist

    m = load_mnist()
    if split == "validation":
        return DigitSource(m.x_val, m.y_val)
    if split == "test":
        return DigitSource(m.x_test, m.y_test)
    if split == "train":
        return DigitSource(m.x_train, m.y_train)
    raise ValueError(f"MNIST split {split!r}: 'train', 'validation' or 'test'")


def mnist_writer(split: str) -> SourceWriter:
    return SourceWriter(_mnist(split), f"mnist-{split}")


class FontWriter(Writer):
    """Digits in handwriting fonts: random font, size, slant, elastic jitter and pen width."""

    def __init__(self, names: tuple[str, ...], name: str, paths: list[Path] | None = None):
        self.fonts = names
        self.paths = [str(p) for p in (paths or fonts.font_paths(names))]
        self.name = name

    def glyph(self, digit: int, height: int, pen: Pen, rng: np.random.Generator) -> Alpha:
        path = self.paths[int(rng.integers(0, len(self.paths)))]
        size = 2 * height + int(rng.integers(-8, 9))  # drawn at twice the size, then shrunk
        a = crop_to_ink(draw_glyph(path, digit, size), 0.05)
        pad = max(8, a.shape[0] // 3)
        a = cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        h, w = a.shape
        shear = float(rng.uniform(-0.35, 0.15))  # most people slant right
        m = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], np.float32)
        m[:, :2] *= [[rng.uniform(0.85, 1.15)], [1.0]]  # narrower or wider hands
        a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR)
        a = jitter(a, rng, amount=float(rng.uniform(0.015, 0.04)) * h)
        a = _pen_width(a, 2 * pen.width)  # at twice the size
        return _fit_height(a, height)


def font_writer(split: str) -> FontWriter:
    names = {
        "train": fonts.TRAIN_FONTS + fonts.EXTRA_TRAIN_FONTS,
        "validation": fonts.VALIDATION_FONTS,
        "test": fonts.TEST_FONTS,
    }[split]
    return FontWriter(names, f"fonts-{split}")


def make_writer(kind: str, split: str) -> Writer:
    """``kind`` "mnist" or "fonts"; ``split`` "validation" (choices), "test" (reporting) or
    "train" (training data only)."""
    return mnist_writer(split) if kind == "mnist" else font_writer(split)
