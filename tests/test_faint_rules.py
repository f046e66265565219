"""Faint printed lines found on the grey page: a hairline frame and box read in pieces."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.binarize import darkness_bytes, threshold_darkness
from segmentation.faint_rules import faint_rules
from segmentation.printed_rules import split_rules


def _page() -> tuple[np.ndarray, np.ndarray]:
    """Darkness and ink of a 200-dpi A4 page: a faint hairline box and a long faint rule that
    binarised in pieces (ink on every other stretch of 20 pixels), a dark rule, and a dark 1 and
    7 written in the box."""
    darkness = np.zeros((2339, 1654), np.uint8)
    ink = np.zeros_like(darkness)
    pieces = (np.arange(1654) // 20) % 2 == 0
    for y, x0, x1 in ((400, 300, 901), (520, 300, 901), (800, 100, 1501)):
        darkness[y : y + 2, x0:x1] = 60  # a quarter darker than the paper
        ink[y : y + 2, x0:x1] = 255 * pieces[x0:x1]
    for x in (300, 900):
        darkness[400:521, x : x + 2] = 60
        ink[400:521, x : x + 2] = 255 * pieces[400:521, None]
    for img, v in ((darkness, 220), (ink, 255)):
        cv2.line(img, (100, 1200), (1500, 1200), v, 3)  # a dark rule: the pen finders' to judge
        cv2.line(img, (450, 425), (445, 500), v, 7)  # a 1 written in the box
        cv2.polylines(img, [np.array([[520, 430], [580, 430], [540, 505]])], False, v, 7)
    return darkness, ink


def test_a_faint_box_and_rule_are_found_and_the_writing_stays() -> None:
    darkness, ink = _page()
    found = faint_rules(darkness, ink)
    horiz, vert = found.horizontal, found.vertical
    assert horiz[398:404, 320:880].any() and horiz[798:804, 200:1400].any()
    assert vert[420:500, 298:304].any()  # the box's side, a long run of its own
    assert not horiz[1195:1206].any()  # the dark rule is left to the pen-judging finders
    writing = np.zeros_like(ink)
    writing[435:495, 435:465] = 255
    writing[440:495, 525:575] = 255
    assert not (horiz & writing).any() and not (vert & writing).any()
    kept, _ = split_rules(ink, faint=(horiz, vert))
    assert not kept[795:806, 200:1400].any()  # the faint rule no longer reads as 1s
    assert kept[430:495, 440:460].any() and kept[440:495, 530:580].any()


def test_a_string_of_digits_is_no_faint_line() -> None:
    """Digits written close together are dark at the lower threshold all along the string,
    but fill the band across it: no line."""
    page = np.full((2339, 1654), 232, np.uint8)
    for i in range(12):
        cv2.putText(page, "0", (200 + 45 * i, 700), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 150, 5)
    darkness = darkness_bytes(page, polarity=True)
    ink = threshold_darkness(darkness.copy())
    found = faint_rules(darkness, ink)
    assert not any(m.any() for m in found)


def test_a_grey_line_that_left_no_ink_is_still_a_line() -> None:
    """A table's light-grey column line does not binarise at all: no ink to remove, but the line
    itself is found, to part the numbers written either side of it."""
    darkness, ink = _page()
    darkness[900:1500, 1200:1202] = 45  # no ink anywhere along it
    found = faint_rules(darkness, ink)
    assert found.vertical_lines[950:1450, 1198:1204].any()
    assert not found.vertical[900:1190, 1190:1210].any()  # (the dark rule crosses at 1200)
    assert (found.vertical <= found.vertical_lines).all()  # the ink taken lies on the lines
