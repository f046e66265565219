"""Real handwriting (../shared/data/real-handwriting): what ``digitize predict`` reads, by kind.

    python bench/bench_real.py                       # figures by kind, single digits vs strings
    python bench/bench_real.py --errors              # and every miss: written, read, confidence
    python bench/bench_real.py --json --data DIR     # another copy of the set

Evaluation and error analysis only: never train or tune on these images (their README). A
string is right when the digits read, joined, equal the label; cheque amounts are labelled
without separators (``3.975,00`` is ``397500``). Intervals are Wilson 95 %.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from digitize.errors import DigitizeError
from digitize.settings import Settings
from segmentation.loading import load_pages
from worker.pipeline import default_classifier, read_photo

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-handwriting"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def group_of(item: dict[str, Any]) -> str:
    if "cheque" in item.get("repo", "").lower() or "orand" in item.get("repo", "").lower():
        return "cheque"
    return str(item["kind"])


def evaluate(data: Path) -> dict[str, Any]:
    settings = Settings()
    classifier = default_classifier(settings)
    items = json.loads((data / "manifest.json").read_text())
    rows = []
    for item in items:
        path = data / item["file"]
        truth = str(item["value"])
        try:
            pages = load_pages(path.read_bytes(), path.name, max_pixels=settings.max_pixels)
            pred = read_photo(pages[0], classifier, settings)
            read, conf = "".join(s.value for s in pred.strings), pred.confidence
        except DigitizeError as exc:
            read, conf = f"<{exc.message}>", 0.0
        rows.append(
            {
                "file": item["file"],
                "group": group_of(item),
                "single": len(truth) == 1,
                "truth": truth,
                "read": read,
                "confidence": round(conf, 4),
                "right": read == truth,
            }
        )
    figures: dict[str, Any] = {}
    buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        buckets["all"].append(r)
        buckets[f"group:{r['group']}"].append(r)
        buckets["single digits" if r["single"] else "strings"].append(r)
    for name, rs in sorted(buckets.items()):
        k = sum(r["right"] for r in rs)
        lo, hi = wilson(k, len(rs))
        sure_wrong = sum(not r["right"] and r["confidence"] >= 0.92 for r in rs)
        figures[name] = {
            "n": len(rs),
            "right": round(k / len(rs), 4),
            "interval": [round(lo, 4), round(hi, 4)],
            "wrong_with_confidence_0.92": sure_wrong,
        }
    return {"figures": figures, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--errors", action="store_true")
    args = ap.parse_args(argv)
    if not (args.data / "manifest.json").is_file():
        print(f"no manifest.json in {args.data}", file=sys.stderr)
        return 2
    out = evaluate(args.data)
    if args.json:
        json.dump(out if args.errors else out["figures"], sys.stdout, indent=2)
        print()
        return 0
    for name, f in out["figures"].items():
        lo, hi = f["interval"]
        print(
            f"{name:18} {f['right']:7.2%} [{lo:.1%}, {hi:.1%}] of {f['n']:3}; "
            f"wrong at >= 0.92: {f['wrong_with_confidence_0.92']}"
        )
    if args.errors:
        for r in out["rows"]:
            if not r["right"]:
                miss = f"{r['truth']:>12} -> {r['read']:<14} {r['confidence']:.3f}"
                print(f"  {r['group']:6} {miss}  {r['file']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
