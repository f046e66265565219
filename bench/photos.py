"""Generate 'photos of handwritten digits on paper' from MNIST digits, for tests and benchmarks.

A string of 1-8 digits is drawn as thick marker strokes on textured paper, then photographed:
off-centre, perspective, uneven light and a shadow, blur, noise, sometimes reversed (chalk on a
board), JPEG. Each image's label is the digit string. Seeded, so a set can be regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from bench.corpus.writers import Pen, Writer

U8 = npt.NDArray[np.uint8]


@dataclass
class Photo:
    image: U8  # BGR
    label: str
    inverted: bool


def _tight(d: U8) -> U8:
    ys, xs = np.nonzero(d > 30)
    return d[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _string_ink(digits: list[U8], height: int, rng: np.random.Generator) -> U8:
    """White-on-black ink of the digits side by side, about ``height`` pixels tall."""
    glyphs = []
    # Marker: thicker strokes than a pencil, the same pen for the whole string.
    r = int(rng.integers(0, max(1, round(height * 0.05)) + 1))
    for d in digits:
        t = _tight(d).astype(np.float32)
        h = max(8, round(height * rng.uniform(0.88, 1.08)))
        w = max(2, round(t.shape[1] * h / t.shape[0]))
        g = cv2.resize(t, (w, h), interpolation=cv2.INTER_CUBIC)
        g = np.clip(g, 0, 255)
        if r:
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
            g = cv2.dilate(g, k)
        glyphs.append(g)
    gaps = [round(height * rng.uniform(0.12, 0.5)) for _ in glyphs[1:]]
    total_w = sum(g.shape[1] for g in glyphs) + sum(gaps)
    total_h = max(g.shape[0] for g in glyphs) + round(0.12 * height) + 2
    out = np.zeros((total_h, total_w), np.float32)
    x = 0
    for k, g in enumerate(glyphs):
        y = int(rng.integers(0, total_h - g.shape[0] + 1))
        sub = out[y : y + g.shape[0], x : x + g.shape[1]]
        np.maximum(sub, g, out=sub)
        x += g.shape[1] + (gaps[k] if k < len(gaps) else 0)
    return np.clip(out, 0, 255).astype(np.uint8)


def make_photo(digits: list[U8], label: str, rng: np.random.Generator) -> Photo:
    """One photo of the given MNIST digits (28×28 uint8, white on black)."""
    W = int(rng.integers(300, 901))
    H = int(np.clip(W * rng.uniform(0.55, 1.4), 300, 900))
    n = len(digits)
    # Digit height: the string fits in 40-85 % of the width and 20-60 % of the height.
    hmax = min(0.6 * H, 0.85 * W / (n * 0.95))
    hmin = min(0.2 * H, 0.4 * W / (n * 0.9))
    height = max(24, round(rng.uniform(hmin, max(hmin, hmax))))
    ink = _string_ink(digits, height, rng)
    # Off-centre, but the whole string stays in the picture after the perspective below.
    m = round(0.09 * min(W, H))
    if ink.shape[1] > W - 2 * m or ink.shape[0] > H - 2 * m:
        f = min((W - 2 * m) / ink.shape[1], (H - 2 * m) / ink.shape[0])
        ink = cv2.resize(ink, (max(1, int(ink.shape[1] * f)), max(1, int(ink.shape[0] * f))))
    alpha = np.zeros((H, W), np.float32)
    x0 = int(rng.integers(m, W - m - ink.shape[1] + 1))
    y0 = int(rng.integers(m, H - m - ink.shape[0] + 1))
    alpha[y0 : y0 + ink.shape[0], x0 : x0 + ink.shape[1]] = ink / 255.0
    # Perspective: the paper is not parallel to the camera.
    tilt = 0.06 * min(W, H)
    src = np.array([[0, 0], [W, 0], [W, H], [0, H]], np.float32)
    dst = src + rng.uniform(-tilt, tilt, size=(4, 2)).astype(np.float32)
    alpha = cv2.warpPerspective(alpha, cv2.getPerspectiveTransform(src, dst), (W, H))
    paper = np.array(rng.uniform(175, 250, 3), np.float32)
    ink_col = np.array(rng.uniform(10, 90, 3), np.float32)
    if rng.random() < 0.3:  # blue ballpoint / marker
        ink_col = np.array(
            [rng.uniform(90, 160), rng.uniform(20, 70), rng.uniform(10, 50)], np.float32
        )
    tex = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), rng.uniform(0.8, 3))
    tex *= rng.uniform(2, 10) / max(float(tex.std()), 1e-6)
    img = paper[None, None, :] + tex[..., None]
    img = img * (1 - alpha[..., None]) + ink_col[None, None, :] * alpha[..., None]
    # Uneven light: a gradient across the page and a soft shadow.
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(ang) * xx / W + np.sin(ang) * yy / H) * rng.uniform(0.0, 0.45)
    light = 1.0 - (grad - grad.min())
    if rng.random() < 0.6:
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
        r = rng.uniform(0.3, 0.8) * max(W, H)
        d = np.hypot(xx - cx, yy - cy)
        shade = 1.0 - rng.uniform(0.2, 0.45) / (1 + np.exp((d - r) / (0.08 * r)))
        light *= shade
    img *= light[..., None]
    inverted = bool(rng.random() < 0.15)
    if inverted:  # chalk on a dark board
        img = 255.0 - img
        img *= rng.uniform(0.6, 0.9)
    sigma = rng.uniform(0.0, 1.3)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += rng.normal(0, rng.uniform(1, 6), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    return Photo(out, label, inverted)


def _broad(glyph: U8, height: int, rng: np.random.Generator) -> U8:
    """``glyph`` (white on black, ``height`` tall) redrawn with a broad felt tip."""
    r = max(1, round(height * rng.uniform(0.01, 0.04)))
    return cv2.dilate(glyph, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))


def make_closeup(
    digits: list[U8],
    label: str,
    rng: np.random.Generator,
    fine: Writer | None = None,
    *,
    overlap: bool = False,
) -> Photo:
    """A close-up of a few digits: a small picture (40-250-pixel digits) cropped tight around
    them, written with a fine pen (``fine``: a writer of thin-stroked handwriting fonts, when
    given), MNIST's own or a broad felt tip, sometimes out of focus. Unlike
    ``make_photo``'s marker on a large sheet, a digit's straight strokes here are as long as
    a page's printed lines, and a blurred stroke as wide as the paper's shading. ``overlap``:
    each digit runs into the one before it (by up to a quarter of the height), as fast writers
    chain the zeros of an amount, loops crossing loops."""
    height = int(rng.integers(40, 251))
    pen = str(rng.choice(["fine", "plain", "broad"], p=[0.35, 0.3, 0.35]))  # one per writer
    thin = -int(rng.integers(1, 4))  # how much finer than the font's own stroke
    glyphs = []
    for d, c in zip(digits, label, strict=True):
        h = max(8, round(height * rng.uniform(0.9, 1.05)))
        if pen == "fine" and fine is not None:
            a = fine.glyph(int(c), h, Pen((0, 0, 0), thin, 1.0), rng)
            if (a > 0.5).sum() < 0.5 * h:  # the font's strokes were finer still: as drawn
                a = fine.glyph(int(c), h, Pen((0, 0, 0), 0, 1.0), rng)
            glyphs.append(np.clip(a * 255, 0, 255).astype(np.uint8))
            continue
        t = _tight(d).astype(np.float32)
        w = max(2, round(t.shape[1] * h / t.shape[0]))
        g = np.clip(cv2.resize(t, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)
        glyphs.append(_broad(g, h, rng) if pen == "broad" else g)
    lo, hi = (-0.25, 0.02) if overlap else (0.08, 0.4)
    gaps = [round(height * rng.uniform(lo, hi)) for _ in glyphs[1:]]
    gaps = [max(g, 2 - glyphs[k].shape[1] // 2) for k, g in enumerate(gaps)]  # half stays clear
    m = [round(height * rng.uniform(0.06, 0.35)) for _ in range(4)]  # left, top, right, bottom
    H = max(g.shape[0] for g in glyphs) + m[1] + m[3]
    W = max(
        m[0] + sum(g.shape[1] for g in glyphs[: k + 1]) + sum(gaps[:k]) for k in range(len(glyphs))
    )
    W += m[2]
    alpha = np.zeros((H, W), np.float32)
    x = m[0]
    for k, g in enumerate(glyphs):
        y = m[1] + int(rng.integers(0, H - m[1] - m[3] - g.shape[0] + 1))
        sub = alpha[y : y + g.shape[0], x : x + g.shape[1]]
        np.maximum(sub, g / 255.0, out=sub)
        x += g.shape[1] + (gaps[k] if k < len(gaps) else 0)
    paper = rng.uniform(150, 250) + rng.uniform(-15, 15, 3).astype(np.float32)
    ink_col = np.array(rng.uniform(10, 90, 3), np.float32)
    if rng.random() < 0.4:  # blue ballpoint
        ink_col = np.array(
            [rng.uniform(110, 200), rng.uniform(20, 90), rng.uniform(10, 60)], np.float32
        )
    img = paper[None, None, :] * (1 - alpha[..., None]) + ink_col[None, None, :] * alpha[..., None]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(ang) * xx / W + np.sin(ang) * yy / H) * rng.uniform(0.0, 0.3)
    img *= (1.0 - (grad - grad.min()))[..., None]
    if rng.random() < 0.5:  # out of focus: up to a twentieth of the digit's height
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.01, 0.05) * height)
    img += rng.normal(0, rng.uniform(1, 6), img.shape).astype(np.float32)
    return Photo(np.clip(img, 0, 255).astype(np.uint8), label, False)


def make_set(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.integer],
    count: int,
    seed: int,
    *,
    single_fraction: float = 0.5,
    closeups: bool = False,
    fine: Writer | None = None,
) -> list[Photo]:
    """``count`` photos: about ``single_fraction`` of them one digit, the rest 2-8 digits
    (close-ups: 2-5 digits)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        most = 6 if closeups else 9
        n = 1 if rng.random() < single_fraction else int(rng.integers(2, most))
        pick = rng.choice(len(images), size=n, replace=False)
        label = "".join(str(int(labels[i])) for i in pick)
        digits = [images[i] for i in pick]
        if closeups:
            out.append(make_closeup(digits, label, rng, fine))
        else:
            out.append(make_photo(digits, label, rng))
    return out


def make_chains(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.integer],
    count: int,
    seed: int,
    fine: Writer | None = None,
) -> list[Photo]:
    """``count`` close-ups of amounts (one or two digits, then two to four zeros: ``48000``)
    whose digits overlap their neighbours (``make_closeup(overlap=True)``): chained zeros."""
    rng = np.random.default_rng(seed)
    zeros = np.flatnonzero(labels == 0)
    others = np.flatnonzero(labels != 0)
    out = []
    for _ in range(count):
        lead = rng.choice(others, size=int(rng.integers(1, 3)), replace=False)
        pick = [*lead, *rng.choice(zeros, size=int(rng.integers(2, 5)), replace=False)]
        label = "".join(str(int(labels[i])) for i in pick)
        out.append(make_closeup([images[i] for i in pick], label, rng, fine, overlap=True))
    return out


def encode_jpeg(image: U8, rng: np.random.Generator) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 85))])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
