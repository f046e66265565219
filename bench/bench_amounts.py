"""Amounts as people write them (``bench.amounts``): what ``digitize predict`` stores, per style.

    python bench/bench_amounts.py                       # 20 amounts per style and writer
    python bench/bench_amounts.py --per-style 40 --errors
    python bench/bench_amounts.py --digits test --json  # test digits and signs: report only
    python bench/bench_amounts.py --ruled               # cut tight on a line or in a box

Each amount (``3.975,00``, ``$ 1.000.-``, ``45,-`` ...) is read like a photo
(``worker.pipeline.read_photo``); it is right when the digits read, joined, are its value (its
digits only, marks left out). ``marks read as digits`` counts amounts read with more digits
than written: a separator, sign or dash taken for a 1 or a 7. Intervals are Wilson 95 %.
``--digits validation`` (MNIST validation digits, validation fonts) is for choices.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.amounts import STYLES, make_amount, sign_fonts
from bench.bench_real import wilson
from bench.corpus.writers import make_writer
from digitize.settings import Settings
from digitize.types import Page
from worker.pipeline import default_classifier, read_photo

#: Seeds of the amounts: amount k of style s is seed SEED0 + 1000 * s + k.
SEED0 = 51000
SURE = 0.92


def evaluate(per_style: int, digits: str, styles: list[str], ruled: bool = False) -> dict[str, Any]:
    settings = Settings()
    classifier = default_classifier(settings)
    writers = [make_writer(kind, digits) for kind in ("mnist", "fonts")]
    signs = sign_fonts(digits)
    rows = []
    for s, style in enumerate(STYLES):
        if style not in styles:
            continue
        for k in range(per_style):
            writer = writers[k % 2]
            amount = make_amount(SEED0 + 1000 * s + k, writer, style, signs, ruled)
            pred = read_photo(Page(1, amount.image), classifier, settings)
            read = "".join(x.value for x in pred.strings)
            rows.append(
                {
                    "style": style,
                    "writer": writer.name,
                    "text": amount.text,
                    "value": amount.value,
                    "read": read,
                    "confidence": round(pred.confidence, 4),
                    "right": read == amount.value,
                    "extra": len(read) > len(amount.value),
                }
            )
    buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        buckets[str(r["style"])].append(r)
        buckets[f"writer:{r['writer']}"].append(r)
        buckets["ALL"].append(r)
    figures = {}
    order = [s for s in STYLES if s in buckets] + sorted(b for b in buckets if ":" in b) + ["ALL"]
    for name in order:
        rs = buckets[name]
        k = sum(r["right"] for r in rs)
        lo, hi = wilson(k, len(rs))
        figures[name] = {
            "n": len(rs),
            "right": round(k / len(rs), 4),
            "interval": [round(lo, 3), round(hi, 3)],
            "marks_read_as_digits": sum(r["extra"] for r in rs),
            "wrong_sure": sum(not r["right"] and r["confidence"] >= SURE for r in rs),
        }
    return {"figures": figures, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-style", type=int, default=20, help="amounts per style (both writers)")
    ap.add_argument("--digits", choices=("validation", "test"), default="validation")
    ap.add_argument("--styles", default="", help="comma-separated (default: all)")
    ap.add_argument("--errors", action="store_true", help="list every amount read wrong")
    ap.add_argument(
        "--ruled", action="store_true", help="cut tight, on a printed line or in a box (cheques)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    styles = [s for s in args.styles.split(",") if s] or list(STYLES)
    report = evaluate(args.per_style, args.digits, styles, args.ruled)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{'':22s} {'n':>4s} {'right [95 %]':>22s} {'marks as digits':>16s} {'wrong >= 0.92':>14s}"
    )
    for name, f in report["figures"].items():
        lo, hi = f["interval"]
        print(
            f"{name:22s} {f['n']:4d} {f['right']:8.1%} [{lo:.1%}, {hi:.1%}] "
            f"{f['marks_read_as_digits']:16d} {f['wrong_sure']:14d}"
        )
    if args.errors:
        for r in report["rows"]:
            if not r["right"]:
                print(
                    f"  {r['style']:16s} {r['text']:>14s} -> {r['read']:14s} {r['confidence']:.3f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
