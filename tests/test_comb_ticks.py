"""Comb dividers taken off the ink with the rules: ticks at even spacing, broken dividers."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.printed_rules import split_rules


def _tick_comb(ink: np.ndarray, x: int, y: int, cells: int, pitch: int, tick: int) -> None:
    """A base line at row ``y`` with ticks ``tick`` high at every cell border (255 = ink)."""
    cv2.line(ink, (x, y), (x + cells * pitch, y), 255, 3)
    for i in range(cells + 1):
        cv2.line(ink, (x + i * pitch, y), (x + i * pitch, y - tick), 255, 3)


def test_a_leading_one_on_a_tick_stays_whatever_stands_below_it_on_the_page() -> None:
    """A 1 written on a comb's first tick is no divider, though another comb further down the
    page has a tick in the same column: pieces make one broken divider only when stacked
    between two rules, a digit's height apart at most."""
    ink = np.zeros((1400, 1000), np.uint8)
    _tick_comb(ink, 100, 400, 8, 60, 14)
    _tick_comb(ink, 100, 900, 8, 60, 14)  # the next comb, 500 rows down
    one = np.zeros_like(ink)
    cv2.line(one, (100, 398), (100, 368), 255, 3)  # a 1 standing on the first tick
    left, _ = split_rules(ink | one)
    kept = left[366:385, 95:115] & one[366:385, 95:115]
    assert kept.sum() >= 0.8 * one[366:385, 95:115].sum()  # the 1 is ink, not a tick


def test_a_divider_a_digit_crosses_goes_with_the_comb() -> None:
    """A comb's full-height divider cut in two by a stroke across it: the piece hanging from
    the roof and the piece standing on the floor are one divider, taken off the ink."""
    ink = np.zeros((1400, 1000), np.uint8)
    x0, y0, y1, pitch = 100, 400, 460, 50
    cv2.line(ink, (x0, y0), (x0 + 8 * pitch, y0), 255, 3)  # roof
    cv2.line(ink, (x0, y1), (x0 + 8 * pitch, y1), 255, 3)  # floor
    for i in range(9):
        cv2.line(ink, (x0 + i * pitch, y0), (x0 + i * pitch, y1), 255, 2)
    divider = x0 + 3 * pitch
    ink[428:434, divider - 1 : divider + 2] = 0  # the gap where the stroke crossed
    stroke = np.zeros_like(ink)
    cv2.line(stroke, (divider - 20, 436), (divider + 20, 426), 255, 5)
    left, _ = split_rules(ink | stroke)
    column = (
        left[y0 + 4 : y1 - 4, divider - 1 : divider + 2]
        & ~stroke[y0 + 4 : y1 - 4, divider - 1 : divider + 2]
    )
    assert not column.any()  # both pieces went with the comb
    assert left[426:437, divider - 18 : divider + 18].any()  # the stroke stays
