"""Crops for adapting the network, harvested from broad-corpus pages (bench/adapt_corpus.py)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.adapt_corpus import FIRST_SEED, corpus_crops
from bench.bench_corpus import SEED0
from bench.corpus import writers
from bench.corpus.pages import make_page
from model.training.synthetic import DigitSource


def test_harvest_pages_never_meet_the_benchmark_pages() -> None:
    # The corpus benchmarks read seeds SEED0 on (and the designer bench 100 on); a layout is a
    # function of (family, seed), so the harvest's layouts differ from every evaluated one.
    assert FIRST_SEED > SEED0 + 100_000


@pytest.mark.slow
def test_crops_are_the_readers_labelled_with_what_was_written(
    mnist_sample: tuple[np.ndarray, np.ndarray], recognizer: object, swapped_recognizer: object
) -> None:
    w = [writers.source_writer(DigitSource(*mnist_sample), "sample")]
    seeds = [FIRST_SEED, FIRST_SEED + 1]
    h = corpus_crops("boxes", seeds, recognizer, w)  # type: ignore[arg-type]
    written = [v for s in seeds for v in make_page("boxes", s, w[0]).values.values()]
    assert h.fields == len(written)
    assert 0 < h.fields_used <= h.fields
    assert h.x.shape == (len(h.y), 28, 28) and h.x.dtype == np.float32
    assert len(h.y) <= sum(len(v) for v in written)
    assert len(h.y) >= 0.8 * sum(len(v) for v in written)
    # Labels are the written digits: the classifier agrees with nearly all of them...
    pred = recognizer.predict_proba(h.x).argmax(axis=1)  # type: ignore[attr-defined]
    assert (pred == h.y).mean() > 0.95
    # ...and a classifier that reads 1 as 7 misreads more of them, with the same labels.
    swapped = corpus_crops("boxes", seeds, swapped_recognizer, w)  # type: ignore[arg-type]
    ones = int(np.isin(h.y, [1, 7]).sum())
    assert ones > 0 and swapped.misread > h.misread


def test_turned_rejects_are_threes_fours_and_sevens_upside_down_taught_as_no_digit() -> None:
    from bench.adapt_corpus import TURNED_NOT_DIGITS, turned_rejects
    from digitize.types import NOT_A_DIGIT
    from model.training.adapt import Harvest

    rng = np.random.default_rng(0)
    x = rng.random((40, 28, 28)).astype(np.float32)
    y = np.arange(40, dtype=np.int64) % 10
    h = turned_rejects(Harvest(x, y, 0, 0, 0), 8, seed=1)
    assert len(h.y) == 8 and (h.y == NOT_A_DIGIT).all()
    sources = [np.flatnonzero((x[:, ::-1, ::-1] == t).all(axis=(1, 2)))[0] for t in h.x]
    assert all(int(y[i]) in TURNED_NOT_DIGITS for i in sources)
    assert len(turned_rejects(Harvest(x, y, 0, 0, 0), 100, seed=1).y) == 12  # all there are
