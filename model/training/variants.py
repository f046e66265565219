"""Digit forms that MNIST's writers rarely use, drawn onto MNIST training digits.

MNIST was written by American census staff and students: its 1s are plain strokes and its 7s
uncrossed. Continental hands (cheque amounts among them) start a 1 with a long up-stroke, the
"flag", and cross the 7; the network, never shown them, read such 1s as 9s or 4s. Each variant
is drawn on a training digit of its class, at that digit's own pen width, and put back MNIST's
way (20-pixel box, centre of mass at the centre), so the usual epoch augmentation applies.

- ``flagged_one``: a stroke from the top of the 1 down to the left, 35-70° below the
  horizontal (a flatter one is a 7's bar) and at least 20° off the stem, 30-75 % of the
  stem's length, slightly curved; or (``UPSTROKE_SHARE``) a long up-stroke close beside the
  stem, as the cheques' writers draw it.
- ``crossed_seven``: a short bar across the middle of the 7's stem.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

SCALE = 4  # drawn at four times MNIST's size, so thin strokes stay smooth
#: Share of the variants that are flagged 1s; the rest are crossed 7s.
ONES_SHARE = 0.7
#: A flag flatter than this (degrees below the horizontal) is a 7's bar.
MIN_FLAG_DEG = 35.0
MAX_FLAG_DEG = 70.0
MIN_FLAG_TURN = 20.0  # degrees between the flag and the stem, so that it shows
#: Share of flagged 1s whose flag is a long up-stroke 6-18° off the stem, 55-95 % of its
#: length: the pen goes up beside the stem and back down, leaving a thin loop at the top.
UPSTROKE_SHARE = 0.4


def _canvas(digit: U8) -> npt.NDArray[np.float32]:
    """The digit enlarged SCALE times on a canvas with room around it, ink in [0, 1]."""
    padded = cv2.copyMakeBorder(digit, 14, 14, 14, 14, cv2.BORDER_CONSTANT, value=0)
    big = cv2.resize(padded, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
    return np.clip(big.astype(np.float32) / 255, 0, 1)


def _stem(mask: npt.NDArray[np.bool_]) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """Top and bottom points of the stroke's main axis, its length and its mean pen width."""
    ys, xs = np.nonzero(mask)
    if len(ys) < 20:
        return None
    pts = np.stack([xs, ys], 1).astype(np.float32)
    mean = pts.mean(0)
    _, vecs = np.linalg.eigh(np.cov((pts - mean).T))
    axis = vecs[:, -1]
    if axis[1] > 0:
        axis = -axis  # pointing up the page
    t = (pts - mean) @ axis
    top, bottom = mean + axis * t.max(), mean + axis * t.min()
    length = float(t.max() - t.min())
    return top, bottom, length, float(len(ys)) / max(length, 1.0)


def _curve(p0: np.ndarray, p1: np.ndarray, bulge: float) -> npt.NDArray[np.int32]:
    """A quadratic curve from p0 to p1 bowed sideways by ``bulge`` of its length."""
    d = p1 - p0
    ctrl = (p0 + p1) / 2 + np.array([-d[1], d[0]]) * bulge
    s = np.linspace(0, 1, 16)[:, None]
    pts = (1 - s) ** 2 * p0 + 2 * (1 - s) * s * ctrl + s**2 * p1
    return np.round(pts).astype(np.int32)


def _to_mnist_u8(big: npt.NDArray[np.float32]) -> U8:
    from segmentation.normalize import to_mnist

    small = cv2.GaussianBlur(big, (0, 0), SCALE * 0.35)
    return np.clip(np.rint(to_mnist(small) * 255), 0, 255).astype(np.uint8)


def flagged_one(digit: U8, rng: np.random.Generator) -> U8 | None:
    """A 1 with a flag from its top down to the left; None where no stem is found."""
    big = _canvas(digit)
    stem = _stem(big > 0.5)
    if stem is None:
        return None
    top, bottom, length, pen = stem
    down = (bottom - top) / max(length, 1.0)
    stem_deg = float(np.degrees(np.arctan2(down[1], -down[0])))  # below the horizontal, leftwards
    if rng.random() < UPSTROKE_SHARE:  # a long up-stroke close beside the stem
        beta = np.deg2rad(stem_deg - rng.uniform(6, 18))
        reach = rng.uniform(0.55, 0.95)
    else:
        steepest = min(MAX_FLAG_DEG, stem_deg - MIN_FLAG_TURN)
        if steepest < MIN_FLAG_DEG:
            return None  # a stem leaning so far left leaves room for no flag but a 7's bar
        beta = np.deg2rad(rng.uniform(MIN_FLAG_DEG, steepest))
        reach = rng.uniform(0.3, 0.75)
    flag = np.array([-np.cos(beta), np.sin(beta)])
    tip = top + flag * length * reach
    pts = _curve(top, tip, rng.uniform(-0.15, 0.15))
    width = max(2, round(pen * rng.uniform(0.7, 1.05)))
    cv2.polylines(big, [pts], False, 1.0, width, cv2.LINE_AA)
    return _to_mnist_u8(big)


def crossed_seven(digit: U8, rng: np.random.Generator) -> U8 | None:
    """A 7 with a short bar across its stem, about halfway down; None where no ink."""
    big = _canvas(digit)
    mask = big > 0.5
    ys = np.nonzero(mask)[0]
    if len(ys) < 20:
        return None
    y0, y1 = int(ys.min()), int(ys.max())
    y = round(y0 + (y1 - y0) * rng.uniform(0.45, 0.62))
    row = np.flatnonzero(mask[y])
    if not len(row):
        return None
    height = y1 - y0
    cx = float(row.mean())
    half = height * rng.uniform(0.18, 0.32)
    tilt = height * rng.uniform(-0.05, 0.05)
    p0 = np.array([cx - half, y + tilt])
    p1 = np.array([cx + half * rng.uniform(0.8, 1.2), y - tilt])
    pen = max(2, round(float(mask.sum()) / max(height, 1) / 2.2 * rng.uniform(0.7, 1.0)))
    cv2.polylines(big, [_curve(p0, p1, rng.uniform(-0.1, 0.1))], False, 1.0, pen, cv2.LINE_AA)
    return _to_mnist_u8(big)


def variant_digits(x: U8, y: I64, n: int, seed: int) -> tuple[U8, I64]:
    """``n`` variants drawn on training digits ``x`` of label ``y``: 1s and 7s, in ONES_SHARE."""
    if n <= 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    rng = np.random.default_rng([seed, 17])
    ones, sevens = np.flatnonzero(y == 1), np.flatnonzero(y == 7)
    out: list[U8] = []
    labels: list[int] = []
    while len(out) < n:
        one = rng.random() < ONES_SHARE
        pick = int(rng.choice(ones if one else sevens))
        drawn = flagged_one(x[pick], rng) if one else crossed_seven(x[pick], rng)
        if drawn is not None:
            out.append(drawn)
            labels.append(1 if one else 7)
    return np.stack(out), np.asarray(labels, np.int64)
