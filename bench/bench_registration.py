"""Registration benchmark: success rate, corner error, identification accuracy and time per page.

Pages come from the synthetic generator across the whole effect range (dpi 150–300, any quarter
turn ± 5°, perspective, noise, blur, JPEG, fax, uneven light) over every layout, plus pages of no
known form that must give None. Run: ``python bench/bench_registration.py --pages 100``.

``--corpus N`` instead registers N filled pages of each family of the broad corpus
(``bench.corpus``, MNIST validation digits) against two templates of that family (its own and
another seed's), and against two others alone, which must give None: per family, how many
registered by features, by the fallback, not at all or to the wrong template.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from digitize.types import Page
from model.training import forms, synthetic
from segmentation import registration
from segmentation.registration import identify, warm
from segmentation.templates import load_templates


def corner_error(
    true_h: np.ndarray, est_h: np.ndarray, boxes: list[tuple[int, int, int, int]]
) -> float:
    pts = np.array(
        [[[x, y], [x + w, y], [x + w, y + h], [x, y + h]] for x, y, w, h in boxes], dtype=np.float64
    )
    pts = pts.reshape(1, -1, 2)
    a = cv2.perspectiveTransform(pts, true_h)[0]
    b = cv2.perspectiveTransform(pts, est_h)[0]
    return float(np.linalg.norm(a - b, axis=1).max())


class FitRecorder:
    """Every quality ``verify`` gives, with its template's name and the path that asked (feature
    fits are kept from ``MIN_QUALITY``, fallback fits from ``FALLBACK_QUALITY``)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, float, str]] = []
        self._verify = registration.verify

        def recording(work: np.ndarray, t: object, h: np.ndarray) -> float:
            q = self._verify(work, t, h)  # type: ignore[arg-type]
            path = "fallback" if "fallback" in sys._getframe(1).f_code.co_name else "features"
            self.seen.append((t.name, q, path))  # type: ignore[attr-defined]
            return q

        registration.verify = recording  # type: ignore[assignment]

    def take(self) -> list[tuple[str, float, str]]:
        out, self.seen = self.seen, []
        return out


def lead(fits: list[tuple[str, float, str]], right: str) -> list[float]:
    """How far the best fit of the ``right`` template came above the best of the others tried
    beside it on one page (``[]`` when either was not tried)."""
    right_q = [q for name, q, _ in fits if name == right]
    look_q = [q for name, q, _ in fits if name != right]
    return [max(right_q) - max(look_q)] if right_q and look_q else []


def closest_wrong(wrong: list[tuple[str, float, str]]) -> str:
    """Per path, the highest quality a wrong template reached against the floor that refuses it."""
    parts = []
    for path, floor in (
        ("features", registration.MIN_QUALITY),
        ("fallback", registration.FALLBACK_QUALITY),
    ):
        qs = [q for _, q, p in wrong if p == path]
        if qs:
            parts.append(
                f"{path} {max(qs):.3f} of {len(qs)} (floor {floor}, margin {floor - max(qs):+.3f})"
            )
    return "closest wrong fit: " + ("; ".join(parts) or "none tried")


