"""Adapt the network to crops the reader cuts from broad-corpus pages written by training writers.

``digitize adapt`` harvests its crops from the single-family generator
(``model.training.synthetic``). This script harvests them from the broad corpus
(``bench.corpus``: every layout family, pens, scans) written with *training* writers only: MNIST
training digits and every training font (``font_writer("train")``), on page seeds far from any
benchmark's, so neither the evaluation layouts nor its writers (MNIST validation/test digits,
held-out fonts) are ever read here. Each page is read with its own template exactly as the
pipeline reads it; every digit of a field read at its true length gives a labelled crop
(``model.training.adapt.field_crops``). ``--generator-pages N`` adds the usual generator harvest.
The fine-tuning, calibration and export are ``digitize adapt``'s (``adapt_and_export``).

    python bench/adapt_corpus.py --pages-per-family 100 --generator-pages 2000 --out out/ca
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

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


def _corpus_job(family: str, seeds: list[int], base: str) -> Harvest:
    """One harvest job in a worker process: training writers, a one-thread classifier."""
    from bench.corpus.writers import make_writer
    from model.inference import Recognizer

    classifier = Recognizer(Path(base), num_threads=1)
    writers = [make_writer("mnist", "train"), make_writer("fonts", "train")]
    return corpus_crops(family, seeds, classifier, writers)


def harvest_corpus(pages_per_family: int, base: str, workers: int, chunk: int) -> Harvest:
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
        futures = {pool.submit(_corpus_job, f, seeds, base): i for i, (f, seeds) in enumerate(jobs)}
        for fut in as_completed(futures):
            i = futures[fut]
            parts[i] = fut.result()
            done += len(jobs[i][1])
            print(f"  corpus pages {done}/{total}", file=sys.stderr, flush=True)
    return Harvest.join([parts[i] for i in range(len(jobs))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages-per-family", type=int, default=100)
    ap.add_argument("--generator-pages", type=int, default=0, help="add digitize adapt's harvest")
    ap.add_argument("--base", help="model JSON to read and fine-tune (default: the shipped one)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--font-digits", type=int, default=0)
    args = ap.parse_args()

    from model.inference import load_config
    from model.training.adapt import adapt_and_export, harvest

    base = load_config(Path(args.base) if args.base else None).path
    cfg = AdaptConfig(
        pages=args.generator_pages,
        workers=args.workers,
        epochs=args.epochs,
        font_digits=args.font_digits,
    )
    t = time.perf_counter()
    parts = [harvest_corpus(args.pages_per_family, str(base), args.workers, args.chunk)]
    print(
        f"corpus harvest: {len(parts[0].y)} crops, {parts[0].misread} misread, "
        f"{time.perf_counter() - t:.0f} s",
        file=sys.stderr,
        flush=True,
    )
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
