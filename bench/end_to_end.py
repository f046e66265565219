"""End-to-end figures: pages/s for ``digitize process`` (1 and 2 processes) and for Celery
(1 and 2 worker processes), worker memory after its pages, and Tesseract on the same folder.

Everything runs as users run it: real ``digitize`` processes, a private ``redis-server`` (so no
real queue is touched), a scratch PostgreSQL database when a server answers (else SQLite).
Baselines come from the same run: one process, one worker, a Keras process, Tesseract.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.pipeline_sections import (
    load_average,
    make_corpus_forms,
    make_forms,
    scratch_postgres,
    templates_dir,
)

DIGITIZE = str(Path(sys.executable).parent / "digitize")
KERAS_RSS = """
import os, resource, numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras
from model.inference import load_config
km = keras.models.load_model(load_config({path!r}).keras, compile=False)
x = np.random.default_rng(0).random((30, 28, 28, 1), dtype=np.float32)
for _ in range(100):
    km.predict(x, verbose=0)
print(int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    keep = ("DIGITIZE_MODEL_PATH",)
    env.update({k: os.environ[k] for k in keep if k in os.environ})
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        kb = int(fh.read().split("VmRSS:")[1].split()[0])
    return round(kb / 1024, 1)


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


# --- digitize process -----------------------------------------------------------------------


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's finished children (and theirs)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def proc_cpu_s(pid: int) -> float:
    """CPU seconds of a live process (user + system), from /proc."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rate(forms: Path, jobs: int, workdir: Path) -> tuple[float, float]:
    """Pages/s of ``digitize process --jobs N`` into a fresh SQLite file, start-up included,
    and the CPU seconds it spent per page (all its processes): the figure load cannot skew."""
    db = workdir / f"process-{jobs}-{time.monotonic_ns()}.db"
    env = _env(DIGITIZE_DATABASE_URL=f"sqlite:///{db}")
    n = len(list(forms.glob("*.png")))
    cpu = children_cpu_s()
    t = time.perf_counter()
    res = subprocess.run(
        [DIGITIZE, "process", str(forms), "-t", str(templates_dir(forms)), "-j", str(jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - t
    if res.returncode not in (0, 10):
        raise RuntimeError(f"digitize process failed: {res.stderr[-2000:]}")
    return n / seconds, (children_cpu_s() - cpu) / n


# --- Celery -----------------------------------------------------------------------------------


def start_workers(
    n: int, env: dict[str, str], logdir: Path, *, tag: str = ""
) -> list[subprocess.Popen[bytes]]:
    """``n`` single-process ``digitize worker`` processes, each in its own session, logging to
    ``logdir``; their process groups can be killed as a whole."""
    procs = []
    for i in range(n):
        log = (logdir / f"worker-{tag or n}-{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [DIGITIZE, "worker", "--concurrency", "1", "--loglevel", "WARNING"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise FileNotFoundError("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[tuple[str, str]]:
    pg = scratch_postgres()
    if pg is None:
        yield f"sqlite:///{workdir / 'celery.db'}", "sqlite"
        return
    url, drop = pg
    try:
        yield url, "postgresql"
    finally:
        drop()


def _ingest(forms: Path, url: str) -> list[int]:
    """Store the forms as queued documents (what ``submit`` does before it enqueues)."""
    from db import queries
    from db.session import session_scope
    from db.storage import get_storage

    storage = get_storage("db")
    ids = []
    with session_scope(url) as session:
        batch = queries.create_batch(session, "bench", [templates_dir(forms)])
        for f in sorted(forms.glob("*.png")):
            added = queries.add_document(
                session, batch, f.name, f.read_bytes(), storage, force=True
            )
            ids.append(added.document.id)
    return ids


def _finished(url: str, ids: list[int]) -> int:
    from sqlalchemy import func, select

    from db.models import Document
    from db.session import session_scope

    with session_scope(url) as session:
        q = select(func.count()).where(
            Document.id.in_(ids), Document.status.in_(("done", "failed"))
        )
        return int(session.scalar(q) or 0)


def celery_run(forms: Path, n_workers: int, workdir: Path) -> dict[str, Any]:
    """Pages/s of ``n_workers`` ``digitize worker --concurrency 1`` processes on one batch.

    Timed from the first message sent to the last document finished; the workers are started
    and warmed (one document each) before, as long-running workers are. Also returns the RSS of
    each worker's pool process (the one holding the model) after its pages.
    """
    from celery import Celery

    from db.session import dispose_engines
    from digitize.settings import Settings
    from worker.celery_app import QUEUE, make_app

    with private_redis(workdir) as broker, database(workdir) as (url, backend):
        env = _env(DIGITIZE_DATABASE_URL=url, DIGITIZE_BROKER_URL=broker)
        procs = start_workers(n_workers, env, workdir, tag=str(n_workers))
        app: Celery = make_app(Settings(database_url=url, broker_url=broker))
        try:
            warm = _ingest(_warm_copy(forms, workdir, n_workers), url)
            for doc_id in warm:
                app.send_task("digitize.process_document", (doc_id,), queue=QUEUE)
            _wait(url, warm, 600, procs)
            ids = _ingest(forms, url)
            pids = [p.pid for p in procs] + [c for p in procs for c in children(p.pid)]
            cpu = sum(proc_cpu_s(pid) for pid in pids)
            t = time.time()
            with app.producer_or_acquire() as producer:
                for doc_id in ids:
                    app.send_task(
                        "digitize.process_document", (doc_id,), queue=QUEUE, producer=producer
                    )
            _wait(url, ids, 3600, procs)
            # To the last document's own finish time, not to when the poll noticed it.
            seconds = _last_finished(url, ids) - t
            cpu = sum(proc_cpu_s(pid) for pid in pids) - cpu
            pool_rss = [rss_mb(c) for p in procs for c in children(p.pid)]
            main_rss = [rss_mb(p.pid) for p in procs]
        finally:
            for p in procs:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
            dispose_engines()
    return {
        "pages_per_s": len(ids) / seconds,
        "cpu_s_per_page": cpu / len(ids),
        "pages": len(ids),
        "database": backend,
        "pool_process_rss_mb": pool_rss,
        "main_process_rss_mb": main_rss,
    }


def _warm_copy(forms: Path, workdir: Path, n: int) -> Path:
    """``n`` distinct warm-up pages (new bytes, so they are new documents)."""
    warm = workdir / f"warm{n}" / "forms"
    make_forms(n, warm, seed=9000)
    shutil.copytree(templates_dir(forms), templates_dir(warm), dirs_exist_ok=True)
    return warm


def _last_finished(url: str, ids: list[int]) -> float:
    """When the last of ``ids`` finished (epoch seconds; the workers' clock is this machine's)."""
    from datetime import UTC

    from sqlalchemy import func, select

    from db.models import Document
    from db.session import session_scope

    with session_scope(url) as session:
        last = session.scalar(select(func.max(Document.finished_at)).where(Document.id.in_(ids)))
    if last is None:
        raise RuntimeError("no document finished")
    return (last if last.tzinfo else last.replace(tzinfo=UTC)).timestamp()


def _wait(url: str, ids: list[int], timeout: float, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while _finished(url, ids) < len(ids):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a benchmark worker died")
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark batch did not finish")
        time.sleep(0.1)


# --- the section --------------------------------------------------------------------------------


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def keras_process_rss(model_path: Path | None) -> float:
    res = subprocess.run(
        [sys.executable, "-c", KERAS_RSS.format(path=str(model_path) if model_path else None)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-1000:])
    return float(res.stdout.split()[-1])


PARTS = frozenset({"process", "celery", "tesseract"})


def end_to_end_section(
    quick: bool,
    pages: int | None = None,
    repeats: int | None = None,
    parts: frozenset[str] = PARTS,
    corpus: bool = False,
) -> dict[str, Any]:
    """Process and Celery scaling, worker memory, Tesseract: ``pages`` forms, medians of runs.

    ``corpus``: pages of two broad-corpus forms (``make_corpus_forms``) instead of the
    project's own three.

    Runs alternate (1 process, 2 processes, Tesseract; then 1 worker, 2 workers) so that a
    change in the machine's load hits both sides of each ratio alike.
    """
    from bench.pipeline_sections import CORPUS_FORMS, LAYOUTS
    from bench.tesseract import COMMAND, digitize_accuracy, tesseract_run, tesseract_version

    n = pages or (4 if quick else 100)
    repeats = repeats or (1 if quick else 3)
    out: dict[str, Any] = {
        "pages": n,
        "repeats": repeats,
        "forms": "broad corpus: " + ", ".join(f"{f} {s}" for f, s in CORPUS_FORMS)
        if corpus
        else "own: " + ", ".join(LAYOUTS),
        "load_average_start": load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="digitize-bench-e2e-") as tmp:
        work = Path(tmp)
        forms = work / "forms"
        truth = make_corpus_forms(n, forms) if corpus else make_forms(n, forms)
        rates: dict[str, list[float]] = {"1": [], "2": [], "tesseract": []}
        cpu: dict[str, list[float]] = {"1": [], "2": [], "tesseract": []}
        tess: dict[str, Any] = {}
        for _ in range(repeats):
            if "process" in parts:
                for jobs in ("1", "2"):
                    rate, cpu_s = process_rate(forms, int(jobs), work)
                    rates[jobs].append(rate)
                    cpu[jobs].append(cpu_s)
            if "tesseract" in parts and shutil.which("tesseract"):
                tess = tesseract_run(forms, truth)
                rates["tesseract"].append(tess["pages_per_s"])
                cpu["tesseract"].append(tess["cpu_s_per_page"])
        if "process" in parts:
            p1, p2 = _median(rates["1"]), _median(rates["2"])
            last_db = sorted(work.glob("process-2-*.db"))[-1]
            out["process"] = {
                "pages_per_s_1_process": p1,
                "pages_per_s_2_processes": p2,
                "scaling_2_vs_1": round(p2 / p1, 2),
                "runs": {k: [round(v, 3) for v in rates[k]] for k in ("1", "2")},
                "cpu_s_per_page": {k: _median(cpu[k]) for k in ("1", "2")},
                "accuracy": digitize_accuracy(f"sqlite:///{last_db}", truth),
            }
        if "tesseract" in parts:
            if not tess:
                out["tesseract"] = "skipped: tesseract is not installed"
            else:
                t = _median(rates["tesseract"])
                out["tesseract"] = {
                    "version": tesseract_version(),
                    "command": COMMAND,
                    "pages_per_s_2_at_a_time": t,
                    "runs": [round(v, 3) for v in rates["tesseract"]],
                    "cpu_s_per_page": _median(cpu["tesseract"]),
                    "fields_right": tess["fields_right"],
                    "fields": tess["fields"],
                }
                if "process" in out:
                    out["tesseract"]["speedup_of_process_2_vs_tesseract"] = round(p2 / t, 2)
                    out["tesseract"]["cpu_ratio_tesseract_vs_process_2"] = round(
                        _median(cpu["tesseract"]) / _median(cpu["2"]), 2
                    )
        if "celery" in parts:
            out.update(_celery_parts(forms, work, n, repeats))
    out["load_average_end"] = load_average()
    return out


def _celery_parts(forms: Path, work: Path, n: int, repeats: int) -> dict[str, Any]:
    from digitize.settings import get_settings

    if shutil.which("redis-server") is None:
        return {"celery": "skipped: redis-server is not installed"}
    c1, c2 = [], []
    for _ in range(repeats):
        c1.append(celery_run(forms, 1, work))
        c2.append(celery_run(forms, 2, work))
    w1 = _median([r["pages_per_s"] for r in c1])
    w2 = _median([r["pages_per_s"] for r in c2])
    pool = max(c1[-1]["pool_process_rss_mb"])
    memory: dict[str, Any] = {
        "pages_in_worker": n + 1,
        "worker_pool_process_rss_mb": pool,
        "worker_main_process_rss_mb": max(c1[-1]["main_process_rss_mb"]),
    }
    try:
        keras = keras_process_rss(get_settings().model_path)
        memory["keras_process_rss_mb"] = keras
        memory["ratio_vs_keras_process"] = round(pool / keras, 2)
    except (RuntimeError, TypeError) as exc:
        memory["keras_process_rss_mb"] = f"skipped: {exc}"
    return {
        "celery": {
            "database": c1[0]["database"],
            "pages_per_s_1_worker": w1,
            "pages_per_s_2_workers": w2,
            "scaling_2_vs_1": round(w2 / w1, 2),
            "cpu_s_per_page": {
                "1": _median([r["cpu_s_per_page"] for r in c1]),
                "2": _median([r["cpu_s_per_page"] for r in c2]),
            },
            "runs": {
                "1": [round(r["pages_per_s"], 3) for r in c1],
                "2": [round(r["pages_per_s"], 3) for r in c2],
            },
        },
        "memory": memory,
    }
