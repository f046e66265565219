"""Synthetic "not a digit" crops: what a page reader cuts out besides digits.

Over-segmentation and form residue produce specks, pieces of printed lines and box borders, two
touching digits, half a digit and printed letters. Each is drawn as ink and normalised with
``segmentation.normalize.to_mnist`` exactly like real crops, so the classifier sees them as the
pipeline will. Shapes that honestly look like a digit (a lone straight stroke is a "1") are
dropped rather than taught as rejects, which would cost false rejects on real digits.

A digit with a "1" written against it is no kind here: taught as a reject, it did not move the
review trade-off on validation pages (docs/experiments.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.normalize import to_mnist

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

#: Printed characters that do not read as a digit (no O o D Q I l i J j S s Z z B b G g q T t Y y).
LETTERS = "ACEFHKMNPRUVWXacdefhkmnpruvwx#+=%&@?*"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
#: Currency signs written before an amount (``$ 1.000.-``): digit-sized, and read as a 4, 8 or 9
#: when never taught as no digit (``bench/bench_amounts.py``).
SIGNS = "$€£¥"
KINDS = ("speck", "line", "border", "touching", "half", "letter", "sign", "empty")
WEIGHTS = np.array([0.12, 0.12, 0.16, 0.24, 0.18, 0.12, 0.04, 0.02])


def _speck(rng: np.random.Generator, digits: U8) -> U8:
    canvas = np.zeros((40, 40), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        c = (int(rng.integers(12, 28)), int(rng.integers(12, 28)))
        axes = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        cv2.ellipse(canvas, c, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    return canvas


def _line(rng: np.random.Generator, digits: U8) -> U8:
    canvas = np.zeros((100, 100), np.uint8)
    length = rng.uniform(15, 90)
    angle = np.deg2rad(rng.uniform(-12, 12))
    cx, cy = rng.uniform(40, 60, size=2)
    dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
    p1, p2 = (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy))
    cv2.line(canvas, p1, p2, 255, int(rng.integers(1, 5)))
    return canvas


def _border(rng: np.random.Generator, digits: U8) -> U8:
    """Corners, T-junctions, comb teeth and box outlines of printed forms."""
    canvas = np.zeros((100, 100), np.uint8)
    t = int(rng.integers(1, 4))
    x0, y0 = int(rng.integers(10, 40)), int(rng.integers(10, 40))
    w, h = int(rng.integers(20, 60)), int(rng.integers(12, 60))
    shape = int(rng.integers(0, 5))
    if shape == 0:  # corner
        cv2.line(canvas, (x0, y0), (x0 + w, y0), 255, t)
        cv2.line(canvas, (x0, y0), (x0, y0 + h), 255, t)
    elif shape == 1:  # T junction
        cv2.line(canvas, (x0, y0), (x0 + w, y0), 255, t)
        cv2.line(canvas, (x0 + w // 2, y0), (x0 + w // 2, y0 + h), 255, t)
    elif shape == 2:  # comb: a base line with teeth
        cv2.line(canvas, (x0, y0 + h), (x0 + w, y0 + h), 255, t)
        step = int(rng.integers(8, 20))
        for x in range(x0, x0 + w + 1, step):
            cv2.line(canvas, (x, y0 + h), (x, y0 + h - int(rng.integers(4, 15))), 255, t)
    elif shape == 3:  # U or inverted U (three sides of a box)
        ys = (y0, y0 + h) if rng.random() < 0.5 else (y0 + h, y0)
        cv2.line(canvas, (x0, ys[0]), (x0, ys[1]), 255, t)
        cv2.line(canvas, (x0, ys[1]), (x0 + w, ys[1]), 255, t)
        cv2.line(canvas, (x0 + w, ys[0]), (x0 + w, ys[1]), 255, t)
    else:  # a flat box outline
        cv2.rectangle(canvas, (x0, y0), (x0 + w + 20, y0 + max(6, h // 3)), 255, t)
    return canvas


def _touching(rng: np.random.Generator, digits: U8) -> U8:
    a, b = digits[rng.integers(len(digits), size=2)]
    overlap = int(rng.integers(6, 16))
    dy = int(rng.integers(-3, 4))
    canvas = np.zeros((36, 56 - overlap), np.uint8)
    canvas[4 : 4 + 28, :28] = a
    canvas[4 + dy : 4 + dy + 28, 28 - overlap :] = np.maximum(
        canvas[4 + dy : 4 + dy + 28, 28 - overlap :], b
    )
    return canvas


def _half(rng: np.random.Generator, digits: U8) -> U8:
    d = digits[int(rng.integers(len(digits)))]
    ys, xs = np.nonzero(d > 40)
    if len(ys) == 0:
        return np.zeros((28, 28), np.uint8)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    f = rng.uniform(0.35, 0.6)
    side = int(rng.integers(0, 4))
    if side == 0:
        return d[y0 : y0 + max(1, int((y1 - y0) * f)), x0:x1]
    if side == 1:
        return d[y1 - max(1, int((y1 - y0) * f)) : y1, x0:x1]
    if side == 2:
        return d[y0:y1, x0 : x0 + max(1, int((x1 - x0) * f))]
    return d[y0:y1, x1 - max(1, int((x1 - x0) * f)) : x1]


def _letter(rng: np.random.Generator, digits: U8) -> U8:
    canvas = np.zeros((80, 80), np.uint8)
    ch = LETTERS[int(rng.integers(len(LETTERS)))]
    font = FONTS[int(rng.integers(len(FONTS)))]
    cv2.putText(
        canvas, ch, (15, 60), font, float(rng.uniform(1.2, 2.0)), 255, int(rng.integers(1, 4))
    )
    return canvas


@lru_cache(maxsize=1)
def _sign_fonts() -> tuple[tuple[str, str], ...]:
    """(font, sign) of every currency sign the training handwriting fonts draw (never the
    held-out fonts; a font without a sign would draw its empty box), fetched once."""
    from fontTools.ttLib import TTFont

    from model.training.fonts import EXTRA_TRAIN_FONTS, TRAIN_FONTS, available_fonts

    out = []
    for path in available_fonts(TRAIN_FONTS + EXTRA_TRAIN_FONTS):
        cmap = TTFont(str(path)).getBestCmap() or {}
        out += [(str(path), ch) for ch in SIGNS if ord(ch) in cmap]
    return tuple(out)


def _sign(rng: np.random.Generator, digits: U8) -> U8:
    """A currency sign in a training handwriting font, slanted and jittered like a font digit;
    a printed ``$`` when no font can be had."""
    fonts = _sign_fonts()
    if not fonts:
        canvas = np.zeros((80, 80), np.uint8)
        font = FONTS[int(rng.integers(len(FONTS)))]
        cv2.putText(canvas, "$", (15, 60), font, float(rng.uniform(1.2, 2.0)), 255, 2)
        return canvas
    from model.training.augment import jitter
    from model.training.fonts import crop_to_ink, draw_glyph

    path, ch = fonts[int(rng.integers(len(fonts)))]
    a = crop_to_ink(draw_glyph(path, ch, int(rng.integers(40, 72))))
    pad = max(8, a.shape[0] // 3)
    a = cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    h, w = a.shape
    shear = float(rng.uniform(-0.35, 0.15))
    m = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], np.float32)
    a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR)
    a = jitter(a, rng, amount=float(rng.uniform(0.01, 0.04)) * h)
    r = int(rng.integers(0, 3))
    if r:
        a = cv2.dilate(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return ((a > 0.5) * 255).astype(np.uint8)


def _empty(rng: np.random.Generator, digits: U8) -> U8:
    return np.zeros((28, 28), np.uint8)


_MAKERS: dict[str, Callable[[np.random.Generator, U8], U8]] = {
    "speck": _speck,
    "line": _line,
    "border": _border,
    "touching": _touching,
    "half": _half,
    "letter": _letter,
    "sign": _sign,
    "empty": _empty,
}


def looks_like_a_one(crop: F32) -> bool:
    """A long thin stroke nearer upright than flat would be a fine "1", so it is no reject."""
    ys, xs = np.nonzero(crop > 0.2)
    if len(ys) < 3:
        return False
    cov = np.cov(np.stack([xs, ys]).astype(np.float64))
    evals, evecs = np.linalg.eigh(cov)
    elongation = float(np.sqrt(evals[1] / max(evals[0], 1e-6)))
    upright = abs(float(evecs[1, 1])) > np.cos(np.deg2rad(60))  # within 60° of upright
    return elongation > 3.0 and upright


def make_fragments(
    digits: U8, n: int, seed: int, kinds: tuple[str, ...] = KINDS
) -> tuple[F32, list[str]]:
    """``n`` normalised (28, 28) float32 non-digit crops built from ``digits`` and drawn shapes."""
    rng = np.random.default_rng(seed)
    weights = np.array([WEIGHTS[KINDS.index(k)] for k in kinds])
    weights = weights / weights.sum()
    out = np.zeros((n, 28, 28), np.float32)
    names: list[str] = []
    while len(names) < n:
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        crop = to_mnist(_MAKERS[kind](rng, digits))
        if kind != "empty" and (crop.max() <= 0 or looks_like_a_one(crop)):
            continue
        out[len(names)] = crop
        names.append(kind)
    return out, names
