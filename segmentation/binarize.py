"""Binarise photos and scans robustly: uneven light, either polarity, paper texture, JPEG.

The background (paper) is estimated at low resolution by a morphological closing, each pixel is
divided by it, and ink is what is clearly darker than its own local paper. Dividing out the
background is what makes shadows and light gradients disappear; a contrast floor keeps paper
texture and JPEG noise out.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.imageops import fit, shrink

U8 = npt.NDArray[np.uint8]

#: The closing that finds the paper, in pixels of the working image (``ink_darkness`` works at
#: 320 pixels or less): a tenth of a page's side there, and as much on a small picture (a
#: close-up of a number), whose strokes, wide or blurred, are wide in its own pixels.
PAPER_CLOSING = 33


def _as_grey(image: npt.NDArray[np.generic]) -> U8:
    a = np.asarray(image)
    if a.ndim == 3:
        if a.shape[2] == 4:
            a = cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY)
        else:
            a = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY)
    if a.dtype != np.uint8:
        a = cv2.normalize(a.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return a


def dark_ink(image: npt.NDArray[np.generic]) -> bool:
    """True when the ink is darker than the paper (the usual case); False for reverse images.

    Large-scale light variations are removed first; the ink is then the heavier tail of the
    residual (paper is the majority of pixels, so the ink side is the one with the long tail).
    """
    grey = _as_grey(image)
    small = fit(grey, 400)[0]
    # The light's slow variation, blurred at a quarter of the size (a 33-pixel sigma in full
    # costs 7 ms) and brought back.
    h, w = small.shape
    quarter = shrink(small, (max(1, w // 4), max(1, h // 4))).astype(np.float32)
    blur = cv2.GaussianBlur(quarter, (0, 0), max(quarter.shape) / 12)
    blur = cv2.resize(blur, (w, h), interpolation=cv2.INTER_LINEAR)
    r = small.astype(np.float32) - blur
    mad = float(np.median(np.abs(r - np.median(r))))
    t = max(12.0, 4.0 * mad)
    dark = float(np.clip(-r - t, 0, None).sum())
    bright = float(np.clip(r - t, 0, None).sum())
    return dark >= bright


def ink_darkness(grey: U8, *, polarity: bool | None = None) -> npt.NDArray[np.float32]:
    """How much darker than its local paper each pixel is, in [0, 1] (0 = paper)."""
    g = _as_grey(grey)
    if polarity is None:
        polarity = dark_ink(g)
    if not polarity:
        g = 255 - g
    h, w = g.shape
    small = fit(g, 320)[0]
    # Closing removes dark strokes thinner than the kernel: what remains is the paper.
    k = PAPER_CLOSING
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    # Blurred as floats: OpenCV's 8-bit Gaussian is 5x slower at this size; rounded back after.
    bg = np.rint(cv2.GaussianBlur(bg.astype(np.float32), (0, 0), k / 3)).astype(np.uint8)
    if bg.shape != g.shape:  # shrunk (one side may round back to its own length)
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    # The paper is never darker than the pixel itself (nor black), so g / paper lies in [0, 1];
    # taken in place, a pass each, as the page is millions of pixels.
    paper = cv2.max(cv2.max(bg, g), 1)
    out = cv2.divide(g, paper, dtype=cv2.CV_32F)  # as floats, IEEE's quotient
    return np.subtract(1.0, out, out=out)


def binarize(image: npt.NDArray[np.generic], *, polarity: bool | None = None) -> U8:
    """Ink mask (255 = ink) of a photo or scan of either polarity."""
    return threshold_darkness(darkness_bytes(image, polarity=polarity))


def darkness_bytes(image: npt.NDArray[np.generic], *, polarity: bool | None = None) -> U8:
    """``ink_darkness`` as bytes (0 = paper, 255 = black), what ``threshold_darkness`` splits."""
    d = ink_darkness(_as_grey(image), polarity=polarity)
    return np.multiply(d, 255, out=d).astype(np.uint8)


def threshold_darkness(u: U8) -> U8:
    """``binarize`` of a page whose darkness (``darkness_bytes``) is ``u``."""
    otsu, mask = cv2.threshold(u, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Otsu splits ink from paper; the floor stops it splitting paper texture when there is no ink.
    t = max(float(otsu), 0.22 * 255)
    t = min(t, 0.5 * 255)
    if t != otsu:  # ink is what lies above t (OpenCV's threshold: above its whole part)
        mask = cv2.threshold(u, t, 255, cv2.THRESH_BINARY)[1]
    return mask
