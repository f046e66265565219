"""The review leases on PostgreSQL, under real concurrency (threads racing for the same queue)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from db import review_groups, review_queue
from db.models import User
from db.session import dispose_engines, get_sessionmaker, init_db
from review.users import add_user
from tests.fixtures_db import create_pg_database, drop_pg_database
from tests.fixtures_review import PASSWORD, seed_review
from tests.test_review_app import test_two_reviewers_never_share_or_overwrite as two_reviewers

pytestmark = pytest.mark.postgres

REVIEWERS = 6


@pytest.fixture(scope="module")
def pg_review_db() -> Iterator[str]:
    """One PostgreSQL database for the module (creating and migrating one costs seconds)."""
    url = create_pg_database()
    try:
        init_db(url)
        for i in range(REVIEWERS):
            add_user(url, f"r{i}", PASSWORD)
        add_user(url, "alice", PASSWORD)
        yield url
    finally:
        dispose_engines()
        drop_pg_database(url)


@pytest.fixture
def pg_review(pg_review_db: str) -> str:
    """The module's database with no review data left by an earlier test (users kept)."""
    with get_sessionmaker(pg_review_db)() as db, db.begin():
        db.execute(text("TRUNCATE batches, review_events RESTART IDENTITY CASCADE"))
    return pg_review_db


def user_ids(url: str) -> list[int]:
    with get_sessionmaker(url)() as db:
        return list(db.scalars(select(User.id).where(User.username.like("r%")).order_by(User.id)))


def race(url: str, work: object) -> None:
    """Start every reviewer at the same instant."""
    barrier = threading.Barrier(REVIEWERS)
    errors: list[BaseException] = []

    def run(uid: int) -> None:
        try:
            barrier.wait()
            work(uid)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in user_ids(url)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a reviewer thread hung"
    assert not errors, errors


def test_racing_reviewers_never_get_the_same_field(pg_review: str) -> None:
    seeded = seed_review(pg_review, n_fields=30)
    claimed: dict[int, list[int]] = {}
    lock = threading.Lock()
    maker = get_sessionmaker(pg_review)

    def work(uid: int) -> None:
        mine: list[int] = []  # held, then passed over like the session's skip list does
        for _ in range(len(seeded.fields) + 1):
            with maker() as db, db.begin():
                fid = review_queue.claim_next(db, uid, review_queue.QueueFilter(), mine)
            if fid is None:
                return
            mine.append(fid)
            with lock:
                claimed.setdefault(fid, []).append(uid)
        raise AssertionError("claim_next never ran dry")

    race(pg_review, work)
    assert sorted(claimed) == sorted(seeded.fields)  # every field handed out...
    assert all(len(v) == 1 for v in claimed.values())  # ...to exactly one reviewer


def test_racing_group_grids_are_disjoint(pg_review: str) -> None:
    seed_review(pg_review, n_fields=24, group_digit=3)
    grids: dict[int, set[int]] = {}
    maker = get_sessionmaker(pg_review)

    def work(uid: int) -> None:
        with maker() as db, db.begin():
            tiles, _total = review_groups.claim_group(db, uid, 3, size=10)
        grids[uid] = {t.id for t in tiles}

    race(pg_review, work)
    seen: set[int] = set()
    for tiles in grids.values():
        assert not tiles & seen  # no crop in two grids
        seen |= tiles
    assert max(len(t) for t in grids.values()) == 10  # somebody got a full grid
    # A latecomer gets exactly the crops nobody holds.
    add_user(pg_review, "late", PASSWORD)
    with maker() as db, db.begin():
        late = db.scalar(select(User.id).where(User.username == "late"))
        assert late is not None
        tiles, total = review_groups.claim_group(db, late, 3, size=50)
    assert total == 24 and not {t.id for t in tiles} & seen
    assert len(tiles) == 24 - len(seen)


def test_two_reviewers_on_postgres(pg_review: str) -> None:
    two_reviewers(pg_review)  # the same scenario as on SQLite (it adds bob)
