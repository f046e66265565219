"""``segmentation.small_stats``: numpy's median and linear percentile, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from segmentation.small_stats import median, percentile


def _samples(seed: int) -> list[np.ndarray]:
    """Odd and even lengths, ties, integers, floats of every scale, one value alone."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = [np.array([3.5]), np.array([7]), np.array([0.1, 0.2])]
    for _ in range(300):
        n = int(rng.integers(1, 30))
        out += [
            rng.random(n) * float(rng.choice([1e-3, 1.0, 250.0])),
            rng.integers(-5, 60, size=n),
            (rng.integers(0, 4, size=n) * 0.1).astype(np.float64),  # ties, inexact tenths
        ]
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_median_is_numpys_to_the_bit(seed: int) -> None:
    for a in _samples(seed):
        got, want = median(a), float(np.median(a))
        assert type(got) is float and got == want, a


@pytest.mark.parametrize("q", [0, 10, 25, 33.3, 50, 75, 90, 100])
def test_percentile_is_numpys_to_the_bit(q: float) -> None:
    for a in _samples(int(q)):
        assert percentile(a, q) == float(np.percentile(a, q)), (a, q)


def test_other_arrays_go_to_numpy() -> None:
    """float32 (numpy averages it in float32) and 2-D arrays get numpy's own answer."""
    a = np.array([0.1, 0.7], np.float32)
    assert median(a) == float(np.median(a))
    b = np.arange(6.0).reshape(2, 3)
    assert median(b) == 2.5 and percentile(b, 75) == float(np.percentile(b, 75))
