"""Job commands: process, submit, worker, watch, recover, status, results.

They translate arguments and print; the work is in ``worker`` and ``db``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from db import queries
from db.models import DUPLICATE, FAILED, PROCESSING, QUEUED
from db.results import ROW_COLUMNS, ResultFilter, query_results, result_rows, wide_rows
from db.session import session_scope
from db.storage import get_storage
from digitize.cli import app
from digitize.cli.output import document_stream
from digitize.errors import ConfigError, ProcessingFailedError, TransientError, UsageError
from digitize.settings import get_settings
from worker.ingest import (
    Ingested,
    excluded_paths,
    expand,
    in_background,
    ingest_files,
    pack_templates,
)

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)  # pipes get whole rows

TemplateOpt = typer.Option(
    None, "--template", "-t", help="Form template (.json) or a folder of them; repeatable."
)


def _templates(template: list[Path] | None) -> list[Path]:
    """Templates from the flags or settings, checked now so a typo fails before any work."""
    settings = get_settings()
    paths = [Path(p) for p in (template or settings.templates)]
    if paths:
        from segmentation.templates import load_templates

        load_templates(paths)  # raises TemplateError with the reason
    return paths


def _files(paths: list[Path], templates: list[Path]) -> list[Path]:
    files = expand(paths, exclude=excluded_paths(get_settings(), templates))
    if not files:
        raise ConfigError("no files to read in " + ", ".join(map(str, paths)))
    return files


def _new_batch(origin: str, files: list[Path], templates: list[Path]) -> int:
    """A batch carrying its templates (workers need no local copy)."""
    settings = get_settings()
    with session_scope() as session:
        packed = pack_templates(session, get_storage(settings.storage_url), templates)
        return queries.create_batch(session, origin, packed).id


def _ingest(
    origin: str, paths: list[Path], templates: list[Path], force: bool
) -> tuple[int, list[Ingested]]:
    settings = get_settings()
    files = _files(paths, templates)
    batch_id = _new_batch(origin, files, templates)
    storage = get_storage(settings.storage_url)
    stored = ingest_files(batch_id, files, storage, settings, force=force, commit_every=20)
    return batch_id, list(stored)


def _report_duplicates(items: list[Ingested]) -> None:
    dups = [i for i in items if i.duplicate]
    for i in dups:
        unfinished = i.status in (QUEUED, PROCESSING)
        what = f"{i.status}: read once for both" if unfinished else f"{i.status}, not read again"
        err.print(
            f"[yellow]duplicate[/]: {i.path.name} has the bytes of document {i.document_id} "
            f"({what}); listed as document {i.listed_id} (--force reads it anew)"
        )


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=err,
    )


def _summary(batch_id: int) -> queries.BatchStatus:
    with session_scope() as session:
        st = queries.batch_status(session, batch_id)
        failed = queries.failed_documents(session, batch_id)
    c = st.counts
    dups = f", {c['duplicate']} duplicates" if c["duplicate"] else ""
    err.print(
        f"batch {batch_id}: {c['done']} done, {c['failed']} failed{dups}, "
        f"{c['queued'] + c['processing']} unfinished; {st.pages} pages, {st.fields} fields, "
        f"{st.needs_review} need review"
    )
    if failed:
        t = Table("failed file", "reason", title="Failed documents", title_justify="left")
        for source, error in failed:
            t.add_row(source, error or "")
        err.print(t)
    return st


@app.command()
def process(
    paths: list[Path] = typer.Argument(..., help="Files and folders of scans."),
    template: list[Path] | None = TemplateOpt,
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes (default: all cores)."),
    force: bool = typer.Option(False, "--force", help="Read files already in the database again."),
) -> None:
    """Read scans here, on all cores, into the database (no broker, no server)."""
    from worker.local_pool import Pool

    templates = _templates(template)
    settings = get_settings()
    files = _files(paths, templates)
    items: list[Ingested] = []
    n_failed = 0
    with _progress() as progress, Pool(min(jobs or os.cpu_count() or 1, len(files))) as pool:
        pool.start()  # the processes load the model while the batch is created and filled
        batch_id = _new_batch("process", files, templates)
        task = progress.add_task("reading", total=len(files), note="")

        def todo() -> Iterator[int]:
            """Documents to read, as they are stored: the workers start on the first file."""
            seen: set[int] = set()
            stored = ingest_files(
                batch_id, files, get_storage(settings.storage_url), settings, force=force
            )
            for item in in_background(stored):
                items.append(item)
                # Unfinished duplicates were left by an interrupted run: read them now.
                if item.status in (QUEUED, PROCESSING) and item.document_id not in seen:
                    seen.add(item.document_id)
                    yield item.document_id
                else:
                    progress.update(task, total=len(files) - (len(items) - len(seen)))

        def done(o: object) -> None:
            nonlocal n_failed
            n_failed += getattr(o, "status", "") == "failed"
            progress.update(task, advance=1, note=f"{n_failed} failed" if n_failed else "")

        pool.run(todo(), on_done=done)
    _report_duplicates(items)
    if not any(i.status in (QUEUED, PROCESSING) for i in items):
        err.print("nothing new to read")
    st = _summary(batch_id)
    if st.counts["failed"] or not st.finished:
        raise ProcessingFailedError(f"{st.counts['failed']} of {st.read} documents failed")


@app.command()
def submit(
    paths: list[Path] = typer.Argument(..., help="Files and folders of scans."),
    template: list[Path] | None = TemplateOpt,
    wait: bool = typer.Option(False, "--wait", help="Show progress until the batch is finished."),
    force: bool = typer.Option(False, "--force", help="Read files already in the database again."),
) -> None:
    """Queue scans for the workers; prints the batch id."""
    from worker.tasks import enqueue

    templates = _templates(template)
    batch_id, items = _ingest("submit", paths, templates, force)
    _report_duplicates(items)
    todo = [i.document_id for i in items if not i.duplicate and i.status == QUEUED]
    try:
        enqueue(todo)
    except TransientError as exc:
        raise TransientError(f"batch {batch_id}: {exc.message}") from exc
    err.print(f"queued {len(todo)} documents in batch {batch_id}")
    print(batch_id, flush=True)
    if wait:
        _wait(batch_id)


def _wait(batch_id: int) -> None:
    with _progress() as progress:
        task = progress.add_task(f"batch {batch_id}", total=None, note="")
        while True:
            with session_scope() as session:
                st = queries.batch_status(session, batch_id)
            c = st.counts
            progress.update(
                task,
                total=st.total,
                completed=c["done"] + c["failed"],
                note=f"{c['processing']} processing, {c['failed']} failed",
            )
            if st.finished:
                break
            time.sleep(0.5)
    st = _summary(batch_id)
    if st.counts["failed"]:
        raise ProcessingFailedError(f"{st.counts['failed']} of {st.read} documents failed")


@app.command()
def worker(
    concurrency: int = typer.Option(0, "--concurrency", "-c", help="Processes (default: cores)."),
    loglevel: str | None = typer.Option(None, "--loglevel", help="Default: settings.log_level."),
) -> None:
    """Run a Celery worker that reads queued documents."""
    from worker.celery_app import QUEUE
    from worker.celery_app import app as celery

    argv = [
        "worker",
        f"--concurrency={concurrency or os.cpu_count() or 1}",
        f"--loglevel={loglevel or get_settings().log_level}",
        f"--queues={QUEUE}",
        f"--hostname=digitize-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    celery.worker_main(argv)


@app.command()
def watch(
    directory: Path = typer.Argument(..., help="The folder to watch."),
    template: list[Path] | None = TemplateOpt,
    poll: bool = typer.Option(False, "--poll", help="Poll (network filesystems)."),
    queue: bool = typer.Option(
        False, "--queue", help="Send to the workers instead of reading here."
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes when reading here."),
    settle: float = typer.Option(1.0, "--settle", help="Seconds a file must stay unchanged."),
    idle_exit: float | None = typer.Option(None, "--idle-exit", help="Stop after idle seconds."),
) -> None:
    """Read files dropped into DIRECTORY, then move them to processed/ or failed/."""
    from worker.watcher import WatchConfig, Watcher

    cfg = WatchConfig(directory, _templates(template), poll, settle, jobs, queue)

    def show(what: str, path: Path, detail: str) -> None:
        colour = {"done": "green", "failed": "red", "error": "red"}.get(what, "cyan")
        err.print(f"[{colour}]{what}[/] {path.name} {detail}")

    w = Watcher(cfg, get_settings(), on_event=show)
    err.print(f"watching {cfg.root} (Ctrl-C to stop)")
    w.run(idle_exit_s=idle_exit)


@app.command()
def recover(
    older_than: float | None = typer.Option(
        None, "--older-than", help="Seconds (default: settings.stale_after_s)."
    ),
) -> None:
    """Re-send documents left queued/processing too long (the broker lost them)."""
    from worker.tasks import recover as run

    ids = run(older_than)
    err.print(f"re-enqueued {len(ids)} documents")


@app.command()
def status(
    batch: int | None = typer.Argument(None, help="Batch id (default: recent batches)."),
) -> None:
    """Document counts per batch."""
    t = Table(
        "batch", "created", "queued", "processing", "done", "failed", "duplicate", "pages", "review"
    )
    with session_scope() as session:
        ids = [batch] if batch is not None else [b.id for b in queries.recent_batches(session)]
        for bid in ids:
            st = queries.batch_status(session, bid)
            c = st.counts
            created = st.created_at.strftime("%Y-%m-%d %H:%M:%S") if st.created_at else ""
            t.add_row(
                str(bid),
                created,
                *(str(c[k]) for k in ("queued", "processing", "done", "failed", "duplicate")),
                str(st.pages),
                str(st.needs_review),
            )
    out.print(t)


def _document_note(row: dict[str, Any]) -> str:
    if row["status"] == FAILED:
        return str(row["error"])
    if row["status"] == DUPLICATE:
        return f"duplicate of document {row['duplicate_of']}"
    return ""


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    wide = "wide"  # CSV, one row per document and a column per field
    xlsx = "xlsx"  # the wide table as a spreadsheet (needs --output)


def _write_document(fmt: Format, data: dict[str, Any], stream: TextIO) -> None:
    if fmt is Format.json:
        json.dump(data, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
        return
    if fmt is Format.wide:
        columns, rows = wide_rows(data)
    else:
        columns, rows = list(ROW_COLUMNS), result_rows(data)
    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_since(text: str) -> datetime:
    """ISO date/time (UTC unless it says otherwise) or an age like ``90m``, ``2h``, ``1d``."""
    m = _RELATIVE.match(text.strip())
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return datetime.now(UTC) - timedelta(seconds=float(m.group(1)) * unit)
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--since {text!r}: expected an ISO time or an age like 2h") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@app.command()
def results(
    batch: int | None = typer.Option(None, "--batch"),
    document: int | None = typer.Option(None, "--document"),
    field: str | None = typer.Option(None, "--field", help="Only fields with this name."),
    needs_review: bool = typer.Option(False, "--needs-review", help="Only fields needing review."),
    since: str | None = typer.Option(None, "--since", help="ISO time or age (2h, 1d)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (needed for xlsx) instead of stdout."
    ),
) -> None:
    """The extracted numbers: a table, JSON (the documented shape), CSV (a row per field), wide
    CSV or XLSX (a row per document, a column per field)."""
    if fmt is Format.xlsx and output is None:
        raise UsageError("--format xlsx writes a file: give it with --output FILE.xlsx")
    if fmt is Format.table and output is not None:
        raise UsageError("--output is for --format json, csv, wide or xlsx")
    flt = ResultFilter(
        batch_id=batch,
        document_id=document,
        field=field,
        needs_review=needs_review,
        since=parse_since(since) if since else None,
    )
    with session_scope() as session:
        data = query_results(session, flt)
    if fmt is not Format.table and output is None:
        _write_document(fmt, data, document_stream())
        return
    if output is not None:
        try:
            if fmt is Format.xlsx:
                from review.export import write_results_xlsx

                write_results_xlsx(data, output)
            else:
                with output.open("w", encoding="utf-8", newline="") as fh:
                    _write_document(fmt, data, fh)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
        err.print(f"wrote {output}")
        return
    rows = result_rows(data)
    t = Table("doc", "file", "page", "field", "value", "conf", "review")
    t.add_column("reasons / error", overflow="fold")
    for r in rows:
        flag = "reviewed" if r["reviewed"] else ("[red]yes[/]" if r["needs_review"] else "")
        t.add_row(
            str(r["document_id"]),
            r["source"],
            str(r["page"]),
            r["field"],
            str(r["value"]),
            f"{r['confidence']:.3f}" if r["confidence"] != "" else "",
            flag,
            r["reasons"] or _document_note(r),
        )
    out.print(t)
