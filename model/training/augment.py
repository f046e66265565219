"""Training augmentation: Deotte's random affine, and "page style" crops made the reader's way.

The reader never hands the classifier an MNIST-like grey digit: it binarises a scan, evens out the
stroke width (``segmentation.strokes.crop_ink``) and normalises the mask (``to_mnist``). The
shipped model trained on grey MNIST alone read such crops of validation digits 6 points worse
(92.8 % vs 98.9 %). So a share of every epoch's digits (and fragments) is drawn large, blurred,
noised and thresholded, then cut out by those same two functions: the model learns from the very
crops it will be asked about.

Crops stay binarised, not grey: after ``to_mnist`` shrinks a piece to 20 px, a binarised stroke's
edge is anti-aliased about as well as the scan's own (docs/experiments.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.normalize import to_mnist
from segmentation.strokes import crop_ink

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class AugmentConfig:
    rotate_deg: float = 10.0
    zoom: float = 0.10
    shift: float = 0.10
    page_style: float = 0.4  # share of each batch made page style
    height: tuple[float, float] = (24.0, 72.0)  # digit height on the page, pixels
    blur: tuple[float, float] = (0.2, 1.4)  # Gaussian sigma at 200 dpi-ish sizes
    noise: float = 0.08  # max Gaussian noise sigma (ink units)
    threshold: tuple[float, float] = (0.2, 0.6)  # binarisation level: thin to fat strokes
    #: Chance of a pen-lift gap cut through the strokes. Off by default (kept for experiments):
    #: it read validation digits and pages worse (docs/experiments.md).
    gap: float = 0.0
    #: Share of digits given an elastic distortion (Simard et al. 2003: a random displacement
    #: field, smoothed by a Gaussian of ``elastic_sigma`` px and scaled by ``elastic_alpha``).
    #: Off by default: it read validation digits worse (docs/experiments.md).
    elastic: float = 0.0
    #: Share of page-style digits with the edge of a neighbour touching them (what is left of a
    #: touching digit after the reader's cut): 10-30 % of another digit's width beside it.
    #: Off by default: it read validation digits and pages worse (docs/experiments.md).
    neighbour: float = 0.0
    elastic_alpha: float = 34.0
    elastic_sigma: float = 4.0


def affine(x: U8 | F32, rng: np.random.Generator, cfg: AugmentConfig) -> F32:
    """Random rotation, zoom and shift per image (uint8 or [0, 1] float in, [0, 1] float out)."""
    n = len(x)
    angles = rng.uniform(-cfg.rotate_deg, cfg.rotate_deg, n)
    scales = rng.uniform(1 - cfg.zoom, 1 + cfg.zoom, n)
    shifts = rng.uniform(-cfg.shift, cfg.shift, (n, 2)) * 28
    out = np.empty((n, 28, 28), np.float32)
    for i in range(n):
        m = cv2.getRotationMatrix2D((13.5, 13.5), float(angles[i]), float(scales[i]))
        m[:, 2] += shifts[i]
        out[i] = cv2.warpAffine(x[i], m, (28, 28), flags=cv2.INTER_LINEAR)
    if x.dtype == np.uint8:
        out *= np.float32(1 / 255)
    return out


def elastic(x: F32, rng: np.random.Generator, cfg: AugmentConfig) -> None:
    """Distort a ``cfg.elastic`` share of the [0, 1] float images ``x`` in place.

    Handwriting varies by local stretches and bends that no affine map makes; these smooth
    random warps are the augmentation that took simple CNNs past 99.6 % on MNIST.
    """
    chosen = np.flatnonzero(rng.random(len(x)) < cfg.elastic)
    if not len(chosen):
        return
    h, w = x.shape[1:3]
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    fields = rng.uniform(-1, 1, (len(chosen), 2, h, w)).astype(np.float32)
    for i, field in zip(chosen, fields, strict=True):
        dx = cv2.GaussianBlur(field[0], (0, 0), cfg.elastic_sigma) * cfg.elastic_alpha
        dy = cv2.GaussianBlur(field[1], (0, 0), cfg.elastic_sigma) * cfg.elastic_alpha
        x[i] = cv2.remap(x[i], grid_x + dx, grid_y + dy, cv2.INTER_LINEAR)


def page_style(
    digit: U8, rng: np.random.Generator, cfg: AugmentConfig, neighbour: U8 | None = None
) -> F32:
    """A 28×28 uint8 digit as the reader would crop it from a scan: to_mnist(crop_ink(mask)).

    ``neighbour``: another digit whose edge is drawn touching this one (``touching``).
    """
    scale = rng.uniform(*cfg.height) / 20.0  # MNIST digits are 20 px tall
    big = _enlarged(digit, scale)
    if neighbour is not None:
        big = touching(big, neighbour, scale, rng)
    if rng.random() < 0.7:
        big = cv2.GaussianBlur(big, (0, 0), rng.uniform(*cfg.blur) * scale / 3)
    sigma = rng.uniform(0, cfg.noise)
    if sigma > 0.005:
        big += rng.normal(0, sigma, big.shape).astype(np.float32)
    mask = big > rng.uniform(*cfg.threshold)
    if mask.sum() < 5:  # a faint fragment: keep what there is
        mask = big > 0.1
    if cfg.gap > 0 and rng.random() < cfg.gap:  # no draw when off: seeded runs stay as they were
        cut_gap(mask, rng)
    if not mask.any():
        return digit.astype(np.float32) * np.float32(1 / 255)
    return to_mnist(crop_ink(mask))


def _enlarged(digit: U8, scale: float) -> F32:
    """A uint8 digit resized by ``scale`` (bicubic) as ink in [0, 1]-ish floats."""
    big = cv2.resize(digit, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return big.astype(np.float32) * np.float32(1 / 255)


def touching(big: F32, other: U8, scale: float, rng: np.random.Generator) -> F32:
    """``big`` with a strip of ``other`` (same scale) touching its left or right side."""
    o = _enlarged(other, scale)
    cols = np.flatnonzero(o.max(axis=0) > 0.3)
    ink = np.flatnonzero(big.max(axis=0) > 0.3)
    if len(cols) < 4 or len(ink) < 2:
        return big
    o = o[:, cols[0] : cols[-1] + 1]
    sw = max(2, round(rng.uniform(0.1, 0.3) * o.shape[1]))
    right = bool(rng.random() < 0.5)
    strip = o[:, :sw] if right else o[:, -sw:]
    overlap = int(rng.integers(0, max(1, sw // 3) + 1))  # touching, a little over each other
    h, w = big.shape
    canvas = np.zeros((h, w + 2 * sw), np.float32)
    canvas[:, sw : sw + w] = big
    x = sw + (int(ink[-1]) + 1 - overlap if right else int(ink[0]) - sw + overlap)
    dy = int(rng.integers(-h // 10, h // 10 + 1))
    ys = slice(max(0, dy), min(h, h + dy))
    src = strip[max(0, -dy) : max(0, -dy) + (ys.stop - ys.start)]
    canvas[ys, x : x + sw] = np.maximum(canvas[ys, x : x + sw], src)
    return canvas


def cut_gap(
    mask: npt.NDArray[np.bool_], rng: np.random.Generator, *, pen: int = 25, keep: float = 0.6
) -> None:
    """A thin slanted gap through the middle half, as a lifted pen or a dry stroke leaves.

    The gap is ``h // pen`` wide; it is cut only where ``keep`` of the ink stays.
    """
    h, w = mask.shape
    y0 = int(rng.integers(h // 4, max(h // 4 + 1, 3 * h // 4)))
    y1 = y0 + int(rng.integers(-(h // 6), h // 6 + 1))
    line = np.zeros(mask.shape, np.uint8)
    cv2.line(line, (0, y0), (w, y1), 1, max(1, h // pen))
    kept = mask & (line == 0)
    if kept.sum() >= keep * mask.sum():
        mask[:] = kept


def jitter(a: F32, rng: np.random.Generator, amount: float) -> F32:
    """Smooth random displacement of one drawn digit's strokes by up to ``amount`` pixels (a
    hand is never a typeface); unlike ``elastic``, one image at a time, of any size."""
    h, w = a.shape
    sigma = max(h, w) / 8
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dx *= amount / max(float(np.abs(dx).max()), 1e-6)
    dy *= amount / max(float(np.abs(dy).max()), 1e-6)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(a, xx + dx, yy + dy, cv2.INTER_LINEAR, borderValue=0).astype(np.float32)


def augment(x: U8, rng: np.random.Generator, cfg: AugmentConfig) -> F32:
    """A batch: a ``page_style`` share drawn the reader's way, an ``elastic`` share warped,
    then a random affine for all."""
    if cfg.page_style <= 0 and cfg.elastic <= 0:
        return affine(x, rng, cfg)
    base = x.astype(np.float32) * np.float32(1 / 255)
    if cfg.page_style > 0:  # no draws when off: seeded runs stay as they were
        for i in np.flatnonzero(rng.random(len(x)) < cfg.page_style):
            other = None
            if cfg.neighbour > 0 and rng.random() < cfg.neighbour:
                other = x[rng.integers(len(x))]
            base[i] = page_style(x[i], rng, cfg, other)
    if cfg.elastic > 0:
        elastic(base, rng, cfg)
    return affine(base, rng, cfg)


def page_style_batch(x: U8, rng: np.random.Generator, cfg: AugmentConfig | None = None) -> F32:
    """Every digit of ``x`` page style, no affine: a validation set in the reader's style."""
    cfg = cfg or AugmentConfig()
    if not len(x):
        return np.zeros((0, 28, 28), np.float32)
    return np.stack([page_style(d, rng, cfg) for d in x])
