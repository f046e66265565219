"""How well form removal separates handwriting from the printed form, on generated pages.

For each registered page, ``Registration.ink`` inside the field regions is compared with the
generator's pen mask (pixels where the pen darkened blank paper): recall = pen pixels kept (within
1 px), precision = kept pixels that are pen (within 1 px; the rest is printed form or noise).
Run: ``python bench/bench_inkremoval.py --pages 30``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import cv2
import numpy as np

from digitize.types import Page
from model.training import forms, synthetic
from segmentation.registration import identify
from segmentation.templates import load_templates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=30)
    ap.add_argument("--seed", type=int, default=3000)
    ap.add_argument("--digits", type=Path, default=Path("tests/data/mnist_sample.npz"))
    args = ap.parse_args()
    source = (
        synthetic.digit_source_from_npz(args.digits)
        if args.digits.exists()
        else synthetic.font_digit_source()
    )
    names = list(forms.ALL_LAYOUTS)
    with tempfile.TemporaryDirectory() as tmp:
        templates = load_templates(synthetic.write_templates(Path(tmp), names))
    recalls, precisions = [], []
    k3 = np.ones((3, 3), np.uint8)
    for i in range(args.pages):
        sp = synthetic.make_page(names[i % len(names)], source, args.seed + i)
        reg = identify(Page(1, sp.image), templates)
        if reg is None or reg.template.name != sp.template or sp.handwriting is None:
            print("not registered:", i)
            continue
        inside = np.zeros(reg.ink.shape, bool)
        for x, y, w, h in reg.regions:
            inside[y : y + h, x : x + w] = True
        pen = (sp.handwriting > 0) & inside
        got = (reg.ink > 0) & inside
        recalls.append(
            np.count_nonzero(pen & cv2.dilate(got.astype(np.uint8), k3).astype(bool))
            / max(np.count_nonzero(pen), 1)
        )
        precisions.append(
            np.count_nonzero(got & cv2.dilate(pen.astype(np.uint8), k3).astype(bool))
            / max(np.count_nonzero(got), 1)
        )
    print(
        f"pages {len(recalls)}: handwriting recall median {statistics.median(recalls):.3f} "
        f"min {min(recalls):.3f}; precision median {statistics.median(precisions):.3f} "
        f"min {min(precisions):.3f}"
    )


if __name__ == "__main__":
    main()
