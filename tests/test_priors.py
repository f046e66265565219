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


def test_a_comma_low_in_the_line_is_a_separator_and_a_small_digit_up_in_it_is_not() -> None:
    """``3,45``: the comma, short and hanging from the line's lower half, is marked a separator
    and all but ruled out as a digit (the classifier reads it a sure 1); the same short stroke
    written up in the line is a small digit's candidate as before."""
    from segmentation.priors import LOG_LOW_MARK_PRIOR, piece_prior

    def digits_and(mark_y: int) -> list:
        ink = np.zeros((90, 200), np.uint8)
        for x in (10, 110, 155):
            cv2.ellipse(ink, (x + 17, 40), (14, 28), 0, 0, 360, 255, 4)  # three 0s
        cv2.line(ink, (75, mark_y), (70, mark_y + 26), 255, 5)  # the mark
        return plan(ink, digit_height=56).pieces

    def mark(pieces: list) -> object:
        return next(p for p in pieces if 60 <= p.box[0] <= 80 and p.box[2] < 20)

    low = mark(digits_and(52))
    assert low.separator
    assert np.isclose(low.prior, piece_prior(low.box, 56.0, [], []) + LOG_LOW_MARK_PRIOR, atol=1.0)
    up = mark(digits_and(14))
    assert not up.separator and up.prior > LOG_LOW_MARK_PRIOR / 2


def test_a_separator_between_digits_sends_no_field_to_review() -> None:
    """A mark left unread between digits sends its field to review (a digit may be lost),
    unless it is a separator: ``3,45`` read ``345`` is right as it stands."""
    from segmentation.assemble import Step, marks_inside

    boxes = [(0, 0, 30, 56), (40, 40, 8, 24), (60, 0, 30, 56), (100, 0, 30, 56)]
    path = [Step(0, 3, 0.99), Step(1, None, 0.99), Step(2, 4, 0.99), Step(3, 5, 0.99)]
    assert marks_inside(path, boxes)
    assert not marks_inside(path, boxes, [False, True, False, False])
