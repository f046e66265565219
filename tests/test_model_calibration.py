"""Temperature scaling recovers a known temperature; ECE measures what it says."""

from __future__ import annotations

import numpy as np
import pytest

from model.calibration import ece, fit_temperature, softmax


@pytest.mark.slow
def test_fit_temperature_recovers_the_true_one() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, size=(20000, 11))
    true_t = 2.5
    p = softmax(logits, true_t).astype(np.float64)
    labels = np.array([rng.choice(11, p=row / row.sum()) for row in p])
    assert abs(fit_temperature(logits, labels) - true_t) < 0.15


def test_ece_zero_when_calibrated_and_large_when_overconfident() -> None:
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.5, 1.0, 50000)
    right = rng.random(50000) < conf
    probs = np.zeros((50000, 2))
    probs[:, 0] = conf
    probs[:, 1] = 1 - conf
    labels = np.where(right, 0, 1)
    assert ece(probs, labels) < 0.01
    over = np.column_stack([np.full(50000, 0.99), np.full(50000, 0.01)])
    assert abs(ece(over, labels) - (0.99 - right.mean())) < 1e-6


def test_softmax_rows_sum_to_one() -> None:
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    p = softmax(z, 1.3)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-6)
    assert p[0, 0] > 0.999 and abs(p[1, 0] - 1 / 3) < 1e-6