def corpus_run(per_family: int) -> None:
    """Registration on the broad corpus: per family, by method, and false fits."""
    from collections import Counter

    from bench.bench_corpus import SEED0
    from bench.corpus.layouts import FAMILIES
    from bench.corpus.pages import make_page, template_path
    from bench.corpus.writers import make_writer

    writer = make_writer("mnist", "validation")
    total: Counter[str] = Counter()
    times: list[float] = []
    recorder, wrong_q, leads = FitRecorder(), [], []
    right_quality: list[float] = []
    for family in FAMILIES:
        counts: Counter[str] = Counter()
        for k in range(per_family):
            seed = SEED0 + k
            page = Page(1, make_page(family, seed, writer).image)
            own = load_templates([template_path(family, seed), template_path(family, seed + 500)])
            others = load_templates(
                [template_path(family, seed + 600), template_path(family, seed + 700)]
            )
            warm(own + others)
            recorder.take()
            t0 = time.thread_time()
            reg = identify(page, own)
            times.append((time.thread_time() - t0) * 1000)
            leads += lead(recorder.take(), f"{family}_{seed}")
            if reg is None:
                counts["none"] += 1
            elif reg.template.name != f"{family}_{seed}":
                counts["wrong"] += 1
            else:
                counts[reg.method] += 1
                right_quality.append(reg.quality)
            counts["false fit"] += identify(page, others) is not None
            wrong_q += recorder.take()
        total.update(counts)
        print(f"{family:16s} " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    n = per_family * len(FAMILIES)
    print(
        f"all {n} pages: "
        + "  ".join(f"{k} {v}" for k, v in sorted(total.items()))
        + f"; CPU ms per page median {statistics.median(times):.1f}"
    )
    if right_quality:
        print(
            f"quality of right registrations: min {min(right_quality):.3f} "
            f"p5 {np.percentile(right_quality, 5):.3f} "
            f"median {statistics.median(right_quality):.3f}"
        )
    print("with no right template: " + closest_wrong(wrong_q))
    if leads:
        print(f"right fit's lead over a look-alike tried beside it: min {min(leads):+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=int, default=0, help="pages per broad-corpus family")
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--free", type=int, default=10, help="pages of no known form")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument(
        "--recall-reach",
        type=int,
        default=registration.RECALL_REACH,
        help="px at the working size within which the form's print counts as found",
    )
    ap.add_argument("--tolerance", type=float, default=6.0, help="max field-corner error, px")
    ap.add_argument("--digits", type=Path, default=None, help=".npz of digit images/labels")
    ap.add_argument(
        "--layouts",
        default=",".join(forms.ALL_LAYOUTS),
        help="comma-separated layouts: all are templates, pages cycle through them",
    )
    args = ap.parse_args()
    cv2.setNumThreads(1)
    registration.RECALL_REACH = args.recall_reach
    if args.corpus:
        corpus_run(args.corpus)
        return
    source = (
        synthetic.digit_source_from_npz(args.digits)
        if args.digits
        else synthetic.font_digit_source()
    )
    with tempfile.TemporaryDirectory() as tmp:
        names = args.layouts.split(",")
        templates = load_templates(synthetic.write_templates(Path(tmp), names))
    warm(templates)  # one-time template preparation is not per-page time
    recorder, wrong_q, leads = FitRecorder(), [], []
    times, errors, fails, wrong, methods = [], [], [], 0, {}
    qualities: list[float] = []
    for i in range(args.pages):
        name = names[i % len(names)]
        sp = synthetic.make_page(name, source, args.seed + i)
        t0 = time.thread_time()
        reg = identify(Page(1, sp.image), templates)
        times.append((time.thread_time() - t0) * 1000)
        leads += lead(recorder.take(), name)
        if reg is None:
            fails.append((i, name, "none", sp.effects))
            continue
        methods[reg.method] = methods.get(reg.method, 0) + 1
        if reg.template.name != name:
            wrong += 1
            fails.append((i, name, f"identified as {reg.template.name}", sp.effects))
            continue
        boxes = [f.box for f in reg.template.fields]
        err = corner_error(sp.homography, reg.homography, boxes)
        errors.append(err)
        qualities.append(reg.quality)
        if err > args.tolerance * sp.effects.dpi / 200:
            fails.append((i, name, f"corner error {err:.1f}px q={reg.quality:.2f}", sp.effects))
    false_pos = 0
    free_times: list[float] = []
    for j in range(args.free):
        sp = synthetic.make_free_page(source, args.seed + 10_000 + j)
        t0 = time.thread_time()
        reg = identify(Page(1, sp.image), templates)
        free_times.append((time.thread_time() - t0) * 1000)
        false_pos += reg is not None
        wrong_q += recorder.take()
    ok = args.pages - len(fails)
    print(
        f"pages {args.pages} ({len(names)} templates), registered within "
        f"{args.tolerance:g}px@200dpi: {ok}/{args.pages} = {100 * ok / args.pages:.1f}%"
    )
    none = sum(f[2] == "none" for f in fails)
    right = args.pages - wrong - none
    print(
        f"identification accuracy: {100 * right / args.pages:.1f}%"
        f"  (wrong template {wrong}, none {none})"
    )
    print(f"pages of no known form given a template: {false_pos}/{args.free}")
    print(f"methods: {methods}")
    print("pages of no known form: " + closest_wrong(wrong_q))
    if leads:
        print(f"right fit's lead over another template tried beside it: min {min(leads):+.3f}")
    if qualities:
        print(
            f"quality of right registrations: min {min(qualities):.3f} "
            f"p5 {np.percentile(qualities, 5):.3f} median {statistics.median(qualities):.3f}"
        )
    if errors:
        print(
            f"field-corner error px: median {statistics.median(errors):.2f} "
            f"p95 {np.percentile(errors, 95):.2f} max {max(errors):.2f}"
        )
    print(
        f"CPU time per page ms (one thread): median {statistics.median(times):.1f} "
        f"p95 {np.percentile(times, 95):.1f} max {max(times):.1f} (form pages, with aligned+ink)"
    )
    if free_times:
        print(f"CPU time per page of no known form ms: median {statistics.median(free_times):.1f}")
    for f in fails:
        print("  FAIL", f[0], f[1], f[2], f[3])


if __name__ == "__main__":
    main()
