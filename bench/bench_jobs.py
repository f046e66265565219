"""Bulk throughput of the queue: pages/s with 1 and 2 worker processes on PostgreSQL.

    python bench/bench_jobs.py [--pages 1000] [--single-pages 200] [--out results.json]

Creates its own PostgreSQL database (dropped at the end) and its own redis-server on a free port,
generates distinct filled forms (three layouts, scanner effects), submits them in bulk with
``digitize submit`` and runs real ``digitize worker`` processes. Throughput comes from the
database's own timestamps (first start to last finish of the batch), so start-up and submission
are not counted. The 2-worker run must end with every document done or failed exactly once:
one page row per page, no field written twice.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import create_engine, func, select, text

REPO = Path(__file__).resolve().parent.parent

from bench.end_to_end import private_redis, start_workers  # noqa: E402
from db.models import Document, Field, Page  # noqa: E402
from db.session import dispose_engines, init_db  # noqa: E402

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DIGITIZE = str(Path(sys.executable).parent / "digitize")


def _text_chunk(tag: str) -> bytes:
    payload = b"bench\x00" + tag.encode()
    crc = zlib.crc32(b"tEXt" + payload) & 0xFFFFFFFF
    return len(payload).to_bytes(4, "big") + b"tEXt" + payload + crc.to_bytes(4, "big")


def make_bases(distinct: int = 12) -> list[bytes]:
    """``distinct`` generated forms (three layouts, scanner effects), PNG-encoded once."""
    from model.training import synthetic

    source = synthetic.font_digit_source(seed=0)
    layouts = ["claim", "survey", "order"]
    out = []
    for i in range(distinct):
        page = synthetic.make_page(layouts[i % 3], source, seed=1000 + i, strength=0.7)
        buf = io.BytesIO()
        Image.fromarray(page.image).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out


def make_pages(out: Path, bases: list[bytes], count: int, tag: str) -> None:
    """``count`` distinct files: a base page with a text chunk after IHDR (same pixels)."""
    for n in range(count):
        png = bases[n % len(bases)]
        data = png[:33] + _text_chunk(f"{tag}-{n}") + png[33:]  # 8 signature + 25 IHDR
        (out / f"{tag}-{n:05d}.png").write_bytes(data)


def run(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([DIGITIZE, *args], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"digitize {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def stop(procs: list[subprocess.Popen[Any]]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def group_cpu_s(procs: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds (user + system) used so far by every process in the workers' groups."""
    groups = {p.pid for p in procs}
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # process group id
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    return total


