"""The watched folder: files dropped in are read and then moved to ``processed/`` or ``failed/``.

A file is taken only once it has stopped changing (size and mtime stable for ``settle_s``), and
moved only once the database holds its final status, so a crash at any point loses nothing: the
file is still in the folder, or its result is in the database. Hidden, temporary and symlinked
files and the watcher's own subfolders are ignored; a layout that would feed the watcher its own
output (or the database file) is refused.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from db import queries
from db.models import DONE, PROCESSING, QUEUED, Batch
from db.session import session_scope, sqlite_path
from db.storage import get_storage
from digitize.errors import ConfigError
from digitize.settings import Settings
from worker.ingest import ingest_file, is_candidate, pack_templates

log = logging.getLogger(__name__)
REASON_SUFFIX = ".reason.txt"
#: On stop, how long to wait for documents already taken before leaving them for the next start.
DRAIN_S = 60.0


@dataclass
class WatchConfig:
    root: Path
    templates: Sequence[Path] = ()
    poll: bool = False
    settle_s: float = 1.0
    jobs: int = 0
    queue: bool = False  # send to Celery workers instead of reading here
    processed: Path | None = None
    failed: Path | None = None

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.processed = (self.processed or self.root / "processed").resolve()
        self.failed = (self.failed or self.root / "failed").resolve()


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_config(cfg: WatchConfig, settings: Settings) -> None:
    """Refuse layouts that would loop: output feeding input, the database inside the folder."""
    assert cfg.processed is not None and cfg.failed is not None
    if not cfg.root.is_dir():
        raise ConfigError(f"{cfg.root} is not a folder")
    for name, out in (("processed", cfg.processed), ("failed", cfg.failed)):
        if out == cfg.root or _within(cfg.root, out):
            raise ConfigError(
                f"the {name} folder {out} contains the watched folder {cfg.root}: "
                "moved files would be picked up again"
            )
    if cfg.processed == cfg.failed:
        raise ConfigError("the processed and failed folders must differ")
    db_file = sqlite_path(settings.database_url)
    if db_file is not None and _within(db_file, cfg.root):
        raise ConfigError(
            f"the database {db_file} is inside the watched folder: it would be read as a scan; "
            "set DIGITIZE_DATABASE_URL to a file elsewhere"
        )
    if settings.storage_url not in ("", "db"):
        store = Path(settings.storage_url.removeprefix("file://")).expanduser().resolve()
        if _within(store, cfg.root) or _within(cfg.root, store):
            raise ConfigError(f"the blob store {store} overlaps the watched folder")
    for t in cfg.templates:
        if _within(Path(t).resolve(), cfg.root):
            raise ConfigError(f"the template {t} is inside the watched folder")


class _Events(FileSystemEventHandler):
    def __init__(self, seen: Callable[[Path], None]) -> None:
        self.seen = seen

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for p in (event.src_path, getattr(event, "dest_path", "")):
            if p:
                self.seen(Path(os.fsdecode(p)))


@dataclass
class _Pending:
    stat: tuple[int, int]
    since: float


@dataclass
class Watcher:
    cfg: WatchConfig
    settings: Settings
    on_event: Callable[[str, Path, str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _candidates: dict[Path, _Pending | None] = field(default_factory=dict)
    _waiting: dict[int, list[Path]] = field(default_factory=dict)
    _futures: dict[Future[Any], int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    batch_id: int | None = None

    def wanted(self, path: Path) -> bool:
        assert self.cfg.processed is not None and self.cfg.failed is not None
        try:
            rel = path.relative_to(self.cfg.root)
        except ValueError:
            return False
        if _within(path, self.cfg.processed) or _within(path, self.cfg.failed):
            return False
        if any(part.startswith(".") for part in rel.parts):
            return False
        return is_candidate(path)

    def seen(self, path: Path) -> None:
        path = Path(os.path.abspath(path))
        if self.wanted(path):
            with self._lock:
                self._candidates.setdefault(path, None)

    def stop(self, *_: Any) -> None:
        self._stop.set()

    # -- the loop -------------------------------------------------------------------------------

    def run(self, *, idle_exit_s: float | None = None) -> None:
        """Watch until stopped (SIGINT/SIGTERM, or ``idle_exit_s`` with nothing left to do)."""
        check_config(self.cfg, self.settings)
        from worker.local_pool import Pool

        observer = PollingObserver(timeout=1) if self.cfg.poll else Observer()
        observer.schedule(_Events(self.seen), str(self.cfg.root), recursive=True)
        observer.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            if threading.current_thread() is threading.main_thread():
                signal.signal(sig, self._on_signal)
        for p in sorted(self.cfg.root.rglob("*")):  # files already there at start
            if p.is_file() or p.is_symlink():
                self.seen(p)
        pool = None if self.cfg.queue else Pool(self.cfg.jobs)
        idle_since = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    busy = self._tick(pool)
                except Exception:  # database down, say: keep watching, files stay put
                    log.exception("watch loop error; retrying")
                    busy = True
                    self._stop.wait(2.0)
                if busy:
                    idle_since = time.monotonic()
                elif idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                    break
                self._stop.wait(0.25)
            deadline = time.monotonic() + DRAIN_S
            while self._waiting and time.monotonic() < deadline:  # finish what was taken
                self._settle_finished(pool)
                time.sleep(0.25)
            # Whatever is left stays in the folder; the next start takes it up again.
        finally:
            observer.stop()
            observer.join(5)
            if pool is not None:
                pool.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    def _tick(self, pool: Any) -> bool:
        ready = self._ready_files()
        for path in ready:
            self._take(path, pool)
        self._settle_finished(pool)
        with self._lock:
            return bool(ready or self._waiting or self._candidates)

    def _ready_files(self) -> list[Path]:
        now = time.monotonic()
        ready = []
        with self._lock:
            for path, pend in list(self._candidates.items()):
                try:
                    st = path.lstat()
                except FileNotFoundError:
                    del self._candidates[path]
                    continue
                if not path.is_file() or path.is_symlink():
                    del self._candidates[path]
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                if pend is None or pend.stat != sig:
                    self._candidates[path] = _Pending(sig, now)
                elif now - pend.since >= self.cfg.settle_s:
                    ready.append(path)
                    del self._candidates[path]
        return ready

    def _take(self, path: Path, pool: Any) -> None:
        """Store the file as a document (the file stays put until the result is in)."""
        if any(path in paths for paths in self._waiting.values()):
            return
        try:
            with session_scope() as session:
                storage = get_storage(self.settings.storage_url)
                if self.batch_id is None:
                    packed = pack_templates(session, storage, self.cfg.templates)
                    self.batch_id = queries.create_batch(session, "watch", packed).id
                batch = session.get_one(Batch, self.batch_id)
                ing = ingest_file(session, batch, path, storage, self.settings)
        except Exception as exc:  # the folder must survive anything one file does
            log.exception("could not take %s", path)
            self._notify("error", path, str(exc))
            return
        self._waiting.setdefault(ing.document_id, []).append(path)
        self._notify("taken", path, f"document {ing.document_id}")
        if ing.status not in (QUEUED, PROCESSING):
            return  # failed on arrival, or a duplicate already finished: moved on the next tick
        # New, or a duplicate left unfinished (say by a watcher that was killed): read it.
        try:
            self._dispatch(ing.document_id, pool)
        except Exception as exc:  # broker down: `recover` re-sends it from the database
            log.error("document %s queued but not sent: %s", ing.document_id, exc)

    def _dispatch(self, doc_id: int, pool: Any) -> None:
        if pool is None:
            from worker.tasks import enqueue

            enqueue([doc_id])
        else:
            from worker.local_pool import run_one

            self._futures[pool.submit(run_one, doc_id)] = doc_id

    def _settle_finished(self, pool: Any) -> None:
        for fut, doc_id in list(self._futures.items()):
            if not fut.done():
                continue
            del self._futures[fut]
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):  # claim() fails it after MAX_ATTEMPTS
                pool.close()
                self._dispatch(doc_id, pool)
            elif exc is not None:
                log.error("document %s: %s", doc_id, exc)
        if not self._waiting:
            return
        with session_scope() as session:
            rows = queries.finished_documents(session, list(self._waiting))
        for doc_id, status, error in rows:
            for path in self._waiting.pop(doc_id, []):
                self._move(path, status, error)

    def _move(self, path: Path, status: str, error: str | None) -> None:
        assert self.cfg.processed is not None and self.cfg.failed is not None
        dest_dir = self.cfg.processed if status == DONE else self.cfg.failed
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            dest = _free_name(dest_dir / path.name)
            shutil.move(str(path), str(dest))
            if status != DONE:
                reason = dest.with_name(dest.name + REASON_SUFFIX)
                reason.write_text(f"{error or 'failed'}\n", encoding="utf-8")
        except FileNotFoundError:
            return  # removed by somebody else meanwhile: the database has it anyway
        except OSError as exc:
            log.error("could not move %s: %s", path, exc)
            return
        self._notify(status, path, error or "")

    def _notify(self, what: str, path: Path, detail: str) -> None:
        if self.on_event is not None:
            self.on_event(what, path, detail)


def _free_name(dest: Path) -> Path:
    n = 1
    out = dest
    while out.exists():
        out = dest.with_name(f"{dest.stem} ({n}){dest.suffix}")
        n += 1
    return out
