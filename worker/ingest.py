"""Turning paths into queued documents: expand folders, read bytes once, store them, dedupe.

Shared by ``process``, ``submit`` and ``watch`` so the three see exactly the same files.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db import queries
from db.models import Batch
from db.session import session_scope, sqlite_path
from db.storage import Storage
from digitize.errors import NotFoundError
from digitize.settings import Settings

#: Names that are somebody's unfinished download/copy/edit, never a scan to read yet.
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
SKIP_SUFFIXES = (".json",)  # templates and configs sitting next to the scans


def is_candidate(path: Path) -> bool:
    """A file worth reading: not hidden, not temporary, not a template, not a symlink."""
    name = path.name
    if name.startswith((".", "~$", ".~lock")) or name.lower().endswith(TEMP_SUFFIXES):
        return False
    if name.lower().endswith(SKIP_SUFFIXES):
        return False
    return not path.is_symlink()


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def excluded_paths(settings: Settings, templates: Sequence[Path]) -> list[Path]:
    """Paths never to ingest: template folders/files, the SQLite file, the blob store."""
    out = [Path(t).resolve() for t in templates]
    db_file = sqlite_path(settings.database_url)
    if db_file is not None:
        out += [db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")]
        out.append(Path(f"{db_file}.migrate-lock"))
    if settings.storage_url not in ("", "db"):
        out.append(Path(settings.storage_url.removeprefix("file://")).expanduser().resolve())
    return out


def expand(paths: Sequence[Path], exclude: Sequence[Path] = ()) -> list[Path]:
    """Files named and files inside folders named (recursively, in name order), deduplicated."""
    seen: set[Path] = set()
    out: list[Path] = []
    for p in paths:
        if not p.exists() and not p.is_symlink():
            raise NotFoundError(f"{p}: no such file or folder")
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if not any(part.startswith(".") for part in f.relative_to(p).parts)
                and not any(d.is_symlink() for d in f.relative_to(p).parents if str(d) != ".")
                and f.is_file()
                and is_candidate(f)
            )
        else:
            found = [p]
        for f in found:
            r = f.resolve()
            if r in seen or _inside(r, exclude):
                continue
            seen.add(r)
            out.append(f)
    return out


@dataclass
class Ingested:
    """One file taken: ``document_id`` holds its reading (for a repeat, the earlier document's);
    a repeat's own ``duplicate`` row in this batch is ``listed_id``."""

    path: Path
    document_id: int
    status: str
    duplicate: bool
    error: str | None = None
    listed_id: int | None = None


def template_files(paths: Sequence[Path]) -> list[Path]:
    """The template JSON files named, or inside the folders named."""
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(Path(p).glob("*.json")) if Path(p).is_dir() else [Path(p)])
    return out


def pack_templates(
    session: Session, storage: Storage, paths: Sequence[Path]
) -> list[dict[str, Any]]:
    """Store each template's JSON and reference picture with the batch.

    Workers rebuild the templates from these blobs, so a worker on another machine needs no
    copy of the submitter's template folder.
    """
    packed: list[dict[str, Any]] = []
    for path in template_files(paths):
        data = path.read_bytes()
        files = {path.name: storage.put(session, data)}
        try:
            ref = json.loads(data).get("reference")
        except (ValueError, AttributeError):
            ref = None
        if isinstance(ref, str) and (path.parent / ref).is_file():
            files[ref] = storage.put(session, (path.parent / ref).read_bytes())
        packed.append({"json": path.name, "files": files, "storage": storage.kind})
    return packed


def _digest_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def ingest_file(
    session: Session,
    batch: Batch,
    path: Path,
    storage: Storage,
    settings: Settings,
    *,
    force: bool = False,
) -> Ingested:
    """Store one file as a queued document (or a failed one when it cannot even be read)."""
    source = path.name
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            digest, size = _digest_file(path)
            msg = (
                f"the file is {size / 1e6:.0f} MB, over the limit of "
                f"{settings.max_file_bytes / 1e6:.0f} MB (DIGITIZE_MAX_FILE_BYTES)"
            )
            doc = queries.add_failed_document(session, batch, source, digest, size, msg)
            return Ingested(path, doc.id, doc.status, False, msg)
        data = path.read_bytes()
    except OSError as exc:
        msg = f"the file cannot be read: {exc.strerror or exc}"
        digest = hashlib.sha256(f"unreadable:{path.resolve()}".encode()).hexdigest()
        doc = queries.add_failed_document(session, batch, source, digest, 0, msg)
        return Ingested(path, doc.id, doc.status, False, msg)
    added = queries.add_document(session, batch, source, data, storage, force=force)
    d = added.document
    listed = added.listed.id if added.listed is not None else None
    return Ingested(path, d.id, d.status, added.duplicate, d.error, listed)


def ingest_files(
    batch_id: int,
    files: Sequence[Path],
    storage: Storage,
    settings: Settings,
    *,
    force: bool = False,
    commit_every: int = 1,
) -> Iterator[Ingested]:
    """Ingest ``files`` into the batch one by one, yielding each once it is committed.

    With ``commit_every=1`` a document can be read by a worker while the next file is stored.
    """
    for start in range(0, len(files), max(1, commit_every)):
        with session_scope() as session:
            batch = session.get_one(Batch, batch_id)
            stored = [
                ingest_file(session, batch, f, storage, settings, force=force)
                for f in files[start : start + max(1, commit_every)]
            ]
        yield from stored


_END = object()


def in_background(items: Iterable[Any]) -> Iterator[Any]:
    """Run ``items`` in a thread, ahead of the consumer; its exception is raised here.

    ``digitize process`` ingests the next files while its workers read the first ones.
    """
    out: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def produce() -> None:
        try:
            for item in items:
                out.put(item)
        except BaseException as exc:  # handed to the consumer, raised in its thread
            out.put(_Raised(exc))
        out.put(_END)

    threading.Thread(target=produce, name="ingest", daemon=True).start()
    while (item := out.get()) is not _END:
        if isinstance(item, _Raised):
            raise item.exc
        yield item


@dataclass
class _Raised:
    exc: BaseException
