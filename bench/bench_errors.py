"""Where the page reader's digit errors come from, with a picture of each misread digit.

    python bench/bench_errors.py --digits validation --pages 200 --seeds 12345,0 --grid errors.png

Reads generated forms the way ``bench_reader`` does and traces every misread digit (fields read
with the right number of digits) back to the MNIST image that was written: what the generator
did to it (broken by a pen-lift gap, crossing a printed line, touching a neighbour, or nothing)
and whether the classifier misreads that image even clean, as MNIST has it. A digit misread
only on the page was damaged by the scan, the form's removal or the cut; one misread clean too
is the recognizer's. Wrong-length fields (a split or a merge) are counted apart. The grid shows,
for each misread digit, the MNIST image beside the crop the reader handed the classifier.
Choices are made on ``--digits validation``; the test split is for reporting only.
"""

from __future__ import annotations

import os
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from digitize.settings import Settings  # noqa: E402
from digitize.types import NOT_A_DIGIT, DigitClassifier, DigitResult  # noqa: E402
from model.training.synthetic import DigitSource  # noqa: E402

F32 = npt.NDArray[np.float32]
CAUSES = ("none", "broken", "crosses", "touches")


class Recording:
    """The classifier, keeping the batch of crops it was last given (the pipeline classifies a
    template page in one batch, so the page's digits index it by ``DigitResult.row``; a page
    read template-free may take two, see ``PageSegmentation.first_rows``)."""

    def __init__(self, inner: DigitClassifier) -> None:
        self.inner = inner
        self.crops: F32 | None = None

    def predict_proba(self, crops: F32) -> F32:
        self.crops = crops.copy()
        return self.inner.predict_proba(crops)

    def crop_of(self, digit: DigitResult) -> F32 | None:
        """The 28×28 crop behind a digit of the result: the row it was read from."""
        if digit.row is None or self.crops is None:
            return None
        return self.crops[digit.row]


@dataclass
class Miss:
    field: str
    truth: str
    read: str
    position: int
    confidence: float
    cause: str
    clean_read: int
    source: F32
    crop: F32 | None


def _cause(notes: list[str], i: int) -> str:
    flags = [n.split(":")[0] for n in notes if n.endswith(f":{i}")]
    return next((c for c in CAUSES[1:] if c in flags), "none")


def collect(
    classifier: DigitClassifier, source: DigitSource, pages: int, seeds: list[int]
) -> tuple[list[Miss], dict[str, int]]:
    """Read ``pages`` forms per seed written with ``source``; the misread digits and counts."""
    from bench.bench_reader import _png
    from model.training.synthetic import generated_forms
    from worker.pipeline import read_document

    unit = np.stack([source.image(i) for i in range(len(source.labels))])
    clean = classifier.predict_proba(unit)[:, :NOT_A_DIGIT].argmax(axis=1)
    misses: list[Miss] = []
    counts: Counter[str] = Counter()
    for k, sp, templates in generated_forms(source, pages, seeds):
        rec = Recording(classifier)
        (res,) = read_document(_png(sp.image), f"page{k}.png", templates, rec, Settings())
        got = {f.name: f for f in res.fields}
        for name, truth in sp.values.items():
            f = got.get(name)
            value = f.value if f is not None else ""
            counts["fields"] += 1
            counts["fields_exact"] += value == truth
            if f is None or len(value) != len(truth):
                counts["wrong_length_fields"] += 1
                continue
            for i, (t, r) in enumerate(zip(truth, value, strict=True)):
                counts["digits"] += 1
                if t == r:
                    continue
                idx = sp.sources[name][i]
                misses.append(
                    Miss(
                        name,
                        truth,
                        value,
                        i,
                        f.digits[i].confidence,
                        _cause(sp.notes.get(name, []), i),
                        int(clean[idx]),
                        unit[idx],
                        rec.crop_of(f.digits[i]) if res.template is not None else None,
                    )
                )
    return misses, dict(counts)


def summary(misses: list[Miss], counts: dict[str, int]) -> dict[str, Any]:
    by: dict[str, Any] = {}
    for c in CAUSES:
        mine = [m for m in misses if m.cause == c]
        clean_too = sum(m.clean_read != int(m.truth[m.position]) for m in mine)
        by[c] = {"misread": len(mine), "misread_clean_too": clean_too}
    return {
        **counts,
        "misread_digits": len(misses),
        "by_cause": by,
        "misread_on_the_page_only": sum(m.clean_read == int(m.truth[m.position]) for m in misses),
    }


def grid(misses: list[Miss], path: Path, cols: int = 8) -> None:
    """Each misread digit: MNIST's image | the reader's crop, labelled truth→read and cause."""
    tiles = []
    for m in misses:
        crop = m.crop if m.crop is not None else np.zeros((28, 28), np.float32)
        pair = np.concatenate([m.source, np.ones((28, 2), np.float32), crop], axis=1)
        t = cv2.resize(
            (pair * 255).astype(np.uint8), None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST
        )
        t = cv2.copyMakeBorder(t, 14, 2, 2, 2, cv2.BORDER_CONSTANT, value=80)
        label = f"{m.truth[m.position]}>{m.read[m.position]} {m.confidence:.2f} {m.cause[:5]}"
        cv2.putText(t, label, (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, 255, 1, cv2.LINE_AA)
        tiles.append(t)
    if not tiles:
        return
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + cols], axis=1) for i in range(0, len(tiles), cols)]
    cv2.imwrite(str(path), np.concatenate(rows, axis=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=100, help="pages per seed")
    ap.add_argument("--seeds", default="12345", help="comma-separated page seeds")
    ap.add_argument("--digits", choices=("test", "validation"), default="validation")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--grid", type=Path, default=None, help="write the misread digits' picture")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from model.inference import get_recognizer

    classifier = get_recognizer(args.model)
    seeds = [int(s) for s in args.seeds.split(",")]
    from bench.bench_reader import _digit_images

    source = DigitSource(*_digit_images(args.digits))
    misses, counts = collect(classifier, source, args.pages, seeds)
    report = summary(misses, counts)
    if args.grid:
        grid(misses, args.grid)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"fields {report['fields']}: exact {report['fields_exact'] / report['fields']:.2%}, "
        f"wrong length {report['wrong_length_fields']}"
    )
    print(
        f"digits in fields of the right length {report['digits']}: "
        f"misread {report['misread_digits']}, on the page only "
        f"{report['misread_on_the_page_only']}"
    )
    for cause, row in report["by_cause"].items():
        print(
            f"   {cause:8s} misread {row['misread']:4d}"
            f"  also misread clean {row['misread_clean_too']:4d}"
        )


if __name__ == "__main__":
    main()
