"""``bench/photos.py``: the generated photos and close-ups the reader is benchmarked on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.corpus.writers import Pen, Writer
from bench.photos import make_chains, make_closeup, make_set

DATA = Path(__file__).parent / "data" / "mnist_sample.npz"


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA) as d:
        keys = sorted(d.files)
        x = next(d[k] for k in keys if d[k].ndim == 3)
        y = next(d[k] for k in keys if d[k].ndim == 1)
    return x, y


class _Bars(Writer):
    """A fine writer of plain bars, to see that the close-ups ask it for the fine pen."""

    name = "bars"

    def __init__(self) -> None:
        self.calls = 0

    def glyph(self, digit: int, height: int, pen: Pen, rng: np.random.Generator) -> np.ndarray:
        self.calls += 1
        a = np.zeros((height, max(4, height // 2)), np.float32)
        a[:, a.shape[1] // 2] = 1.0
        return a


def test_closeups_are_small_tight_pictures_of_their_labels() -> None:
    x, y = _mnist()
    fine = _Bars()
    photos = make_set(x, y, 40, seed=3, closeups=True, fine=fine)
    assert all(p.label.isdigit() and 1 <= len(p.label) <= 5 for p in photos)
    for p in photos:
        h, w = p.image.shape[:2]
        # digits 40-250 px tall with margins of at most a third of that around them
        assert 40 <= h <= 250 * 1.05 * 1.7 + 2 and w >= 0.3 * h / len(p.label)
    assert fine.calls > 0  # some writers had a fine pen
    again = make_set(x, y, 40, seed=3, closeups=True, fine=_Bars())
    assert all(np.array_equal(a.image, b.image) for a, b in zip(photos, again, strict=True))


def test_photos_are_sheets_and_closeups_are_not() -> None:
    """Photos show a number on a sheet of paper (300-900 px); close-ups crop it tight."""
    x, y = _mnist()
    sheets = make_set(x, y, 6, seed=11)
    tight = make_set(x, y, 6, seed=11, closeups=True)
    assert all(min(p.image.shape[:2]) >= 300 for p in sheets)
    assert all(p.image.size < q.image.size for p, q in zip(tight, sheets, strict=True))


def test_chains_are_amounts_whose_digits_overlap() -> None:
    """One or two digits then two to four zeros, each digit running into the one before."""
    x, y = _mnist()
    chains = make_chains(x, y, 20, seed=4)
    assert all(p.label[0] != "0" and p.label.endswith("00") for p in chains)
    assert all(3 <= len(p.label) <= 6 and set(p.label[2:]) <= {"0"} for p in chains)
    # Narrower than the same close-ups with gaps: the digits overlap.
    zeros = [x[i] for i in np.flatnonzero(y == 0)[:4]]
    tight = make_closeup(zeros, "0000", np.random.default_rng(2), overlap=True)
    apart = make_closeup(zeros, "0000", np.random.default_rng(2))
    assert tight.image.shape[1] < apart.image.shape[1]
    again = make_chains(x, y, 20, seed=4)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(chains, again, strict=True))
