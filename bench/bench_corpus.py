"""The reader on the broad evaluation corpus (``bench.corpus``): per layout family and overall.

    python bench/bench_corpus.py --pages-per-family 10 --digits validation --writer both
    python bench/bench_corpus.py --families comb_full,comb_ticks --show out/corpus --json
    python bench/bench_corpus.py --speed --pages-per-family 4 --baseline main  # free ms/page
    python bench/bench_corpus.py --pages-per-family 8 --first-page 32  # pages 32-39: fresh
    python bench/bench_corpus.py --pages-per-family 8 --line-width 6  # bold print (1: hairlines)

Each page is read template-free (``templates=[]``) and with its own template through
``worker.pipeline.read_page`` on one core. Template mode: a field is exact when its value
equals the truth ("" for a field left empty). Template-free: read strings are matched to truth
fields by overlap (half the string's box inside the field's box, or IoU >= 0.3 with the written
digits); a truth field is "found and exact" when exactly one string overlaps it and its value is
the truth; a string overlapping no written field is *spurious* (printed structure, captions,
stamps or ticks read as digits). The review trade-off gives, at several thresholds, the share of
fields passing without review and the wrong among passed, where a spurious (or second) string
that passes counts as a wrong passed field. ``--digits validation`` (MNIST validation digits,
validation fonts) is for choices; ``--digits test`` only to report. Choices made on some pages
flatter them: ``--first-page`` reads pages never looked at (docs/corpus.md). 95 % intervals
come from resampling pages (``bench_reader._interval``).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus.layouts import FAMILIES, Box  # noqa: E402
from bench.corpus.pages import CorpusPage, TruthField, make_page  # noqa: E402
from bench.corpus.writers import Writer, make_writer  # noqa: E402
from digitize.settings import Settings  # noqa: E402
from digitize.types import DigitClassifier, FieldResult, Page  # noqa: E402

cv2.setNumThreads(1)
THRESHOLDS = (0.8, 0.9, 0.92, 0.95)
#: Seeds of the corpus pages: page k of a family is seed SEED0 + k.
SEED0 = 27000


def _area(b: Box) -> int:
    return max(0, b[2]) * max(0, b[3])


def _inter(a: Box, b: Box) -> int:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return max(0, x1 - x0) * max(0, y1 - y0)


def overlaps(read: Box, truth: TruthField) -> float:
    """How well a read string's box fits a truth field (0: not at all; > 0: overlapping)."""
    inside = _inter(read, truth.box) / max(1, _area(read))
    iou = 0.0
    if truth.ink is not None:
        i = _inter(read, truth.ink)
        iou = i / max(1, _area(read) + _area(truth.ink) - i)
    return max(iou, inside) if inside >= 0.5 or iou >= 0.3 else 0.0


def _passes(f: FieldResult, t: float, specs: Any, poor: bool) -> bool:
    from segmentation.review_flags import validate_fields

    (g,) = validate_fields([f], specs, field_threshold=t, digit_threshold=min(t, 0.9))
    return not g.needs_review and not poor


def score_template(page: CorpusPage, fields: list[FieldResult], specs: Any, poor: bool):
    """Per-page counters of a template read (fields, exact, passed/wrong at each threshold)."""
    got = {f.name: f for f in fields}
    c: Counter[str] = Counter()
    misses = []
    for tf in page.fields:
        f = got.get(tf.name)
        value = f.value if f is not None else None
        c["fields"] += 1
        c["exact"] += value == tf.value
        if value != tf.value:
            misses.append(f"{tf.name}: {tf.value!r} -> {value!r}")
        for t in THRESHOLDS:
            ok = f is not None and _passes(f, t, specs, poor)
            c[f"passed@{t}"] += ok
            c[f"wrong@{t}"] += ok and value != tf.value
    return c, misses


def match_free(page: CorpusPage, fields: list[FieldResult]):
    """Template-free strings against the truth: per truth field its strings, and the spurious."""
    written = [tf for tf in page.fields if tf.value]
    per_field: dict[str, list[FieldResult]] = defaultdict(list)
    spurious: list[FieldResult] = []
    for f in fields:
        if not f.value:
            continue
        best = max(written, key=lambda tf, b=f.box: overlaps(b, tf), default=None)
        if best is not None and overlaps(f.box, best) > 0:
            per_field[best.name].append(f)
        else:
            spurious.append(f)
    return written, per_field, spurious


