"""Printed lines too faint to binarise whole: hairline rules, box edges and page frames.

A thin grey line is darker than the paper along all its length but crosses the ink threshold
only here and there, so it binarises in pieces, each a thin stroke that reads as a sure "1"
(or, level with a number, joins it). Looked for at a lower darkness, it is an unbroken run far
longer than a digit is tall; a handwritten stroke that long is dark enough to binarise whole
and is left to the rule finders that judge its pen (``printed_rules``).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.imageops import shrink

U8 = npt.NDArray[np.uint8]

#: Darker than the paper by this share counts towards a faint line (the ink threshold is 0.22).
FAINT_DARKNESS = 0.07
#: A faint line is covered at the lower darkness along this share of a run ...
FAINT_COVER = 0.9
#: ... and the ink mask along at most this share (a line the ink covers is found by its pen).
INK_COVER = 0.8
#: The run: this share of the page's width (at least ``MIN_RUN`` working pixels), several
#: digit heights on a page at any resolution.
RUN = 1 / 20
#: Across a band this wide (working pixels) a line fills at most this share.
BAND, THIN = 9, 0.45
MIN_RUN = 30


class FaintRules(NamedTuple):
    """Faint printed lines: the ink on them (what the rules' removal takes), and the lines
    themselves, ink or not (255; each grown a pixel across). A table's grey column line may not
    binarise at all, yet it parts the numbers in the cells beside it."""

    horizontal: U8
    vertical: U8
    horizontal_lines: U8
    vertical_lines: U8

    def quarter_turned(self) -> FaintRules:
        """The same lines on the page turned a quarter clockwise: vertical ones lie across."""
        t = [cv2.rotate(m, cv2.ROTATE_90_CLOCKWISE) for m in self]
        return FaintRules(t[1], t[0], t[3], t[2])


def faint_rules(darkness: U8, ink: U8) -> FaintRules:
    """The faint horizontal and vertical printed lines of a page, and the pixels of ``ink``
    (255 = ink) on them. ``darkness``: the page's darkness (``binarize.darkness_bytes``), of
    which ``ink`` is the binarisation.

    Looked for at half size (a page is millions of pixels, and averaging pairs of pixels
    steadies a faint line against the paper's grain); a line may wander a pixel either way.
    """
    h, w = ink.shape
    half = shrink(darkness, (max(1, w // 2), max(1, h // 2)))
    sh, sw = half.shape
    # Masks as 0/255 bytes: OpenCV's byte box filters are several times faster than floats'.
    low = cv2.compare(half, round(255 * FAINT_DARKNESS), cv2.CMP_GE)
    inked = cv2.compare(shrink(ink, (sw, sh)), 0, cv2.CMP_GT)  # any ink of the pixels averaged
    run = max(MIN_RUN, round(sw * RUN))
    out = []
    for horizontal in (True, False):
        along, across = ((run, 1), (1, 3)) if horizontal else ((1, run), (3, 1))
        wander = np.ones(across[::-1], np.uint8)
        near = cv2.dilate(low, wander)
        seed = cv2.compare(cv2.blur(near, along), 255 * FAINT_COVER, cv2.CMP_GE)
        # The ink does not cover it: a line the ink covers is judged by its pen elsewhere.
        seed &= cv2.compare(cv2.blur(cv2.dilate(inked, wander), along), 255 * INK_COVER, cv2.CMP_LE)
        # Thin: over a band of BAND pixels across the run, little more than the line is dark
        # (a string of digits, dark at the lower threshold, fills it).
        seed &= cv2.compare(
            cv2.blur(low, (run, BAND) if horizontal else (BAND, run)), 255 * THIN, cv2.CMP_LE
        )
        if not cv2.countNonZero(seed):
            out.append(np.zeros_like(ink))
            continue
        line = cv2.dilate(seed, np.ones(along[::-1], np.uint8)) & near
        line = cv2.dilate(line, np.ones((3, 3), np.uint8))
        out.append(_full_size(line, ink.shape, horizontal))
    return FaintRules(out[0] & ink, out[1] & ink, out[0], out[1])


def _full_size(line: U8, shape: tuple[int, ...], horizontal: bool) -> U8:
    """``line`` (half size, 255 = line) brought to the page's full ``shape`` only over the rows
    (or columns) that hold a line: lines are few, a page is millions of pixels."""
    out = np.zeros(shape[:2], np.uint8)
    h, w = out.shape
    held = np.flatnonzero(cv2.reduce(line, 1 if horizontal else 0, cv2.REDUCE_MAX).ravel())
    if not held.size:
        return out
    breaks = np.flatnonzero(np.diff(held) > 1)
    starts = held[np.r_[0, breaks + 1]].tolist()
    ends = (held[np.r_[breaks, held.size - 1]] + 1).tolist()
    for a, b in zip(starts, ends, strict=True):
        if horizontal:
            y0, y1 = 2 * a, min(h, 2 * b)
            sub = cv2.resize(line[a:b], (w, y1 - y0), interpolation=cv2.INTER_NEAREST)
            out[y0:y1] = sub
        else:
            x0, x1 = 2 * a, min(w, 2 * b)
            sub = cv2.resize(line[:, a:b], (x1 - x0, h), interpolation=cv2.INTER_NEAREST)
            out[:, x0:x1] = sub
    return out
