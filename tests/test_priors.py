"""Log-priors of candidate pieces: what a string's layout says before the classifier looks."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.oversegment import plan
from segmentation.priors import LOG_LOOPS_PRIOR, noise_prior, shape_prior


def test_a_piece_holding_two_loops_a_cut_parts_is_doubted() -> None:
    """Two overlapping 0s: the pieces that hold both loops pay ``LOG_LOOPS_PRIOR``, each 0 alone
    does not; one ring alone is cut nowhere between loops."""
    ink = np.zeros((50, 60), np.uint8)
    for cx in (17, 37):
        cv2.ellipse(ink, (cx, 25), (12, 20), 0, 0, 360, 255, 3)
    parts, pieces, _ = plan(ink, digit_height=40)
    assert sum(p.parted for p in parts) == 1
    k = next(i for i, p in enumerate(parts) if p.parted)
    for piece in pieces:
        both = piece.start < k < piece.end
        extra = piece.prior - shape_prior(piece.box, 40.0)
        assert np.isclose(extra, LOG_LOOPS_PRIOR if both else 0.0), (piece.start, piece.end)
    assert any(p.start == 0 and p.end == len(parts) for p in pieces)  # the whole blob, doubted
    one = np.zeros((50, 40), np.uint8)
    cv2.ellipse(one, (17, 25), (12, 20), 0, 0, 360, 255, 3)
    assert not any(p.parted for p in plan(one, digit_height=40).parts)


def test_a_piece_far_shorter_than_the_string_is_no_digit_of_its_own() -> None:
    """Three digits and a remnant a fifth of their height that the classifier, seeing it
    enlarged, calls a sure 1: the path leaves it out. A short 1 at half the height stays."""
    from segmentation.assemble import read_field

    href = 80.0

    def reading(speck_height: int) -> str:
        boxes = [(0, 0, 50, 80), (60, 0, 50, 78), (120, 0, 50, 82), (180, 60, 5, speck_height)]
        probs = np.full((4, 11), 1e-4)
        for k, d in enumerate((5, 8, 9, 1)):
            probs[k, d] = 0.996
        spans = [(k, k + 1) for k in range(4)]
        priors = [shape_prior(b, href) for b in boxes]
        noise = [noise_prior(b, href) for b in boxes]
        r = read_field(4, spans, probs, priors, None, noise)
        return "".join(map(str, r.key))

    assert reading(16) == "589"
    assert reading(40) == "5891"
