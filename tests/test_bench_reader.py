"""``bench/bench_reader.py``: the intervals and the error split its figures are quoted with."""

from __future__ import annotations

import math

import numpy as np

from bench.bench_reader import _interval, _misread_clean_too


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


def test_misread_digits_are_split_by_what_the_classifier_reads_on_the_clean_image() -> None:
    clean = np.array([4, 9, 1, 7])  # the classifier's reading of source images 0-3
    # "49" read "44": image 1 (a 9) is read 9 clean, so the reader lost it.
    assert _misread_clean_too("49", "44", [0, 1], clean) == (1, 0)
    # "41" read "47": image 3 is a 1 the classifier reads 7 even clean.
    clean_wrong = np.array([4, 9, 1, 7])
    assert _misread_clean_too("41", "47", [0, 3], clean_wrong) == (1, 1)
    # A wrong length is the reader's: every lost digit counts, none is the classifier's.
    assert _misread_clean_too("491", "41", [0, 1, 2], clean) == (1, 0)
