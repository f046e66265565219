"""Turn a cut-out piece of ink into a 28×28 crop the way MNIST was built.

MNIST digits were size-normalised to fit a 20×20 box keeping their aspect ratio (anti-aliased), then
placed in a 28×28 field so that their centre of mass sits at the centre. Crops made any other way
cost accuracy, so every path to the classifier goes through ``to_mnist``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

SIZE = 28
FIT = 20
_STEPS = np.arange(FIT + 1, dtype=np.float32)  # pixel indices for the centre of mass


def to_mnist(ink: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """Normalise ink (any 2-D array, larger = more ink) to float32 (28, 28) in [0, 1].

    Empty input gives an all-zero crop. The result is white ink on black like MNIST.
    """
    a = np.asarray(ink, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D ink array, got shape {a.shape}")
    peak = float(a.max()) if a.size else 0.0
    if peak <= 0:
        return np.zeros((SIZE, SIZE), np.float32)
    a = a / peak
    x, y, w, h = cv2.boundingRect((a > 0.05).view(np.uint8))  # the ink's box, 5 % of the peak up
    out = np.zeros((SIZE, SIZE), np.float32)
    _fit_centred(a[y : y + h, x : x + w], out)
    return np.clip(out, 0.0, 1.0, out=out)


def masks_to_mnist(inks: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
    """``to_mnist`` of many 0/1 masks at once, stacked ``(N, 28, 28)``: the same crops, without
    the per-crop conversions (peak, threshold, allocation) a mask does not need."""
    out = np.zeros((len(inks), SIZE, SIZE), np.float32)
    for n, m in enumerate(inks):
        x, y, w, h = cv2.boundingRect(m)
        if w and h:
            _fit_centred(m[y : y + h, x : x + w].astype(np.float32), out[n])
    return np.clip(out, 0.0, 1.0, out=out)


def _fit_centred(a: npt.NDArray[np.float32], out: npt.NDArray[np.float32]) -> None:
    """``a`` (ink cut to its box, in [0, 1]) fitted into 20×20 and written into ``out`` (28×28,
    zeros) with its centre of mass at the centre; not clipped; ``out`` left as is if no ink."""
    h, w = a.shape
    scale = FIT / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(a, (nw, nh), interpolation=interp)
    total = float(small.sum())
    if total <= 0:
        return
    # Centre of mass (not cv2.moments: it reads an N×2 array as N points, not an image).
    cy = float(small.sum(axis=1) @ _STEPS[:nh]) / total
    cx = float(small.sum(axis=0) @ _STEPS[:nw]) / total
    # Translate so the centre of mass lands on the centre of the 28×28 field (sub-pixel, bilinear).
    shift = np.array([[1, 0, (SIZE - 1) / 2 - cx], [0, 1, (SIZE - 1) / 2 - cy]], np.float32)
    cv2.warpAffine(
        small,
        shift,
        (SIZE, SIZE),
        dst=out,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )


def batch_to_mnist(pieces: list[npt.NDArray[np.generic]]) -> npt.NDArray[np.float32]:
    """Stack normalised crops into ``(N, 28, 28)``; ``N`` may be 0."""
    if not pieces:
        return np.zeros((0, SIZE, SIZE), np.float32)
    return np.stack([to_mnist(p) for p in pieces])
