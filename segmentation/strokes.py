"""A piece of ink made ready for ``to_mnist``: strokes rejoined, brought to MNIST's pen width.

The reader and the training augmentation (``model.training.augment``) both build crops through
``crop_ink``, so the classifier is trained on exactly what the reader hands it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.cuts import stroke_width
from segmentation.imageops import pad
from segmentation.normalize import masks_to_mnist

Mask = npt.NDArray[np.bool_]

THIN = 0.095  #: strokes thinner than this share of the piece's size are thickened
BREAK = 0.12  #: vertical gaps up to this fraction of the piece's size are bridged


def crop_ink(mask: Mask) -> npt.NDArray[np.uint8]:
    """A piece's ink ready for ``to_mnist``, strokes brought to MNIST's pen width (255 = ink).

    MNIST strokes are about a ninth of the digit's size (rarely under a tenth); a felt marker in
    a small photo can be a quarter and a fine pen on a 300-dpi form a fifteenth, neither of which
    the classifier saw. Stroke width is estimated as 2·area/perimeter. Thin gaps across the
    strokes are bridged first (``bridge_breaks``).
    """
    return _evened(mask) * 255


def mnist_crops(masks: list[Mask]) -> npt.NDArray[np.float32]:
    """``to_mnist(crop_ink(m))`` of every mask, stacked ``(N, 28, 28)``: the same crops, made
    without the round trip through 0-255 ink (``masks_to_mnist``)."""
    return masks_to_mnist([_evened(m) for m in masks])


def _evened(mask: Mask) -> npt.NDArray[np.uint8]:
    """``crop_ink``'s ink as 0/1 (possibly a view of ``mask``: not to be written to)."""
    m = np.asarray(mask, bool).view(np.uint8)
    size = max(m.shape)
    area = cv2.countNonZero(m)
    if area == 0 or size < 12:
        return m
    bridged = bridge_breaks(m, size)
    sw = stroke_width(m.view(np.bool_))
    if sw < THIN * size:  # a fine pen: thicken
        r = max(1, round((0.105 * size - sw) / 2))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        return cv2.dilate(pad(bridged, r), k)
    if sw <= 0.16 * size:
        return bridged
    r = max(1, round((sw - 0.11 * size) / 2))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    thin = cv2.erode(pad(bridged, r), k)[r:-r, r:-r]
    return thin if cv2.countNonZero(thin) >= 0.3 * area else bridged


def bridge_breaks(m: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """Close thin gaps across a digit's strokes (a lifted pen, a dry stroke, a line's removal).

    Pieces are rejoined before classification, but a gap through a 4 or a 6 still reads as
    another digit. A pixel is filled where ink of two different components lies above and
    below it within ``BREAK`` of the size: strokes broken across are joined, while digits side
    by side (no ink over one another) and a digit's own openings (one component) are not.
    """
    n, labels = cv2.connectedComponents(m, connectivity=8)
    if n <= 2:
        return m
    k = max(3, round(BREAK * size))
    kernel = np.ones((k, 1), np.uint8)
    seen_above = np.zeros(m.shape, bool)  # ink of an earlier component within k above
    seen_below = np.zeros(m.shape, bool)  # ... and below
    bridged = np.zeros(m.shape, bool)
    for i in range(1, n):
        comp = (labels == i).astype(np.uint8)
        below = cv2.dilate(comp, kernel, anchor=(0, 0)) > 0  # this component within k below
        above = cv2.dilate(comp, kernel, anchor=(0, k - 1)) > 0  # ... and within k above
        bridged |= (above & seen_below) | (below & seen_above)
        seen_above |= above
        seen_below |= below
    bridged &= m == 0
    if not bridged.any():
        return m
    return (m | bridged).astype(np.uint8)
