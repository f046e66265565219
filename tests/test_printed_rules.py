"""Printed structure the template-free reader removes: here, small boxes (check boxes)."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.printed_rules import small_boxes, split_rules


def test_a_check_box_is_structure_and_a_written_zero_is_not() -> None:
    ink = np.zeros((2339, 1654), np.uint8)  # A4 at 200 dpi
    cv2.rectangle(ink, (100, 100), (150, 150), 255, 2)  # a check box
    cv2.rectangle(ink, (300, 95), (360, 160), 255, 3)  # a one-digit box, a little taller
    cv2.ellipse(ink, (520, 125), (22, 34), 8, 0, 360, 255, 6)  # a handwritten 0
    cv2.putText(ink, "7", (600, 160), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 6)
    boxes = small_boxes(ink)
    assert boxes[100:152, 100:152].any() and boxes[95:162, 300:362].any()
    assert not boxes[:, 480:].any()  # the 0 and the 7 stay
    kept, _ = split_rules(ink)
    assert not kept[98:153, 98:153].any()  # the box is gone from the ink to read
    assert kept[90:165, 490:550].any() and kept[90:165, 600:660].any()


def test_a_box_with_a_digit_touching_its_side_is_left_alone() -> None:
    """Ink joined to the outline makes it no longer a hollow outline alone: nothing is cut."""
    ink = np.zeros((2339, 1654), np.uint8)  # A4 at 200 dpi
    cv2.rectangle(ink, (100, 100), (160, 165), 255, 2)
    cv2.line(ink, (130, 110), (100, 180), 255, 7)  # a stroke through the side
    assert not small_boxes(ink).any()
