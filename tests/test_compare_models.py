"""``bench/compare_models.py``: paired errors of two models and McNemar's exact test."""

from __future__ import annotations

import numpy as np
import pytest

from bench.compare_models import compare, paired


def test_paired_counts_the_discordant_items() -> None:
    a = np.ones(200, bool)
    b = a.copy()
    b[:20] = False  # B alone gets 20 wrong
    a[-3:] = False  # A alone gets 3 wrong
    r = paired(a, b)
    assert (r.items, r.errors_a, r.errors_b) == (200, 3, 20)
    assert (r.only_a_wrong, r.only_b_wrong) == (3, 20)
    assert r.p_value < 0.001  # 3 against 20 is no coin toss
    even = paired(a, np.roll(a, 50))  # as many errors each, on other items
    assert even.only_a_wrong == even.only_b_wrong == 3 and even.p_value == pytest.approx(1.0)
    same = paired(a, a)
    assert same.only_a_wrong == same.only_b_wrong == 0 and same.p_value == 1.0


def test_paired_refuses_different_items() -> None:
    with pytest.raises(ValueError, match="items differ"):
        paired(np.ones(5, bool), np.ones(6, bool))


@pytest.mark.slow
def test_a_model_that_swaps_two_classes_is_told_apart(
    mnist_sample: tuple[np.ndarray, np.ndarray], recognizer: object, swapped_recognizer: object
) -> None:
    images, labels = mnist_sample
    result = compare(recognizer, swapped_recognizer, images, labels, pages=2, seeds=(7,))  # type: ignore[arg-type]
    digits = result["digits"]
    ones_and_sevens = int(np.isin(labels, (1, 7)).sum())
    assert digits.items == len(labels)
    assert digits.only_b_wrong >= 0.9 * ones_and_sevens and digits.only_a_wrong <= 2
    assert digits.p_value < 1e-6
    assert result["reader-style digits"].only_b_wrong > result["reader-style digits"].only_a_wrong
    fields = result["form fields (exact)"]
    assert fields.items > 10 and fields.errors_b > fields.errors_a
    # the same model twice: nothing to tell apart
    same = compare(recognizer, recognizer, images[:100], labels[:100])  # type: ignore[arg-type]
    assert all(r.only_a_wrong == r.only_b_wrong == 0 for r in same.values())
    assert "form fields (exact)" not in same
