"""Template-free reading speed on the broad corpus, against a baseline tree in the same run.

    python bench/bench_corpus.py --speed --pages-per-family 4 --baseline HEAD~1
    python bench/bench_corpus.py --speed --dpi 200 --rounds 5 --baseline main

The corpus pages (``--dpi``: all scanned at that resolution, the other effects as drawn) are
generated once. This tree and, with ``--baseline``, the commit ``REV`` (exported with ``git
archive``) each read them template-free in worker processes of their own on one core, rounds
alternating between the trees; a page's time is its fastest round (the machine's other load
only ever adds). Printed: each tree's median ms per page, their ratio, and whether the two
read the same fields (name, value, confidence to 6 places, box), page by page.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from time import perf_counter  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def make_pages(
    families: list[str], pages_per_family: int, writers: list[Any], dpi: float | None
) -> list[tuple[str, Any]]:
    """(name, image) of the corpus pages ``bench_corpus.run`` reads (same seeds and writers)."""
    from bench.bench_corpus import SEED0
    from bench.corpus.pages import make_page

    out = []
    for fam in families:
        for k in range(pages_per_family):
            page = make_page(fam, SEED0 + k, writers[k % len(writers)], dpi=dpi)
            out.append((f"{fam}/{k}", page.image))
    return out


def read_pages(pages_file: Path, out_file: Path) -> None:
    """Worker: read every page template-free with the tree on ``PYTHONPATH``; ms and fields."""
    import cv2

    from digitize.settings import Settings
    from digitize.types import Page
    from worker.pipeline import default_classifier, read_page

    cv2.setNumThreads(1)
    data = np.load(pages_file)
    names = [str(n) for n in data["names"]]
    settings = Settings()
    classifier = default_classifier(settings)
    read_page(Page(1, data["page0"]), [], classifier, settings)  # warm: first calls are slow
    ms, fields = {}, {}
    for i, name in enumerate(names):
        image = data[f"page{i}"]
        t = perf_counter()
        res = read_page(Page(1, image), [], classifier, settings)
        ms[name] = (perf_counter() - t) * 1000
        fields[name] = [
            [f.name, f.value, round(f.confidence, 6), [int(v) for v in f.box]] for f in res.fields
        ]
    out_file.write_text(json.dumps({"ms": ms, "fields": fields}))


def _worker(tree: Path, pages_file: Path, out_file: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    script = str(Path(__file__).resolve())
    cmd = [sys.executable, script, "--worker", str(pages_file), str(out_file)]
    subprocess.run(cmd, env=env, check=True, cwd=tree)
    result: dict[str, Any] = json.loads(out_file.read_text())
    return result


def _export(rev: str, into: Path) -> Path:
    """The tree of commit ``rev`` written to ``into`` (tracked files, as committed)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", rev], check=True, capture_output=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def compare(pages: list[tuple[str, Any]], baseline: str | None, rounds: int) -> dict[str, Any]:
    """Each tree's fastest time per page over ``rounds``, medians, ratio, and the fields' match."""
    with tempfile.TemporaryDirectory() as tmp:
        pages_file = Path(tmp) / "pages.npz"
        arrays = {f"page{i}": image for i, (_, image) in enumerate(pages)}
        np.savez(pages_file, names=np.array([n for n, _ in pages]), **arrays)
        trees = {"this tree": REPO}
        if baseline is not None:
            trees = {f"baseline {baseline}": _export(baseline, Path(tmp) / "base"), **trees}
        best: dict[str, dict[str, float]] = {name: {} for name in trees}
        fields: dict[str, Any] = {}
        for r in range(rounds):
            for name, tree in trees.items():
                res = _worker(tree, pages_file, Path(tmp) / "out.json")
                fields[name] = res["fields"]
                for page, ms in res["ms"].items():
                    best[name][page] = min(ms, best[name].get(page, float("inf")))
                print(f"  round {r + 1}: {name} done", file=sys.stderr, flush=True)
    report: dict[str, Any] = {"pages": len(pages), "rounds": rounds, "trees": {}}
    for name in trees:
        report["trees"][name] = {
            "ms_per_page_median": round(statistics.median(best[name].values()), 1),
            "ms_per_page_mean": round(statistics.mean(best[name].values()), 1),
        }
    if baseline is not None:
        base, this = (report["trees"][n]["ms_per_page_median"] for n in trees)
        report["ratio_this_vs_baseline"] = round(this / base, 3)
        a, b = (fields[n] for n in trees)
        report["pages_with_other_fields"] = sorted(p for p in a if a[p] != b.get(p))
    return report


def print_speed(report: dict[str, Any]) -> None:
    print(f"template-free reading, {report['pages']} pages, fastest of {report['rounds']} rounds")
    for name, r in report["trees"].items():
        print(
            f"  {name:28s} median {r['ms_per_page_median']:7.1f} ms/page  "
            f"(mean {r['ms_per_page_mean']:.1f})"
        )
    if "ratio_this_vs_baseline" in report:
        other = report["pages_with_other_fields"]
        print(f"  ratio this / baseline: {report['ratio_this_vs_baseline']:.3f}")
        print(f"  fields identical on all pages: {not other}" + (f" ({other})" if other else ""))


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    # The tree read is the one on PYTHONPATH, not this script's folder (bench/ beside it).
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    read_pages(Path(sys.argv[2]), Path(sys.argv[3]))
