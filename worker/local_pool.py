"""In-process processing without a broker: a pool of processes, each loading the model once.

Used by ``digitize process`` and ``digitize watch``. A reader that crashes its process (a native
decoder bug, the kernel's OOM killer) costs that process, not the run: the pool is rebuilt and the
unfinished documents go on; one that keeps crashing is failed after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from db import queries
from db.models import FAILED
from db.session import session_scope
from digitize.errors import TransientError
from digitize.settings import get_settings
from worker.pipeline import Outcome, default_classifier, process_document

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
TRANSIENT_RETRIES = 5


def _init(env: dict[str, str]) -> None:
    import cv2

    atexit.register(_exit_now)
    os.environ.update(env)
    cv2.setNumThreads(1)  # processes give the parallelism
    get_settings.cache_clear()
    try:
        default_classifier(get_settings())
    except Exception:  # reported per document
        log.exception("could not load the model")


def _exit_now() -> None:
    """End a pool process without tearing the interpreter down module by module.

    Its work is committed and its results sent by then; the teardown (numpy, OpenCV, SQLAlchemy,
    the runtime) took ~0.3 s per process at the end of every ``digitize process`` run.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_one(document_id: int) -> Outcome:
    """Process one document here, retrying transient database faults with backoff."""
    for attempt in range(TRANSIENT_RETRIES):
        try:
            return process_document(document_id, max_attempts=MAX_ATTEMPTS)
        except TransientError:
            if attempt == TRANSIENT_RETRIES - 1:
                raise
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


def _ready() -> None:
    """A no-op task: submitting one makes the pool start a process."""


def _fail_crashed(document_id: int) -> Outcome:
    with session_scope() as session:
        queries.finish(session, document_id, FAILED, error="the reader crashed on this file")
    return Outcome(document_id, FAILED, "the reader crashed on this file")


class Pool:
    """A spawn-based process pool that survives its workers dying."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._env = {k: v for k, v in os.environ.items() if k.startswith("DIGITIZE_")}
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init,
                initargs=(self._env,),
            )
        return self._executor

    def run(
        self, document_ids: Iterable[int], on_done: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        """Process every document; ``on_done`` is called in this process as each one ends.

        At most ``jobs`` documents are in flight, so when a process dies the suspects are known:
        they are retried one at a time, which pins the crash on the file that causes it.
        """
        source = iter(document_ids)  # may be slow (ids as they are stored): pulled when needed
        exhausted = False
        suspects: deque[int] = deque()
        tries: dict[int, int] = {}
        outcomes: list[Outcome] = []

        def record(out: Outcome) -> None:
            outcomes.append(out)
            if on_done is not None:
                on_done(out)

        def take() -> int | None:
            nonlocal exhausted
            doc_id = None if exhausted else next(source, None)
            exhausted = doc_id is None
            return doc_id

        in_flight: dict[Future[Outcome], int] = {}
        while not exhausted or suspects or in_flight:
            if suspects and not in_flight:
                doc_id = suspects.popleft()
                try:
                    record(self._pool().submit(run_one, doc_id).result())
                except BrokenProcessPool:
                    self.close()
                    tries[doc_id] = tries.get(doc_id, 0) + 1
                    if tries[doc_id] >= MAX_ATTEMPTS:
                        record(_fail_crashed(doc_id))
                    else:
                        suspects.appendleft(doc_id)
                except TransientError as exc:
                    record(Outcome(doc_id, "queued", str(exc)))
                continue
            while len(in_flight) < self.jobs and not suspects:
                if (new_id := take()) is None:
                    break
                in_flight[self._pool().submit(run_one, new_id)] = new_id
            if not in_flight:
                continue
            done, _ = wait(set(in_flight), return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                doc_id = in_flight.pop(fut)
                try:
                    record(fut.result())
                except BrokenProcessPool:
                    broken = True
                    suspects.append(doc_id)
                except TransientError as exc:
                    record(Outcome(doc_id, "queued", str(exc)))
            if broken:
                log.warning("a reader process died; retrying its documents one at a time")
                suspects.extend(in_flight.values())
                in_flight.clear()
                self.close()
        return outcomes

    def start(self) -> None:
        """Start every process now rather than at the first document: each takes ~0.4 s to
        import the pipeline and load the model, time the caller can spend storing files."""
        pool = self._pool()
        for _ in range(self.jobs):
            pool.submit(_ready)

    def submit(self, fn: Callable[[int], Outcome], document_id: int) -> Future[Outcome]:
        """One document to the pool (the caller handles ``BrokenProcessPool``)."""
        return self._pool().submit(fn, document_id)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
