"""Log-priors of a candidate piece being one digit, which the path search adds to its score.

A piece's size next to its neighbours (``shape_prior``), blobs side by side joined
(``merge_prior``), loops side by side that a cut parts (``loops_prior``), the three together
(``piece_prior``), and being a stray mark (``noise_prior``): what a string's layout says before
the classifier looks.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from digitize.types import Box

if TYPE_CHECKING:
    from segmentation.oversegment import Segment


def merge_prior(blobs: list[Segment], parts: list[Segment]) -> float:
    """Log-prior against joining separate blobs that stand side by side into one digit.

    A digit broken by a lifted pen or a dry stroke falls apart into pieces stacked one over
    the other (a 5's bar above its body); two blobs next to each other at the same height are
    two digits (a 1 beside a 5), however well their union happens to resemble one.
    """
    ids = sorted({p.blob for p in parts})
    prior = 0.0
    for a, b in itertools.pairwise(ids):
        if a < 0 or b < 0:
            continue
        (ax, ay, aw, ah), (bx, by, bw, bh) = blobs[a].box, blobs[b].box
        vov = min(ay + ah, by + bh) - max(ay, by)
        hov = min(ax + aw, bx + bw) - max(ax, bx)
        if vov > 0.5 * min(ah, bh) and hov < 0.3 * min(aw, bw):
            prior += LOG_MERGE_PRIOR
    return prior


#: 0.5, not the earlier 0.3: a 4 written in two strokes stands side by side too, and at 0.3 it
#: read as "41" or "11" more often than a 1 beside a digit was glued to it (docs/experiments.md).
LOG_MERGE_PRIOR = float(np.log(0.5))
#: Log-prior against one piece holding two loops side by side that a cut parts: no digit has
#: such loops, overlapping digits do (chained zeros). 0.5 as ``LOG_MERGE_PRIOR``; 0.2 read the
#: same (docs/experiments.md).
LOG_LOOPS_PRIOR = float(np.log(0.5))


def loops_prior(inner: list[Segment]) -> float:
    """``LOG_LOOPS_PRIOR`` when a piece's segments after its first begin at a cut between loops."""
    return LOG_LOOPS_PRIOR if any(s.parted for s in inner) else 0.0


def noise_prior(box: Box, href: float) -> float:
    """Log-prior that a piece is a stray mark: likely when small, unlikely when digit-sized."""
    return float(np.log(0.5)) if box[3] < 0.5 * href else float(np.log(0.01))


#: A piece under this share of the string's height is no digit of its own (a speck, a remnant of
#: a box's side): the classifier sees it enlarged to a digit's size and reads a sure 1.
SHORT_PIECE = 0.35


def shape_prior(box: Box, href: float) -> float:
    """Log-prior that a piece this size is a whole digit in a string of ``href``-tall digits.

    Digits of one string have similar heights: a piece much shorter than its neighbours is
    more likely part of a digit (the curl of a 2, the arm of a 4) than a digit of its own, and
    one much wider than tall is more likely two digits.
    """
    h, w = box[3], box[2]
    r = h / max(href, 1.0)
    prior = 0.0
    if r < 0.7:
        prior += 4.0 * float(np.log(max(r, 0.05) / 0.7))
    if r < SHORT_PIECE:
        prior += 12.0 * float(np.log(max(r, 0.05) / SHORT_PIECE))
    if w > 1.25 * h and w > 1.25 * href:
        prior += 2.0 * float(np.log(1.25 * max(h, href) / w))
    return prior


#: A piece shorter than this share of the digits' height whose top lies in the lower half of
#: the line of writing is a separator (a decimal comma, a thousands point), not a digit: the
#: classifier sees it enlarged and reads a sure 1. A small digit is written up in the line.
LOW_MARK = 0.55
LOG_LOW_MARK_PRIOR = float(np.log(1e-4))


def low_mark(box: Box, top: float | None, href: float) -> bool:
    """A short piece hanging low in a line whose digits' tops lie at ``top`` (None: no line to
    judge by): a separator."""
    return top is not None and box[3] < LOW_MARK * href and box[1] >= top + 0.5 * href


def piece_prior(box: Box, href: float, blobs: list[Segment], parts: list[Segment]) -> float:
    """The log-prior of the segments ``parts`` (cut from ``blobs``) joined into one digit whose
    box is ``box``: its size, the blobs it joins side by side, the loops it holds side by side."""
    return shape_prior(box, href) + merge_prior(blobs, parts) + loops_prior(parts[1:])
