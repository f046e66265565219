"""db.dashboard on its own: recent batches, pages per minute and the confidence histogram."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from db import dashboard
from db.models import Document
from db.session import session_scope
from tests.test_db_review_queue import Spec, seed


def test_batches_throughput_and_histogram(db_url: str) -> None:
    first = seed(db_url, [Spec("a", "1", 0.0), Spec("b", "2", 0.04)], batch="one", pages=4)
    second = seed(
        db_url,
        [Spec("c", "3", 0.5), Spec("d", "4", 0.99, needs_review=False), Spec("e", "5", 1.0)],
        batch="two",
    )
    with session_scope(db_url) as db:
        db.execute(  # a failed document does not count towards the speed
            update(Document).where(Document.batch_id == second.batch_id).values(status="failed")
        )
    with session_scope(db_url) as db:
        batches = dashboard.recent_batches(db, 30)
        assert [(b.id, b.name, b.origin) for b in batches] == [
            (second.batch_id, "two", "process"),
            (first.batch_id, "one", "process"),
        ]
        assert [b.id for b in dashboard.recent_batches(db, 1)] == [second.batch_id]
        speed = dashboard.throughput(db, [first.batch_id, second.batch_id])
        assert list(speed) == [first.batch_id]
        assert speed[first.batch_id] == pytest.approx(2.0, rel=0.01)  # 4 pages in 2 minutes
        everything = dashboard.confidence_histogram(db, None, 20)
        one = dashboard.confidence_histogram(db, first.batch_id, 20)
        coarse = dashboard.confidence_histogram(db, second.batch_id, 2)
    assert len(everything) == 20 and sum(everything) == 5
    assert everything[0] == 2 and everything[10] == 1 and everything[19] == 2  # 1.0 in the top bin
    assert one == [2] + [0] * 19
    assert coarse == [0, 3]
