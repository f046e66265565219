"""The template designer's field finder (``segmentation.form_fields.find_fields``), measured.

    python bench/bench_designer.py --seeds 20            # report seeds 100..119
    python bench/bench_designer.py --seeds 10 --seed0 0  # the seeds parameters were chosen on
    python bench/bench_designer.py --families comb_ticks,dotted --json

Two generators: the broad corpus (``bench.corpus``: 15 layout families) and the bundled
examples' forms (``model.training.forms``, the references of ``examples/templates``). For each
blank form, and for the same form filled and scanned (``make_page``, scan effects included),
found fields are matched one to one to the true ones (greedy by IoU, IoU >= 0.6): *recall* is
the share of true fields found, *precision* the share of proposals that are true fields,
*kind* the share of matched fields of the right kind, *cells* the share of matched combs with
the right cell count. ms is the median time per page. *Drafted reading*: a template is drafted
from the blank form (``segmentation.template_draft.draft_template``), saved with its reference,
and the family's filled scans are read with it (``worker.pipeline.read_page``, one core); each
true field takes the value of the drafted field matched to it, and *exact* is the share of true
fields read exactly ("" for one left empty; a missed field counts as wrong). Seeds 0..9 were
used to choose parameters; report on others (default 100..). Intervals are 95 % Wilson.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus.layouts import FAMILIES  # noqa: E402
from bench.corpus.pages import layout, make_page  # noqa: E402
from bench.corpus.writers import Writer, make_writer  # noqa: E402
from segmentation.form_fields import FoundField, find_fields  # noqa: E402

cv2.setNumThreads(1)
Box = tuple[int, int, int, int]
IOU = 0.6
EXAMPLE_LAYOUTS = ("claim", "survey", "order")


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    return i / max(1e-9, a[2] * a[3] + b[2] * b[3] - i)


def match(true: Sequence[Sequence[float]], found: Sequence[Sequence[float]]) -> dict[int, int]:
    """Greedy one-to-one matching by IoU (>= IOU): true index -> found index."""
    pairs = sorted(
        ((iou(t, f), i, j) for i, t in enumerate(true) for j, f in enumerate(found)), reverse=True
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for v, i, j in pairs:
        if v < IOU:
            break
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def score(truth: list[tuple[str, Box, int | None]], found: list[FoundField]) -> Counter[str]:
    """Counters of one page: true, proposed, matched, kind right, combs matched, cells right."""
    m = match([t[1] for t in truth], [f.box for f in found])
    c: Counter[str] = Counter(true=len(truth), proposed=len(found), matched=len(m))
    for i, j in m.items():
        kind, _, cells = truth[i]
        c["kind_ok"] += found[j].kind == kind
        if kind == "comb":
            c["combs"] += 1
            c["cells_ok"] += found[j].kind == "comb" and found[j].cells == cells
    return c


def wilson(k: float, n: float) -> list[float]:
    if n <= 0:
        return [float("nan"), float("nan")]
    z, p = 1.96, k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(mid - half, 4), round(mid + half, 4)]


def _ratio(c: Counter[str], num: str, den: str) -> dict[str, Any]:
    return {"value": round(c[num] / max(1, c[den]), 4), "ci95": wilson(c[num], c[den])}


def summarize(pages: list[tuple[Counter[str], float]]) -> dict[str, Any]:
    c: Counter[str] = Counter()
    for p, _ in pages:
        c.update(p)
    return {
        "pages": len(pages),
        "true": c["true"],
        "recall": _ratio(c, "matched", "true"),
        "precision": _ratio(c, "matched", "proposed"),
        "kind": _ratio(c, "kind_ok", "matched"),
        "cells": _ratio(c, "cells_ok", "combs"),
        "ms_median": round(statistics.median(ms for _, ms in pages), 1) if pages else 0.0,
    }


def timed_find(grey: np.ndarray) -> tuple[list[FoundField], float]:
    t = perf_counter()
    found = find_fields(grey)
    return found, (perf_counter() - t) * 1000


def corpus_truth(family: str, seed: int) -> list[tuple[str, Box, int | None]]:
    return [
        (f.kind, f.box, len(f.cells) if f.kind == "comb" else None)
        for f in layout(family, seed).fields
    ]


def draft(grey: np.ndarray, name: str, folder: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A drafted template (JSON + reference PNG) of the blank form ``grey``, and its fields."""
    png = folder / f"{name}.png"
    cv2.imwrite(str(png), grey)
    try:
        from segmentation.template_draft import draft_template

        spec = draft_template(grey, name, png.name)
    except Exception:
        h, w = grey.shape[:2]
        fields = []
        for i, f in enumerate(find_fields(grey), 1):
            d: dict[str, Any] = {"name": f"field_{i}", "box": list(f.box), "kind": f.kind}
            if f.kind == "comb" and f.cells:
                d["cells"] = f.cells
            fields.append(d)
        spec = {"name": name, "reference": png.name, "size": [w, h], "fields": fields}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(spec))
    return path, list(spec["fields"])


