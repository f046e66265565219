"""``bench/bench_reader.py``: the intervals its figures are quoted with."""

from __future__ import annotations

import math

import numpy as np

from bench.bench_reader import _interval


def _pages(fields_per_page: int, wrong_pages: int, pages: int) -> tuple[np.ndarray, np.ndarray]:
    """Pages of ``fields_per_page`` fields; ``wrong_pages`` of them with one field wrong."""
    den = np.full(pages, fields_per_page)
    num = den.copy()
    num[:wrong_pages] -= 1
    return num, den


def test_interval_holds_the_figure_and_narrows_with_more_pages() -> None:
    few = _interval(*_pages(9, 3, 100))
    many = _interval(*_pages(9, 12, 400))
    figure = 1 - 3 / 900  # the same share of fields right in both
    for lo, hi in (few, many):
        assert lo < figure < hi
    assert many[1] - many[0] < few[1] - few[0]


def test_interval_is_a_ratio_of_sums_not_a_mean_of_page_ratios() -> None:
    # Five pages of 1 field (wrong), five of 99 (right): 99 % of fields, a mean of ratios 50 %.
    num, den = np.array([0] * 5 + [99] * 5), np.array([1] * 5 + [99] * 5)
    lo, hi = _interval(num, den)
    assert 0.9 < lo < 0.99 < hi <= 1.0


def test_no_interval_from_one_page() -> None:
    assert all(math.isnan(v) for v in _interval(np.array([5]), np.array([5])))
