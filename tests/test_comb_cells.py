"""Comb cells read off a comb's print: evenly spaced dividers, lost or stray ones allowed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmentation.comb_cells import comb_field, divider_grid

DIGIT = 40.0  # digit height, pixels


def _frame(cells: int, pitch: int, height: int, divider_from: float = 0.0) -> np.ndarray:
    """A comb's frame (its print as the rules finder leaves it), dividers from ``divider_from``
    of its height down to its floor."""
    m = np.zeros((height, cells * pitch + 3), np.uint8)
    cv2.rectangle(m, (1, 1), (cells * pitch + 1, height - 2), 255, 3)
    for i in range(1, cells):
        cv2.line(m, (1 + i * pitch, round(divider_from * height)), (1 + i * pitch, height), 255, 3)
    return m


@pytest.mark.parametrize("divider_from", [0.0, 0.5])
def test_a_full_or_half_comb_gives_its_cells(divider_from: float) -> None:
    grid = divider_grid(_frame(6, 45, 60, divider_from) > 0, DIGIT)
    assert grid is not None
    left, pitch, cells = grid
    assert cells == 6 and pitch == pytest.approx(45, abs=1) and left == pytest.approx(2, abs=2)


def test_a_divider_lost_and_a_stray_stroke_leave_the_grid() -> None:
    """A digit written across a divider took it off the print; a stroke of a digit stayed in
    it off the grid: the grid is still the comb's."""
    m = _frame(8, 45, 60)
    m[:, 1 + 3 * 45 - 3 : 1 + 3 * 45 + 4] = 0  # divider 3 lost
    cv2.line(m, (1 + 5 * 45 + 20, 10), (1 + 5 * 45 + 20, 58), 255, 3)  # a stray upright stroke
    grid = divider_grid(m > 0, DIGIT)
    assert grid is not None and grid[2] == 8 and grid[1] == pytest.approx(45, abs=1)


def test_a_box_with_a_digit_on_its_floor_is_no_comb() -> None:
    """A box for a whole number: its sides and a pen's width of a digit left on its floor at
    the middle are no grid of dividers."""
    m = _frame(1, 120, 60)
    m[50:58, 58:66] = 255  # a digit's stroke crossing the floor, left with the print
    assert divider_grid(m > 0, DIGIT) is None


def test_ticks_on_a_base_line_longer_than_the_comb_give_its_open_cells() -> None:
    """Ticks between the cells, none at the ends, and the base line running a cell on at
    either end: the end cells are cells too."""
    m = np.zeros((14, 6 * 45), np.uint8)
    m[10:13] = 255
    for i in range(1, 6):
        m[:10, i * 45 - 1 : i * 45 + 2] = 255
    grid = divider_grid(m > 0, DIGIT)
    assert grid is not None
    left, pitch, cells = grid
    assert cells == 6 and left == pytest.approx(0, abs=2)
    assert comb_field((left - 10, pitch, cells)) == (6, (round(left - 10), round(pitch * 6)))
    assert comb_field(None) == (None, None)