def measure(url: str, batch: int, pages: int, timeout: float) -> dict[str, Any]:
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while True:
            left = conn.execute(
                select(func.count()).where(
                    Document.batch_id == batch, Document.status.in_(("queued", "processing"))
                )
            ).scalar_one()
            if left == 0:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"batch {batch}: {left} documents unfinished after {timeout}s")
            time.sleep(2)
            conn.rollback()
        row = conn.execute(
            select(
                func.min(Document.started_at),
                func.max(Document.finished_at),
                func.count().filter(Document.status == "done"),
                func.count().filter(Document.status == "failed"),
                func.coalesce(func.sum(Document.page_count), 0),
                func.max(Document.attempts),
            ).where(Document.batch_id == batch)
        ).one()
        docs = conn.execute(select(Document.id).where(Document.batch_id == batch)).scalars().all()
        page_rows = conn.execute(
            select(func.count())
            .select_from(Page)
            .join(Document, Page.document_id == Document.id)
            .where(Document.batch_id == batch)
        ).scalar_one()
        dup_fields = conn.execute(
            select(func.count()).select_from(
                select(Field.page_id, Field.position)
                .where(Field.batch_id == batch)
                .group_by(Field.page_id, Field.position)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
    engine.dispose()
    start, end, done, failed, stored, max_attempts = row
    assert start is not None and end is not None
    seconds = (end - start).total_seconds()
    stored_pages = int(stored or 0)
    return {
        "documents": len(docs),
        "done": done,
        "failed": failed,
        "pages_submitted": pages,
        "pages_stored": stored_pages,
        "page_rows": page_rows,
        "duplicate_fields": dup_fields,
        "max_attempts": max_attempts,
        "seconds": round(seconds, 2),
        "pages_per_s": round(stored_pages / seconds, 3),
        "exactly_once": done + failed == len(docs) == pages
        and page_rows == stored_pages
        and dup_fields == 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000, help="pages for each 2-worker run")
    ap.add_argument("--single-pages", type=int, default=200, help="pages for each 1-worker run")
    ap.add_argument(
        "--sequence", default="1,2,1", help="worker counts in run order (1,2,1 shows drift)"
    )
    ap.add_argument("--out", type=Path, default=None, help="also write the figures here (JSON)")
    ap.add_argument("--timeout", type=float, default=7200)
    a = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    name = f"digitize_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    stack = contextlib.ExitStack()  # the private redis-server, stopped in the finally below
    broker = stack.enter_context(private_redis(work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env.update(DIGITIZE_DATABASE_URL=url, DIGITIZE_BROKER_URL=broker)
    if "DIGITIZE_MODEL_PATH" in os.environ:
        env["DIGITIZE_MODEL_PATH"] = os.environ["DIGITIZE_MODEL_PATH"]
    templates = work / "templates"
    templates.mkdir()
    from model.training import synthetic

    synthetic.write_templates(templates)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "code": commit or str(REPO)}
    runs: list[dict[str, Any]] = []
    try:
        init_db(url)
        dispose_engines()
        t = time.monotonic()
        bases = make_bases()
        print(f"generated {len(bases)} distinct forms in {time.monotonic() - t:.0f}s", flush=True)
        for i, workers in enumerate(int(w) for w in a.sequence.split(",")):
            pages = a.pages if workers > 1 else a.single_pages
            folder = work / f"run{i}"
            folder.mkdir()
            make_pages(folder, bases, pages, f"r{i}w{workers}")
            procs = start_workers(workers, env, work, tag=uuid.uuid4().hex[:6])
            time.sleep(5)  # let them load the model before the clock starts
            load_before = os.getloadavg()
            cpu_before = group_cpu_s(procs)
            t = time.monotonic()
            batch = int(run(["submit", str(folder), "--template", str(templates)], env).strip())
            print(f"submitted batch {batch} in {time.monotonic() - t:.0f}s", flush=True)
            try:
                figures = measure(url, batch, pages, a.timeout)
                cpu = group_cpu_s(procs) - cpu_before
            finally:
                stop(procs)
            # On a shared machine wall-clock rates depend on what else runs; CPU per page does not.
            figures["worker_cpu_s"] = round(cpu, 1)
            figures["worker_cores_used"] = round(cpu / figures["seconds"], 2)
            figures["worker_cpu_s_per_page"] = round(cpu / max(1, figures["pages_stored"]), 4)
            figures.update(workers=workers, load_before=load_before, load_after=os.getloadavg())
            runs.append(figures)
            print(json.dumps(figures), flush=True)
            shutil.rmtree(folder)
        results["runs"] = runs
        one = [r["pages_per_s"] for r in runs if r["workers"] == 1]
        two = [r["pages_per_s"] for r in runs if r["workers"] == 2]
        if one and two:
            results["pages_per_s_1"] = round(sum(one) / len(one), 3)
            results["pages_per_s_2"] = round(sum(two) / len(two), 3)
            results["speedup"] = round(results["pages_per_s_2"] / results["pages_per_s_1"], 3)
            results["bar_speedup_1_8"] = results["speedup"] >= 1.8
            c1 = [r["worker_cpu_s_per_page"] for r in runs if r["workers"] == 1]
            c2 = [r["worker_cpu_s_per_page"] for r in runs if r["workers"] == 2]
            # Cost per page with 2 processes relative to 1: 1.0 means nothing is lost to sharing.
            results["cpu_per_page_2_vs_1"] = round((sum(c2) / len(c2)) / (sum(c1) / len(c1)), 3)
        results["bar_exactly_once"] = all(r["exactly_once"] for r in runs)
    finally:
        stack.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if a.out:
        a.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
