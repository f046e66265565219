"""Handwritten amounts (bench/amounts.py, bench/bench_amounts.py): truthful, seeded, scored on
their digits only."""

from __future__ import annotations

import numpy as np
import pytest

from bench import amounts, bench_amounts
from bench.corpus import writers
from digitize.types import Page
from model.training.data import load_sample
from model.training.synthetic import DigitSource


@pytest.fixture(scope="module")
def writer() -> writers.Writer:
    images, labels = load_sample()
    return writers.source_writer(DigitSource(images, labels), "sample")


@pytest.mark.parametrize("style", sorted(amounts.STYLES))
def test_every_style_writes_marks_the_value_leaves_out(style: str, writer: writers.Writer) -> None:
    a = amounts.make_amount(7, writer, style)
    assert a.value == "".join(c for c in a.text if c.isdigit()) and a.value
    assert a.value[0] != "0"
    if style != "plain":
        assert any(not c.isdigit() for c in a.text)
    assert a.image.dtype == np.uint8 and a.image.ndim == 2
    # Dark writing on light paper, wider than tall as an amount is.
    assert np.median(a.image) > 200 and a.image.min() < 120
    assert a.image.shape[1] > a.image.shape[0]


def test_same_seed_same_amount_and_another_seed_another(writer: writers.Writer) -> None:
    a = amounts.make_amount(3, writer, "cheque")
    b = amounts.make_amount(3, writer, "cheque")
    c = amounts.make_amount(4, writer, "cheque")
    assert a.text == b.text and np.array_equal(a.image, b.image)
    assert a.text != c.text
    assert a.text.startswith("$") and a.text.endswith(".-")


def test_a_ruled_amount_is_cut_tight_on_its_printed_line(writer: writers.Writer) -> None:
    """``ruled``: the amount as a cheque's box is cut out, tight, a long thin printed line under
    the writing (and a box's sides now and then); the same text as unruled."""
    for seed in range(6):
        plain = amounts.make_amount(seed, writer, "decimal_comma")
        ruled = amounts.make_amount(seed, writer, "decimal_comma", ruled=True)
        assert ruled.text == plain.text
        assert ruled.image.shape[0] < plain.image.shape[0]
        low = ruled.image[ruled.image.shape[0] // 2 :]
        assert (low < 200).any(axis=0).mean() > 0.8  # a line across, low down


def test_thousands_are_grouped_in_threes(writer: writers.Writer) -> None:
    for seed in range(20):
        text = amounts.make_amount(seed, writer, "continental").text
        whole, cents = text.split(",")
        groups = whole.split(".")
        assert len(cents) == 2 and all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3


def test_an_amount_is_right_on_its_digits_and_marks_read_as_digits_are_counted(
    writer: writers.Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench joins what the reader stores, compares it with the digits written, and counts
    an amount read with more digits than written as marks read as digits."""

    class Read:
        def __init__(self, value: str, confidence: float) -> None:
            self.strings = [type("S", (), {"value": value})()]
            self.confidence = confidence

    texts: list[str] = []

    def fake_amount(
        seed: int, w: object, style: str, signs: object, ruled: bool = False
    ) -> amounts.Amount:
        a = amounts.make_amount(seed, writer, style)
        texts.append(a.value)
        return a

    # In the bench's order: plain (read right, then a digit misread), currency ($ read as a
    # sure 4, then right).
    answers = iter(["right", "misread", "sign as 4", "right"])

    def fake_read(page: Page, classifier: object, settings: object) -> Read:
        v, how = texts[-1], next(answers)
        if how == "right":
            return Read(v, 0.99)
        if how == "sign as 4":
            return Read("4" + v, 0.95)
        return Read(v[:-1] + ("9" if v[-1] != "9" else "8"), 0.5)

    monkeypatch.setattr(bench_amounts, "make_amount", fake_amount)
    monkeypatch.setattr(bench_amounts, "read_photo", fake_read)
    monkeypatch.setattr(bench_amounts, "make_writer", lambda kind, split: writer)
    monkeypatch.setattr(bench_amounts, "sign_fonts", lambda split: [])
    monkeypatch.setattr(bench_amounts, "default_classifier", lambda settings: None)
    report = bench_amounts.evaluate(2, "validation", ["currency", "plain"])
    f = report["figures"]
    assert f["ALL"]["n"] == 4 and f["ALL"]["right"] == 0.5
    assert f["currency"]["marks_read_as_digits"] == 1 and f["currency"]["wrong_sure"] == 1
    assert f["plain"]["marks_read_as_digits"] == 0 and f["plain"]["wrong_sure"] == 0
