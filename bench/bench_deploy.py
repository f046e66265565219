"""End-to-end figures for deployment (issue 6), as JSON: the ``digitize bench`` sections for
the page pipeline, database writes and end to end, with more pages and repeats than ``--quick``.

    python bench/bench_deploy.py --pages 100 --repeats 3 --out var/bench_deploy.json
    python bench/bench_deploy.py --sections end_to_end --parts process,tesseract --corpus

Load from other work on the machine skews the scaling figures: the load average is recorded
at the start and end of each section; run it on a quiet machine for figures to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench.end_to_end import end_to_end_section
from bench.pipeline_sections import database_section, load_average, pipeline_section


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=100, help="forms per end-to-end run")
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure (median reported)")
    ap.add_argument("--sections", default="pipeline,database,end_to_end")
    ap.add_argument("--parts", default="process,celery,tesseract", help="end-to-end parts")
    ap.add_argument("--corpus", action="store_true", help="pages of two broad-corpus forms")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    wanted = set(args.sections.split(","))
    result: dict[str, object] = {"cpus": os.cpu_count(), "load_average": load_average()}
    t = time.perf_counter()
    if "pipeline" in wanted:
        result["pipeline"] = pipeline_section(False)
    if "database" in wanted:
        result["database"] = database_section(False)
    if "end_to_end" in wanted:
        parts = frozenset(args.parts.split(","))
        result["end_to_end"] = end_to_end_section(
            False, args.pages, args.repeats, parts, corpus=args.corpus
        )
    result["wall_s"] = round(time.perf_counter() - t, 1)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
