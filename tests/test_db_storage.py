"""Storage on real SQLite and PostgreSQL: migrations, blobs, dedupe, exactly-once state changes."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm.exc import StaleDataError

from db import queries
from db.models import DONE, FAILED, PROCESSING, QUEUED, Base, Batch, Document, Field, Page, User
from db.session import (
    HEAD_REVISION,
    alembic_config,
    get_engine,
    get_sessionmaker,
    init_db,
    session_scope,
)
from db.storage import DatabaseStorage, DirectoryStorage, get_storage, sha256_of
from digitize.errors import NotFoundError


def test_schema_is_created_at_head_and_matches_models(db_url: str) -> None:
    engine = init_db(db_url)
    init_db(db_url)  # idempotent
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert ctx.get_current_revision() == head == HEAD_REVISION  # the shortcut's constant
        assert compare_metadata(ctx, Base.metadata) == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    with get_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize("kind", ["db", "dir"])
def test_blob_round_trip_and_idempotent_put(db_url: str, tmp_path: Path, kind: str) -> None:
    storage = DatabaseStorage() if kind == "db" else DirectoryStorage(tmp_path / "blobs")
    data = bytes(range(256)) * 100
    with session_scope() as s:
        key = storage.put(s, data)
        assert storage.put(s, data) == key == sha256_of(data)
    with session_scope() as s:
        assert storage.get(s, key) == data
        with pytest.raises(NotFoundError):
            storage.get(s, "0" * 64)


def test_directory_store_refuses_corrupted_bytes(sqlite_url: str, tmp_path: Path) -> None:
    storage = get_storage(str(tmp_path / "store"))
    assert isinstance(storage, DirectoryStorage)
    with session_scope() as s:
        key = storage.put(s, b"original scan bytes")
    storage.path_for(key).write_bytes(b"tampered")
    with session_scope() as s, pytest.raises(NotFoundError, match="corrupt"):
        storage.get(s, key)


def test_same_bytes_are_recognised_unless_forced(db_url: str) -> None:
    storage = DatabaseStorage()
    with session_scope() as s:
        b1 = queries.create_batch(s, "submit")
        first = queries.add_document(s, b1, "a.png", b"scan-1", storage)
        again_same_batch = queries.add_document(s, b1, "copy.png", b"scan-1", storage)
        b2 = queries.create_batch(s, "submit")
        again = queries.add_document(s, b2, "b.png", b"scan-1", storage)
        forced = queries.add_document(s, b2, "b.png", b"scan-1", storage, force=True)
        other = queries.add_document(s, b2, "c.png", b"scan-2", storage)
    assert not first.duplicate
    assert again_same_batch.duplicate and again_same_batch.document.id == first.document.id
    assert again.duplicate and again.document.id == first.document.id
    assert not forced.duplicate and forced.document.id != first.document.id
    assert not other.duplicate
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 5
        # The two repeats are listed, each pointing at the document that holds the reading.
        listed = s.execute(
            select(Document.batch_id, Document.source, Document.status, Document.duplicate_of)
            .where(Document.duplicate_of.is_not(None))
            .order_by(Document.id)
        ).all()
        assert [tuple(r) for r in listed] == [
            (b1.id, "copy.png", "duplicate", first.document.id),
            (b2.id, "b.png", "duplicate", first.document.id),
        ]
        assert s.scalar(text("SELECT count(*) FROM blobs")) == 2  # bytes stored once


def _one_doc() -> int:
    with session_scope() as s:
        b = queries.create_batch(s, "submit")
        data = uuid.uuid4().bytes
        return queries.add_document(s, b, "x.png", data, DatabaseStorage()).document.id


def test_only_the_first_finisher_wins(db_url: str) -> None:
    doc_id = _one_doc()
    with session_scope() as s:
        assert queries.claim(s, doc_id, "w1", max_attempts=3)
    with session_scope() as s:
        assert queries.claim(s, doc_id, "w2", max_attempts=3)  # redelivered: taken over
    with session_scope() as s:
        assert queries.finish(s, doc_id, DONE, page_count=1)
    with session_scope() as s:
        assert not queries.finish(s, doc_id, FAILED, error="late")
        assert not queries.claim(s, doc_id, "w3", max_attempts=3)
        doc = queries.get_document(s, doc_id)
        assert (doc.status, doc.error, doc.attempts) == (DONE, None, 2)


def test_concurrent_finishers_on_separate_connections(db_url: str) -> None:
    """Eight threads race to finish one document: exactly one UPDATE takes effect."""
    doc_id = _one_doc()
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        with session_scope() as s:
            wins.append(queries.finish(s, doc_id, DONE, page_count=1))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_a_document_that_keeps_failing_is_given_up(db_url: str) -> None:
    doc_id = _one_doc()
    for _ in range(2):
        with session_scope() as s:
            assert queries.claim(s, doc_id, "w", max_attempts=2)
    with session_scope() as s:
        assert not queries.claim(s, doc_id, "w", max_attempts=2)
        doc = queries.get_document(s, doc_id)
        assert doc.status == FAILED and "gave up after 2 attempts" in (doc.error or "")


def test_stale_documents_are_found_once(db_url: str) -> None:
    ids = [_one_doc() for _ in range(3)]
    with session_scope() as s:
        queries.claim(s, ids[1], "w", max_attempts=3)
        queries.finish(s, ids[2], DONE)
        old = queries.utcnow() - timedelta(hours=1)
        s.execute(update(Document).values(updated_at=old))
    with session_scope() as s:
        assert queries.stale_documents(s, 60) == ids[:2]
    with session_scope() as s:
        assert queries.stale_documents(s, 60) == []  # touched: not sent twice in a row
        assert s.get_one(Document, ids[1]).status == PROCESSING
        assert s.get_one(Document, ids[0]).status == QUEUED


def test_field_versions_stop_silent_overwrites(db_url: str) -> None:
    doc_id = _one_doc()
    with session_scope() as s:
        doc = s.get_one(Document, doc_id)
        page = Page(document_id=doc_id, number=1, width=10, height=10)
        page.fields.append(
            Field(
                document_id=doc_id,
                batch_id=doc.batch_id,
                name="total",
                value="12",
                confidence=0.5,
                box=[0, 0, 5, 5],
                reasons=[],
            )
        )
        s.add(page)
        s.add(User(username="ann", password_hash="x"))
    maker = get_sessionmaker()
    s1, s2 = maker(), maker()
    f1 = s1.scalars(select(Field)).one()
    f2 = s2.scalars(select(Field)).one()
    f1.reviewed_value = "13"
    s1.commit()
    f2.reviewed_value = "18"
    with pytest.raises(StaleDataError):
        s2.commit()
    s2.rollback()
    s1.close()
    s2.close()
    with session_scope() as s:
        f = s.scalars(select(Field)).one()
        assert (f.reviewed_value, f.version) == ("13", 2)


def test_deleting_a_batch_removes_its_rows(db_url: str) -> None:
    doc_id = _one_doc()
    with session_scope() as s:
        doc = s.get_one(Document, doc_id)
        s.add(Page(document_id=doc_id, number=1, width=1, height=1))
        batch_id = doc.batch_id
    with session_scope() as s:
        s.execute(delete(Batch).where(Batch.id == batch_id))
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 0


def test_a_database_behind_head_is_still_upgraded(db_url: str) -> None:
    """The at-head shortcut only skips Alembic when the recorded revision is the newest."""
    from alembic import command

    from db.session import dispose_engines

    init_db(db_url)
    command.downgrade(alembic_config(db_url), "0002_review_queue")
    dispose_engines()
    engine = init_db(db_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
