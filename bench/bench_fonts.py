"""Digits in held-out handwriting fonts, read by the classifier alone: how it does on new hands.

    python bench/bench_fonts.py                         # validation fonts (choices)
    python bench/bench_fonts.py --split test --json     # test fonts (reporting only)
    python bench/bench_fonts.py --model out/model/digits.json

Each digit is drawn by ``model.training.fonts.render_digit`` in a random font of the split
(random size, slant, width, jitter, pen) and cut out the reader's way (``crop_ink`` +
``to_mnist``), or grey with ``--grey``. The held-out fonts are never trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from model.inference import Recognizer
from model.training import fonts


def run(split: str, n: int, seed: int, model: Path | None, grey: bool) -> dict[str, object]:
    names = fonts.VALIDATION_FONTS if split == "validation" else fonts.TEST_FONTS
    per_font: dict[str, float] = {}
    right = total = 0
    rec = Recognizer(model)
    for k, name in enumerate(names):
        x, y = fonts.font_digits([fonts.font_path(name)], n, seed + k, 0.0 if grey else 1.0)
        pred = rec.predict_logits(x.astype(np.float32) / 255).argmax(1)
        ok = int((pred == y).sum())
        per_font[name] = ok / n
        right, total = right + ok, total + n
    return {"split": split, "digits": total, "accuracy": right / total, "per_font": per_font}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=("validation", "test"), default="validation")
    ap.add_argument("--n", type=int, default=2000, help="digits per font")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--grey", action="store_true", help="grey MNIST-like digits, not reader cuts")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res = run(a.split, a.n, a.seed, a.model, a.grey)
    if a.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{a.split} fonts: {res['accuracy']:.2%} of {res['digits']} digits")
        for name, acc in res["per_font"].items():  # type: ignore[attr-defined]
            print(f"  {name:>24}: {acc:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
