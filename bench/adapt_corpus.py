"""Adapt the network to crops the reader cuts from broad-corpus pages written by training writers.

``digitize adapt`` harvests its crops from the single-family generator
(``model.training.synthetic``). This script harvests them from the broad corpus
(``bench.corpus``: every layout family, pens, scans) written with *training* writers only: MNIST
training digits (``--writers mnist``, the shipped recipe) and, with ``--writers mnist,fonts``,
every training font in turn, on page seeds far from any benchmark's, so neither the evaluation
layouts nor its writers (MNIST validation/test digits, held-out fonts) are ever read here.
Each page is read with its own template exactly as the pipeline reads it; every digit of a field
read at its true length gives a labelled crop (``model.training.adapt.field_crops``).
``--generator-pages N`` adds the usual generator harvest. The fine-tuning, calibration and
export are ``digitize adapt``'s (``adapt_and_export``).

    python bench/adapt_corpus.py --pages-per-family 120 --generator-pages 2000 --out out/ca

(the shipped model: that, from the model before it; figures in docs/experiments.md).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus.writers import Writer
from digitize.types import DigitClassifier
from model.training.adapt import AdaptConfig, Harvest

#: Page seeds of the harvest start here: the corpus benchmarks use 27000 on, the designer 100 on.
FIRST_SEED = 8_000_000


def corpus_crops(
    family: str, seeds: list[int], classifier: DigitClassifier, writers: list[Writer]
) -> Harvest:
    """Crops of ``family``'s pages at ``seeds`` (page ``seed`` written by ``writers[seed % n]``),
    each page read with its own template as the pipeline reads it."""
    from bench.corpus.pages import make_page
    from digitize.settings import Settings
    from digitize.types import Page
    from model.training.adapt import field_crops
    from segmentation.templates import load_templates
    from worker.pipeline import read_page

    settings = Settings()
    parts = []
    for seed in seeds:
        page = make_page(family, seed, writers[seed % len(writers)])
        templates = load_templates([page.template_path])
        result = read_page(Page(1, page.image), templates, classifier, settings, keep_crops=True)
        parts.append(field_crops(result, page.values))
    return Harvest.join(parts)


def _corpus_job(family: str, seeds: list[int], base: str, kinds: list[str]) -> Harvest:
    """One harvest job in a worker process: training writers, a one-thread classifier."""
    from bench.corpus.writers import make_writer
    from model.inference import Recognizer

    classifier = Recognizer(Path(base), num_threads=1)
    return corpus_crops(family, seeds, classifier, [make_writer(k, "train") for k in kinds])


def harvest_corpus(
    pages_per_family: int, base: str, workers: int, chunk: int, kinds: list[str]
) -> Harvest:
    from bench.corpus.layouts import FAMILIES

    jobs = [
        (fam, list(range(FIRST_SEED + s, FIRST_SEED + min(s + chunk, pages_per_family))))
        for fam in FAMILIES
        for s in range(0, pages_per_family, chunk)
    ]
    parts: dict[int, Harvest] = {}
    total = len(FAMILIES) * pages_per_family
    done = 0
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {
            pool.submit(_corpus_job, f, seeds, base, kinds): i for i, (f, seeds) in enumerate(jobs)
        }
        for fut in as_completed(futures):
            i = futures[fut]
            parts[i] = fut.result()
            done += len(jobs[i][1])
            print(f"  corpus pages {done}/{total}", file=sys.stderr, flush=True)
    return Harvest.join([parts[i] for i in range(len(jobs))])


#: Digits that upside down are no digit (a 3 turned is an E, a 4 an h, a 7 an L). 0, 1 and 8
#: turn into themselves, 6 and 9 into each other; a 2 or a 5 written as a Z or an S turns into
#: itself too.
TURNED_NOT_DIGITS = (3, 4, 7)


def turned_rejects(crops: Harvest, n: int, seed: int) -> Harvest:
    """``n`` of the reader's crops of ``TURNED_NOT_DIGITS`` turned half round, labelled not a
    digit: a page read the wrong way up should read as junk, not as sure digits (the
    template-free way-up vote compares the two readings)."""
    from digitize.types import NOT_A_DIGIT

    pool = np.flatnonzero(np.isin(crops.y, TURNED_NOT_DIGITS))
    pick = np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False)
    x = np.ascontiguousarray(crops.x[np.sort(pick)][:, ::-1, ::-1])
    return Harvest(x, np.full(len(x), NOT_A_DIGIT, np.int64), 0, 0, 0)


def _saved(path: str) -> Harvest:
    """Labelled crops an earlier run saved (``corpus_crops.npz``, ``page_crops.npz``)."""
    with np.load(path) as saved:
        return Harvest(saved["x"], saved["y"], 0, 0, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages-per-family", type=int, default=120)
    ap.add_argument("--generator-pages", type=int, default=0, help="add digitize adapt's harvest")
    ap.add_argument("--base", help="model JSON to read and fine-tune (default: the shipped one)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--font-digits", type=int, default=0)
    ap.add_argument(
        "--variant-digits", type=int, default=0, help="flagged 1s and crossed 7s in the epoch"
    )
    ap.add_argument("--writers", default="mnist", help="training writers, in turn: mnist,fonts")
    ap.add_argument("--extra-crops", help="an .npz of labelled crops (x, y) saved by a harvest")
    ap.add_argument("--corpus-crops", help="the corpus_crops.npz of an earlier run: no harvest")
    ap.add_argument(
        "--turned-rejects",
        type=int,
        default=0,
        help="this many corpus crops of 3, 4 and 7 turned upside down, taught as not a digit",
    )
    args = ap.parse_args()

    from model.inference import load_config
    from model.training.adapt import adapt_and_export, harvest

    base = load_config(Path(args.base) if args.base else None).path
    cfg = AdaptConfig(
        pages=args.generator_pages,
        workers=args.workers,
        epochs=args.epochs,
        font_digits=args.font_digits,
        variant_digits=args.variant_digits,
    )
    t = time.perf_counter()
    if args.corpus_crops:  # a harvest saved by an earlier run
        parts = [_saved(args.corpus_crops)]
    else:
        kinds = args.writers.split(",")
        parts = [harvest_corpus(args.pages_per_family, str(base), args.workers, args.chunk, kinds)]
        print(
            f"corpus harvest: {len(parts[0].y)} crops, {parts[0].misread} misread, "
            f"{time.perf_counter() - t:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    np.savez_compressed(Path(args.out, "corpus_crops.npz"), x=parts[0].x, y=parts[0].y)
    if args.turned_rejects:
        parts.append(turned_rejects(parts[0], args.turned_rejects, seed=cfg.seed))
    if args.extra_crops:
        parts.append(_saved(args.extra_crops))
    if args.generator_pages:
        parts.append(harvest(cfg, base, lambda d, n: print(f"  forms {d}/{n}", file=sys.stderr)))
    crops = Harvest.join(parts)

    def on_epoch(e: int, n: int, acc: float) -> None:
        print(f"  epoch {e}/{n}: validation digits {acc:.4f}", file=sys.stderr, flush=True)

    report = adapt_and_export(cfg, Path(args.out), base, on_epoch=on_epoch, crops=crops)
    report["corpus_crops"] = len(parts[0].y)
    report["corpus_misread_before"] = parts[0].misread
    report["corpus_pages_per_family"] = args.pages_per_family
    Path(args.out, "adapt_report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
