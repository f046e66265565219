"""``bench/bench_errors.py``: misread digits traced to the image written and to their cause."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.bench_errors import CAUSES, Recording, collect, grid, summary
from model.training.synthetic import DigitSource


@pytest.mark.slow
def test_every_misread_digit_is_traced_to_its_source(
    mnist_sample: tuple[np.ndarray, np.ndarray], swapped_recognizer: object, tmp_path: Path
) -> None:
    source = DigitSource(*mnist_sample)
    misses, counts = collect(swapped_recognizer, source, pages=3, seeds=[7])
    assert len(misses) >= 3
    assert sum(m.truth[m.position] in "17" for m in misses) >= 0.8 * len(misses)
    # the clean reading goes through the same (swapped) classifier: a swapped 1 reads 7 clean too
    ones = [m for m in misses if m.truth[m.position] == "1"]
    assert all(m.clean_read == 7 for m in ones if m.read[m.position] == "7")
    assert counts["fields"] > 20 and 0 < counts["fields_exact"] <= counts["fields"]
    report = summary(misses, counts)
    assert report["misread_digits"] == len(misses)
    assert sum(row["misread"] for row in report["by_cause"].values()) == len(misses)
    for m in misses:
        assert m.truth[m.position] != m.read[m.position] and m.cause in CAUSES
        # the source image is one of the sample's images of the digit that was written
        hits = [i for i in range(len(source.labels)) if np.array_equal(source.image(i), m.source)]
        assert hits and int(source.labels[hits[0]]) == int(m.truth[m.position])
        assert m.crop is not None and m.crop.shape == (28, 28)
    out = tmp_path / "grid.png"
    grid(misses, out)
    rows = -(-len(misses) // 8)
    assert cv2.imread(str(out)).shape[0] == rows * (3 * 28 + 16)


def test_recording_finds_the_crop_behind_a_digit(recognizer: object) -> None:
    from digitize.types import DigitResult

    rec = Recording(recognizer)  # type: ignore[arg-type]
    crops = np.zeros((3, 28, 28), np.float32)
    crops[1, 6:22, 12:16] = 1.0  # a "1"
    crops[2, 6:10, 8:20] = 1.0  # a bar
    p = rec.predict_proba(crops)
    d = DigitResult(value=1, confidence=float(p[1, 1]), box=(0, 0, 1, 1), probs=p[1, :10], row=1)
    got = rec.crop_of(d)
    assert got is not None and np.array_equal(got, crops[1])