def score_free(page: CorpusPage, fields: list[FieldResult]):
    written, per_field, spurious = match_free(page, fields)
    c: Counter[str] = Counter()
    misses = []
    for tf in written:
        got = per_field.get(tf.name, [])
        ok = len(got) == 1 and got[0].value == tf.value
        c["fields"] += 1
        c["found_exact"] += ok
        if not ok:
            misses.append(f"{tf.name}: {tf.value} -> {[g.value for g in got]}")
        for t in THRESHOLDS:
            passing = [g for g in got if _passes(g, t, None, False)]
            c[f"passed@{t}"] += bool(passing)
            right = [g for g in passing if g.value == tf.value][:1]
            c[f"wrong@{t}"] += len(passing) - len(right)  # misread, or a second string
            c[f"passed_units@{t}"] += len(passing)
    c["spurious"] = len(spurious)
    for f in spurious:
        misses.append(f"spurious {f.value!r} at {tuple(f.box)} conf {f.confidence:.2f}")
        for t in THRESHOLDS:
            p = _passes(f, t, None, False)
            c[f"wrong@{t}"] += p
            c[f"passed_units@{t}"] += p
    return c, misses


def read_corpus_page(
    page: CorpusPage, classifier: DigitClassifier, settings: Settings, mode: str
) -> dict[str, Any]:
    """Read one page ("free" or "template") and score it: counters, misses, ms, fields."""
    from segmentation.templates import load_templates
    from worker.pipeline import POOR_REGISTRATION, read_page

    templates = load_templates([page.template_path]) if mode == "template" else []
    t = perf_counter()
    res = read_page(Page(1, page.image), templates, classifier, settings)
    ms = (perf_counter() - t) * 1000
    if mode == "template":
        specs = templates[0].fields if res.template is not None else None
        poor = res.registration_quality is None or res.registration_quality < POOR_REGISTRATION
        counts, misses = score_template(page, res.fields, specs, poor)
        counts["registered"] += res.template is not None
    else:
        counts, misses = score_free(page, res.fields)
    return {"counts": counts, "misses": misses, "ms": ms, "fields": res.fields}


def _ratio(pages: list[Counter[str]], num: str, den: str) -> dict[str, Any]:
    from bench.bench_reader import _interval

    n = np.array([p[num] for p in pages], float)
    d = np.array([p[den] for p in pages], float)
    return {"value": round(float(n.sum() / max(1, d.sum())), 4), "ci95": _interval(n, d)}