class Reader:
    """Reads filled scans with a drafted template; scores fields exact against the truth."""

    def __init__(self) -> None:
        from digitize.settings import Settings
        from worker.pipeline import default_classifier

        self.settings = Settings()
        self.classifier = default_classifier(self.settings)
        self.classifier.predict_proba(np.zeros((1, 28, 28), np.float32))

    def read(
        self, template: Path, drafted: list[dict[str, Any]], image: np.ndarray,
        truth: list[tuple[Box, str]],
    ) -> Counter[str]:  # fmt: skip
        """``truth``: (box in the reference's pixels, value) of each true field."""
        from digitize.types import Page
        from segmentation.templates import load_templates
        from worker.pipeline import read_page

        templates = load_templates([template]) if drafted else []
        res = read_page(Page(1, image), templates, self.classifier, self.settings)
        got = {f.name: f.value for f in res.fields} if res.template is not None else {}
        m = match([b for b, _ in truth], [d["box"] for d in drafted])
        c: Counter[str] = Counter(fields=len(truth))
        for i, (_, value) in enumerate(truth):
            j = m.get(i)
            c["exact"] += j is not None and got.get(drafted[j]["name"]) == value
        return c


def run(
    families: list[str], seeds: list[int], writer: Writer | None, reader: Reader | None,
    *, examples: bool = True, progress: bool = False, example_pages: int = 0,
) -> dict[str, Any]:  # fmt: skip
    blank: dict[str, list[tuple[Counter[str], float]]] = defaultdict(list)
    filled: dict[str, list[tuple[Counter[str], float]]] = defaultdict(list)
    reading: dict[str, Counter[str]] = defaultdict(Counter)
    tmp = Path(tempfile.mkdtemp(prefix="digitize-designer-"))
    for fam in families:
        for seed in seeds:
            lay = layout(fam, seed)
            truth = corpus_truth(fam, seed)
            found, ms = timed_find(lay.grey)
            blank[fam].append((score(truth, found), ms))
            if writer is None:
                continue
            page = make_page(fam, seed, writer)
            scan_truth = [(f.kind, f.box, t[2]) for f, t in zip(page.fields, truth, strict=True)]
            found, ms = timed_find(page.image)
            filled[fam].append((score(scan_truth, found), ms))
            if reader is not None:
                path, drafted = draft(lay.grey, f"{fam}_{seed}", tmp)
                ref_truth = [(f.box, t.value) for f, t in zip(lay.fields, page.fields, strict=True)]
                reading[fam].update(reader.read(path, drafted, page.image, ref_truth))
        if progress:
            print(f"  {fam} done", file=sys.stderr, flush=True)
    if examples:
        pages = example_pages or max(1, len(seeds) // 2)
        _examples(seeds, blank, filled, reading, reader, tmp, writer is not None, pages)
    report: dict[str, Any] = {"seeds": [seeds[0], seeds[-1]], "iou": IOU, "groups": {}}
    names = list(blank)
    for name in names:
        r: dict[str, Any] = {"blank": summarize(blank[name])}
        if filled.get(name):
            r["filled"] = summarize(filled[name])
        if name in reading:
            r["drafted_exact"] = _ratio(reading[name], "exact", "fields")
        report["groups"][name] = r
    for label, keep in (
        ("OVERALL corpus", set(families)),
        ("OVERALL examples", set(names) - set(families)),
    ):
        if not keep:
            continue
        r = {"blank": summarize([p for n in names if n in keep for p in blank[n]])}
        if any(filled.get(n) for n in keep):
            r["filled"] = summarize([p for n in names if n in keep for p in filled[n]])
        total: Counter[str] = Counter()
        for n in keep:
            total.update(reading.get(n, Counter()))
        if total:
            r["drafted_exact"] = _ratio(total, "exact", "fields")
        report["groups"][label] = r
    return report


def _examples(
    seeds: list[int], blank: dict[str, Any], filled: dict[str, Any],
    reading: dict[str, Counter[str]], reader: Reader | None, tmp: Path, with_filled: bool,
    pages: int = 1,
) -> None:  # fmt: skip
    """The bundled examples' forms: their reference against their template, and filled pages."""
    from model.training import forms, synthetic

    source = synthetic.digit_source_from_npz(
        Path(__file__).resolve().parents[1] / "tests" / "data" / "mnist_sample.npz"
    )
    for name in EXAMPLE_LAYOUTS:
        lay = forms.ALL_LAYOUTS[name]
        ref = forms.draw_reference(lay)
        truth = [(f.kind, f.box, f.cells if f.kind == "comb" else None) for f in lay.fields]
        found, ms = timed_find(ref)
        key = f"example:{name}"
        blank[key].append((score(truth, found), ms))
        if not with_filled:
            continue
        path, drafted = (None, []) if reader is None else draft(ref, f"ex_{name}", tmp)
        for k in range(pages):
            seed = seeds[0] + k
            page = synthetic.make_page(name, source, 5000 + seed)
            scan_truth = [
                (f.kind, page.field_boxes[f.name], t[2])
                for f, t in zip(lay.fields, truth, strict=True)
            ]
            found, ms = timed_find(page.image)
            filled[key].append((score(scan_truth, found), ms))
            if reader is not None and path is not None:
                ref_truth = [(f.box, page.values[f.name]) for f in lay.fields]
                reading[key].update(reader.read(path, drafted, page.image, ref_truth))


def _fmt(r: dict[str, Any] | None) -> str:
    return "    -" if r is None else f"{r['value']:.3f}"


def print_report(report: dict[str, Any]) -> None:
    head = (
        f"{'family':18s} | {'recall':>6s} {'prec':>6s} {'kind':>6s} {'cells':>6s} {'ms':>5s} | "
        f"{'recall':>6s} {'prec':>6s} {'kind':>6s} {'cells':>6s} {'ms':>5s} | {'read':>6s}"
    )
    print(f"{'':18s} | {'blank form':^33s} | {'filled scan':^33s} | drafted")
    print(head)
    for name, r in report["groups"].items():
        if name.startswith("OVERALL") or (name.startswith("example:") and "OVERALL corpus" in name):
            pass
        if name == "OVERALL corpus" or name == "example:claim":
            print("-" * len(head))
        cols = []
        for part in ("blank", "filled"):
            s = r.get(part)
            if s is None:
                cols.append(f"{'':33s}")
                continue
            cells = _fmt(s["cells"]) if s["cells"]["ci95"][0] == s["cells"]["ci95"][0] else "-"
            cols.append(
                f"{_fmt(s['recall']):>6s} {_fmt(s['precision']):>6s} {_fmt(s['kind']):>6s} "
                f"{cells:>6s} "
                f"{s['ms_median']:5.0f}"
            )
        print(f"{name:18s} | {cols[0]} | {cols[1]} | {_fmt(r.get('drafted_exact')):>6s}")
    for name, r in report["groups"].items():
        if name.startswith("OVERALL"):
            b = r["blank"]
            print(
                f"\n{name}: blank recall {b['recall']['value']:.3f} {b['recall']['ci95']}, "
                f"precision {b['precision']['value']:.3f} {b['precision']['ci95']}"
            )
            if "drafted_exact" in r:
                d = r["drafted_exact"]
                print(f"  read with drafted templates: exact {d['value']:.3f} {d['ci95']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20, help="pages per family")
    ap.add_argument("--seed0", type=int, default=100, help="first seed (0..9 tuned on)")
    ap.add_argument("--families", default="", help="comma-separated (default: all)")
    ap.add_argument("--digits", choices=("validation", "test"), default="validation")
    ap.add_argument("--writer", choices=("mnist", "fonts"), default="mnist")
    ap.add_argument("--blank-only", action="store_true", help="no filled pages, no reading")
    ap.add_argument("--no-read", action="store_true", help="no reading with drafted templates")
    ap.add_argument("--no-examples", action="store_true")
    ap.add_argument(
        "--example-pages", type=int, default=0, help="filled pages per example (default: seeds / 2)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    families = [f for f in args.families.split(",") if f] or list(FAMILIES)
    seeds = list(range(args.seed0, args.seed0 + args.seeds))
    writer = None if args.blank_only else make_writer(args.writer, args.digits)
    reader = None if args.blank_only or args.no_read else Reader()
    report = run(
        families,
        seeds,
        writer,
        reader,
        examples=not args.no_examples,
        progress=not args.json,
        example_pages=args.example_pages,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
