"""Can the validation data tell two models apart? Paired errors and McNemar's exact test.

    python bench/compare_models.py model/weights/digits.json out/model/digits.json --pages 200

Both models read the same held-out items: the 5,000 validation digits as MNIST has them, the
same digits cut out the page reader's way, synthesised non-digits, and (``--pages``) generated
forms written with validation digits. For each set it prints each model's errors and the
discordant pairs (items only one of them gets wrong), with McNemar's exact p-value: the chance of
a split at least that uneven if the two were equally good. A "better" model whose p is large has
not been shown better; the MNIST test digits are never read here (they are for reporting).
"""

from __future__ import annotations

import os
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

from digitize.settings import Settings  # noqa: E402
from digitize.types import NOT_A_DIGIT, DigitClassifier  # noqa: E402
from model.training.synthetic import DigitSource  # noqa: E402

B = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Paired:
    """Two models' right/wrong on the same items."""

    items: int
    errors_a: int
    errors_b: int
    only_a_wrong: int
    only_b_wrong: int
    p_value: float  #: McNemar's exact (two-sided binomial on the discordant pairs)


def paired(right_a: B, right_b: B) -> Paired:
    """Compare per-item correctness of two models on the same items."""
    right_a, right_b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    if right_a.shape != right_b.shape:
        raise ValueError(f"items differ: {right_a.shape} against {right_b.shape}")
    only_a = int((~right_a & right_b).sum())
    only_b = int((right_a & ~right_b).sum())
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return Paired(
        len(right_a), int((~right_a).sum()), int((~right_b).sum()), only_a, only_b, float(p)
    )


def crop_sets(
    images: U8, labels: npt.NDArray[Any], seed: int = 99
) -> dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[Any]]]:
    """The held-out crops: the digits clean and reader-style, and non-digits made from them."""
    from model.training.augment import page_style_batch
    from model.training.data import to_unit
    from model.training.fragments import make_fragments

    frags, _ = make_fragments(images, max(1, 3 * len(images) // 10), seed=seed)
    return {
        "digits": (to_unit(images), labels),
        "reader-style digits": (page_style_batch(images, np.random.default_rng(seed)), labels),
        "non-digits": (frags, np.full(len(frags), NOT_A_DIGIT)),
    }


def right_on_crops(classifier: DigitClassifier, x: npt.NDArray[np.float32], y: Any) -> B:
    return np.asarray(classifier.predict_proba(x).argmax(axis=1) == y)


def right_on_pages(
    classifiers: list[DigitClassifier], source: DigitSource, pages: int, seeds: list[int]
) -> list[B]:
    """Per field of forms generated with ``source``: read exactly right, for each classifier."""
    from bench.bench_reader import _png
    from model.training.synthetic import generated_forms
    from worker.pipeline import read_document

    right: list[list[bool]] = [[] for _ in classifiers]
    for k, sp, templates in generated_forms(source, pages, seeds):
        data = _png(sp.image)
        for out, clf in zip(right, classifiers, strict=True):
            (res,) = read_document(data, f"page{k}.png", templates, clf, Settings())
            got = {f.name: f.value for f in res.fields}
            out.extend(got.get(n) == truth for n, truth in sp.values.items())
    return [np.array(r, bool) for r in right]


def compare(
    a: DigitClassifier,
    b: DigitClassifier,
    images: U8,
    labels: npt.NDArray[Any],
    pages: int = 0,
    seeds: tuple[int, ...] = (12345,),
) -> dict[str, Paired]:
    """Both classifiers on crops made from ``images`` and on ``pages`` forms written with them."""
    out = {
        name: paired(right_on_crops(a, x, y), right_on_crops(b, x, y))
        for name, (x, y) in crop_sets(images, labels).items()
    }
    if pages:
        fa, fb = right_on_pages([a, b], DigitSource(images, labels), pages, list(seeds))
        out["form fields (exact)"] = paired(fa, fb)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model_a", type=Path, help="a model's digits.json (e.g. the shipped one)")
    ap.add_argument("model_b", type=Path, help="the model to compare with it")
    ap.add_argument("--pages", type=int, default=0, help="generated forms per seed (0: none)")
    ap.add_argument("--seeds", default="12345,0", help="comma-separated page seeds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from model.inference import Recognizer
    from model.training.data import load_mnist

    a, b = Recognizer(args.model_a, num_threads=1), Recognizer(args.model_b, num_threads=1)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    m = load_mnist()
    result = compare(a, b, m.x_val, m.y_val, args.pages, seeds)
    if args.json:
        print(json.dumps({k: asdict(v) for k, v in result.items()}, indent=2))
        return
    print(f"A = {args.model_a}\nB = {args.model_b}")
    print(
        f"{'held-out set':22s} {'items':>6s} {'A wrong':>8s} {'B wrong':>8s} "
        f"{'only A':>7s} {'only B':>7s} {'p':>6s}"
    )
    for name, r in result.items():
        print(
            f"{name:22s} {r.items:6d} {r.errors_a:8d} {r.errors_b:8d} "
            f"{r.only_a_wrong:7d} {r.only_b_wrong:7d} {r.p_value:6.3f}"
        )


if __name__ == "__main__":
    main()
