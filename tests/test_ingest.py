"""worker.ingest streaming: documents are committed as they are yielded, in order, errors kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db import queries
from db.models import QUEUED, Document
from db.session import session_scope
from db.storage import get_storage
from digitize.settings import get_settings
from worker.ingest import in_background, ingest_files


def test_each_document_is_committed_when_yielded(sqlite_url: str, tmp_path: Path) -> None:
    """A worker may claim a document the moment ``process`` hands it over."""
    files = []
    for i in range(5):
        f = tmp_path / f"scan{i}.png"
        f.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([i]) * 100)
        files.append(f)
    settings = get_settings()
    with session_scope() as s:
        batch_id = queries.create_batch(s, "process", []).id
    seen = []
    stored = ingest_files(batch_id, files, get_storage(settings.storage_url), settings)
    for item in stored:
        with session_scope() as other:  # another connection, as a worker process has
            ids = list(other.scalars(select(Document.id).where(Document.batch_id == batch_id)))
        assert item.document_id in ids and item.status == QUEUED
        seen.append(item.path)
    assert seen == files


def test_in_background_keeps_order_runs_ahead_and_raises() -> None:
    produced = threading.Event()

    def items() -> Iterator[int]:
        yield 1
        yield 2
        produced.set()  # reached before the consumer asks for the second item
        raise OSError("disk gone")

    it = in_background(items())
    assert next(it) == 1
    assert produced.wait(5)
    assert next(it) == 2
    with pytest.raises(OSError, match="disk gone"):
        next(it)