def summarize(results: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    """Figures of a list of page results of one mode ("template" or "free")."""
    pages = [r["counts"] for r in results]
    free = mode == "free"
    out: dict[str, Any] = {"pages": len(pages), "fields": int(sum(p["fields"] for p in pages))}
    if free:
        out["found_and_exact"] = _ratio(pages, "found_exact", "fields")
        out["spurious_per_page"] = round(sum(p["spurious"] for p in pages) / len(pages), 3)
    else:
        out["fields_exact"] = _ratio(pages, "exact", "fields")
    rows = []
    for t in THRESHOLDS:
        units = f"passed_units@{t}" if free else f"passed@{t}"
        rows.append(
            {
                "threshold": t,
                "pass_without_review": _ratio(pages, f"passed@{t}", "fields")["value"],
                "wrong_among_passed": _ratio(pages, f"wrong@{t}", units),
            }
        )
    out["review_tradeoff"] = rows
    out["ms_per_page_median"] = round(statistics.median(r["ms"] for r in results), 1)
    return out


def draw(page: CorpusPage, fields: list[FieldResult], path: Path) -> None:
    """The scan with truth fields (green) and read strings (green right, red wrong/spurious)."""
    img = cv2.cvtColor(page.image, cv2.COLOR_GRAY2BGR)
    truth = {tf.name: tf for tf in page.fields}
    for tf in page.fields:
        x, y, w, h = tf.box
        cv2.rectangle(img, (x, y), (x + w, y + h), (0, 170, 0), 2)
        cv2.putText(img, tf.value or "-", (x, y + h + 26), 0, 0.8, (0, 170, 0), 2)
    _written, per_field, _ = match_free(page, fields)
    right = {id(v[0]) for k, v in per_field.items() if len(v) == 1 and v[0].value == truth[k].value}
    for f in fields:
        x, y, w, h = f.box
        col = (0, 200, 0) if id(f) in right else (0, 0, 230)
        cv2.rectangle(img, (x, y), (x + w, y + h), col, 2)
        cv2.putText(img, f"{f.value} {f.confidence:.2f}", (x, max(20, y - 6)), 0, 0.8, col, 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def run(
    families: list[str],
    pages_per_family: int,
    writers: list[Writer],
    classifier: DigitClassifier,
    *,
    show: Path | None = None,
    show_pages: int = 2,
    progress: bool = False,
    first_page: int = 0,
    line_width: int | None = None,
) -> dict[str, Any]:
    settings = Settings()
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)  # (family, mode)
    by_writer: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    for fam in families:
        for k in range(first_page, first_page + pages_per_family):
            writer = writers[k % len(writers)]
            page = make_page(fam, SEED0 + k, writer, line_width=line_width)
            for mode in ("template", "free"):
                r = read_corpus_page(page, classifier, settings, mode)
                by[fam, mode].append(r)
                by_writer[writer.name, mode].append(r)
                misses[f"{fam}/{mode}"] += [f"p{k} {m}" for m in r["misses"]][:6]
                if show is not None and k < first_page + show_pages:
                    draw(page, r["fields"], show / f"{fam}_{k}_{mode}.png")
            if progress:
                print(f"  {fam} page {k} done", file=sys.stderr, flush=True)
    report: dict[str, Any] = {"families": {}, "writers": {}, "overall": {}}
    for fam in families:
        report["families"][fam] = {m: summarize(by[fam, m], m) for m in ("template", "free")}
    for w in writers:
        if by_writer[w.name, "free"]:
            report["writers"][w.name] = {
                m: summarize(by_writer[w.name, m], m) for m in ("template", "free")
            }
    for m in ("template", "free"):
        report["overall"][m] = summarize([r for fam in families for r in by[fam, m]], m)
    report["misses"] = {k: v[:12] for k, v in misses.items()}
    return report


def _fmt(r: dict[str, Any]) -> str:
    lo, hi = r["ci95"]
    return f"{r['value']:.3f} [{lo:.2f}-{hi:.2f}]"


def print_report(report: dict[str, Any]) -> None:
    head = (
        f"{'family':16s} {'tmpl exact [95%]':>20s} {'free found+exact':>20s} {'spur/pg':>7s} "
        f"{'ms tmpl':>7s} {'ms free':>7s}"
    )
    print(head)
    rows = [*report["families"].items(), *report["writers"].items(), ("OVERALL", report["overall"])]
    for i, (name, r) in enumerate(rows):
        if i == len(report["families"]) or name == "OVERALL":
            print("-" * len(head))
        t, f = r["template"], r["free"]
        print(
            f"{name:16s} {_fmt(t['fields_exact']):>20s} {_fmt(f['found_and_exact']):>20s} "
            f"{f['spurious_per_page']:7.2f} {t['ms_per_page_median']:7.0f} "
            f"{f['ms_per_page_median']:7.0f}"
        )
    print("\nreview trade-off: pass without review / wrong among passed, per threshold")
    print(f"{'family':16s} {'mode':9s} " + "  ".join(f"{t:>15}" for t in THRESHOLDS))
    for name, r in rows:
        for mode in ("template", "free"):
            cells = [
                f"{x['pass_without_review']:.3f}/{x['wrong_among_passed']['value']:.3f}"
                for x in r[mode]["review_tradeoff"]
            ]
            print(f"{name:16s} {mode:9s} " + "  ".join(f"{c:>15}" for c in cells))
    print("\nfirst misses per family and mode:")
    for key, lines in report["misses"].items():
        for line in lines[:4]:
            print(f"  {key:28s} {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages-per-family", type=int, default=10)
    ap.add_argument(
        "--first-page",
        type=int,
        default=0,
        help="read pages from this one on: a slice no choice was made on (e.g. 32)",
    )
    ap.add_argument(
        "--line-width",
        type=int,
        default=None,
        help="print every form's structure with this pen (pixels at 200 dpi; drawn: 1-4), "
        "a stress test of hairline (1) or bold (6) print",
    )
    ap.add_argument("--digits", choices=("validation", "test"), default="validation")
    ap.add_argument("--writer", choices=("mnist", "fonts", "both"), default="both")
    ap.add_argument("--families", default="", help="comma-separated (default: all)")
    ap.add_argument("--show", type=Path, default=None, help="write annotated pages here")
    ap.add_argument("--json", action="store_true")
    speed = ap.add_argument_group("speed (bench/free_speed.py: template-free ms per page only)")
    speed.add_argument("--speed", action="store_true", help="time template-free reading")
    speed.add_argument("--baseline", default=None, help="git revision timed beside this tree")
    speed.add_argument("--dpi", type=float, default=None, help="scan every page at this dpi")
    speed.add_argument("--rounds", type=int, default=3, help="a page's time: its fastest round")
    args = ap.parse_args()
    from worker.pipeline import default_classifier

    families = [f for f in args.families.split(",") if f] or list(FAMILIES)
    kinds = ["mnist", "fonts"] if args.writer == "both" else [args.writer]
    writers = [make_writer(k, args.digits) for k in kinds]
    if args.speed:
        from bench.free_speed import compare, make_pages, print_speed

        pages = make_pages(families, args.pages_per_family, writers, args.dpi)
        speed_report = compare(pages, args.baseline, args.rounds)
        print(json.dumps(speed_report, indent=2) if args.json else "", end="")
        if not args.json:
            print_speed(speed_report)
        return
    classifier = default_classifier(Settings())
    classifier.predict_proba(np.zeros((1, 28, 28), np.float32))  # load before timing
    report = run(
        families,
        args.pages_per_family,
        writers,
        classifier,
        show=args.show,
        progress=not args.json,
        first_page=args.first_page,
        line_width=args.line_width,
    )
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
