"""Template-free: drawn boxes, combs and walls found among a page's printed rules."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.drawn_boxes import comb_cells_of, in_one_box, wall_between, walls_and_boxes


def _rules() -> np.ndarray:
    """A table's column line 600 pixels long, a comb of 6 cells 50 wide and a plain box."""
    rules = np.zeros((900, 900), np.uint8)
    cv2.line(rules, (800, 100), (800, 700), 255, 2)
    cv2.rectangle(rules, (100, 200), (400, 250), 255, 2)
    for i in range(1, 6):
        cv2.line(rules, (100 + 50 * i, 200), (100 + 50 * i, 250), 255, 2)
    cv2.rectangle(rules, (100, 400), (300, 450), 255, 2)
    return rules


def test_a_comb_a_box_and_a_column_line_are_told_apart() -> None:
    walls, boxes, combs = walls_and_boxes(_rules(), digit_height=40.0)
    ((box, (left, pitch, cells)),) = combs
    assert cells == 6 and abs(pitch - 50) < 2 and abs(box[0] - 100) <= 2
    assert len(boxes) == 2  # the comb and the plain box
    assert any(abs(x - 800) <= 2 and top <= 110 and bottom >= 690 for x, top, bottom in walls)
    # the column line parts what stands either side of it; the comb's cells are one number
    assert wall_between(walls, 780.0, 400.0, 820.0, 400.0).all()
    assert not wall_between(walls, 600.0, 400.0, 700.0, 400.0).any()
    assert in_one_box(boxes, 120.0, 225.0, 380.0, 225.0).all()
    assert not in_one_box(boxes, 120.0, 225.0, 150.0, 425.0).any()
    # a string written in the comb gets its cells, from its own box's left
    grid = comb_cells_of((110, 205, 280, 40), 40.0, combs)
    assert grid is not None and grid[2] == 6 and abs(grid[0] - (left - 110)) < 1e-6
    assert comb_cells_of((110, 405, 180, 40), 40.0, combs) is None
