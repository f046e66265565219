"""db.review_groups on its own: counting and leasing doubtful crops, confirming and settling."""

from __future__ import annotations

from db import review_groups as rg
from db import review_queue as rq
from db.models import utcnow
from db.session import session_scope
from tests.test_db_review_queue import Spec, make_user, seed


def test_counts_and_grids_take_only_doubtful_crops_nobody_holds(db_url: str) -> None:
    s = seed(
        db_url,
        [
            Spec("a", "33", 0.2, digits=[(3, 0.4, True), (3, 0.5, True)]),
            Spec("b", "35", 0.3, digits=[(3, 0.3, True), (5, 0.6, True)]),
            Spec("c", "3", 0.4, digits=[(3, 0.2, True)], needs_review=False),  # not queued
            Spec("d", "31", 0.5, digits=[(3, 0.99, False), (1, 0.1, True)]),  # sure of the 3
        ],
    )
    alice, bob = make_user(db_url, "alice"), make_user(db_url, "bob")
    with session_scope(db_url) as db:
        counts = dict(rg.group_counts(db))
    assert len(counts) == 10 and (counts[3], counts[5], counts[1], counts[0]) == (3, 1, 1, 0)
    with session_scope(db_url) as db:
        tiles, total = rg.claim_group(db, alice, 3, size=1)
    assert total == 3 and [t.id for t in tiles] == [s.digits[1][0]]  # the least confident 3
    assert (tiles[0].field_id, tiles[0].name) == (s.fields[1], "b")
    with session_scope(db_url) as db:  # alice holds field b: bob sees only field a's crops
        tiles, total = rg.claim_group(db, bob, 3, size=60)
    assert total == 3 and [t.id for t in tiles] == s.digits[0]
    with session_scope(db_url) as db:
        shown = [*s.digits[0], s.digits[1][0]]
        open_ = rg.shown_still_open(db, bob, 3, shown, utcnow())  # b's crop is alice's now
    assert sorted(open_) == [(s.digits[0][0], s.fields[0]), (s.digits[0][1], s.fields[0])]


def test_confirming_every_doubtful_digit_settles_a_field(sqlite_url: str) -> None:
    s = seed(
        sqlite_url,
        [
            Spec("a", "38", 0.2, digits=[(3, 0.4, True), (8, 0.99, False)]),
            Spec("b", "33", 0.3, digits=[(3, 0.3, True), (3, 0.5, True)]),
            Spec("c", "3", 0.4, digits=[(3, 0.2, True)], reasons=["format"]),
        ],
    )
    uid = make_user(sqlite_url, "alice")
    now = utcnow()
    with session_scope(sqlite_url) as db:
        assert rg.confirm_digit(db, uid, s.digits[0][0], 3, now)
        assert not rg.confirm_digit(db, uid, s.digits[0][0], 3, now)  # labelled already
        for digit_id in s.digits[1]:
            assert rg.confirm_digit(db, uid, digit_id, 3, now)
        # A person had said b's second crop is no 3: the field must go to field review.
        rq.record_event(
            db, uid, "alice", rg.REJECTED, field_id=s.fields[1], digit_id=s.digits[1][1]
        )
        assert rg.confirm_digit(db, uid, s.digits[2][0], 3, now)
    with session_scope(sqlite_url) as db:
        assert rg.settle_field(db, uid, "alice", s.fields[0])
        assert not rg.settle_field(db, uid, "alice", s.fields[0])  # no longer pending
        assert not rg.settle_field(db, uid, "alice", s.fields[1])  # a crop was rejected
        assert not rg.settle_field(db, uid, "alice", s.fields[2])  # flagged for more than doubt
    with session_scope(sqlite_url) as db:
        a = rq.load_field(db, s.fields[0])
        assert (a.reviewed_value, a.review_status, a.version) == ("38", "confirmed", 2)
        assert rq.last_verdict(db, s.fields[0]).username == "alice"  # type: ignore[union-attr]
        assert [f.id for f in rq.list_queue(db, rq.QueueFilter(), 0, 50)[0]] == s.fields[1:]
        assert dict(rg.group_counts(db))[3] == 0  # every 3 is labelled now
