"""db.review_queue on its own: the queue's order and filters, exclusive leases, compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from db import review_queue as rq
from db import users
from db.models import Batch, Digit, Document, Field, Page, utcnow
from db.session import session_scope
from digitize.errors import NotFoundError

CONFIDENCE_ONLY = ["low_confidence_digit", "low_confidence_field"]


@dataclass
class Spec:
    """One field to seed; ``digits`` are ``(value, confidence, needs_review)`` in reading order."""

    name: str
    value: str
    confidence: float
    digits: list[tuple[int | None, float, bool]] = field(default_factory=list)
    template: str = "invoice"
    needs_review: bool = True
    reasons: list[str] = field(default_factory=lambda: list(CONFIDENCE_ONLY))


@dataclass
class Seeded:
    batch_id: int
    fields: list[int]
    digits: list[list[int]]


def seed(url: str, specs: list[Spec], *, batch: str = "fixture", pages: int = 1) -> Seeded:
    """A batch with one finished document holding ``specs`` (crops are a few fake PNG bytes)."""
    out = Seeded(0, [], [])
    with session_scope(url) as db:
        b = Batch(name=batch, origin="process", templates=[], created_at=utcnow())
        db.add(b)
        db.flush()
        now = utcnow()
        doc = Document(
            batch_id=b.id,
            source=f"{batch}.png",
            sha256=f"{b.id:064x}",
            size=1,
            status="done",
            page_count=pages,
            started_at=now - timedelta(minutes=2),
            finished_at=now,
        )
        db.add(doc)
        db.flush()
        page = Page(document_id=doc.id, number=1, template="invoice", width=100, height=100)
        db.add(page)
        db.flush()
        out.batch_id = b.id
        for i, s in enumerate(specs):
            f = Field(
                page_id=page.id,
                document_id=doc.id,
                batch_id=b.id,
                template=s.template,
                position=i,
                name=s.name,
                value=s.value,
                confidence=s.confidence,
                needs_review=s.needs_review,
                reasons=s.reasons,
                box=[0, 0, 10, 10],
            )
            db.add(f)
            db.flush()
            ids = []
            for j, (value, conf, doubt) in enumerate(s.digits):
                d = Digit(
                    field_id=f.id,
                    position=j,
                    value=value,
                    confidence=conf,
                    alternatives=[[value, conf]],
                    box=[j, 0, 1, 1],
                    crop_png=b"\x89PNG fake",
                    needs_review=doubt,
                )
                db.add(d)
                db.flush()
                ids.append(d.id)
            out.fields.append(f.id)
            out.digits.append(ids)
    return out


def make_user(url: str, name: str) -> int:
    with session_scope(url) as db:
        users.create_user(db, name, "not-a-real-hash", admin=False)
    with session_scope(url) as db:
        uid = users.user_id(db, name)
    assert uid is not None
    return uid


def test_queue_lists_most_doubtful_first_with_filters_and_paging(sqlite_url: str) -> None:
    s = seed(
        sqlite_url,
        [
            Spec("amount", "12", 0.7),
            Spec("date", "0101", 0.2, template="claim"),
            Spec("amount", "99", 0.5),
            Spec("code", "7", 0.1, needs_review=False),  # not flagged: never queued
        ],
    )
    with session_scope(sqlite_url) as db:
        rows, total = rq.list_queue(db, rq.QueueFilter(), 0, 50)
        assert [r.id for r in rows] == [s.fields[1], s.fields[2], s.fields[0]]
        assert total == 3 and rows[0].source == "fixture.png" and rows[0].page_number == 1
        assert rows[0].reasons == CONFIDENCE_ONLY and rows[0].locked_by is None
        page2, total = rq.list_queue(db, rq.QueueFilter(), 1, 1)
        assert [r.id for r in page2] == [s.fields[2]] and total == 3
        amounts = rq.QueueFilter(batch=s.batch_id, field="amount")
        assert [r.id for r in rq.list_queue(db, amounts, 0, 50)[0]] == [s.fields[2], s.fields[0]]
        assert rq.count_queue(db, rq.QueueFilter(template="claim")) == 1
        assert rq.count_queue(db, rq.QueueFilter(batch=s.batch_id + 1)) == 0
        options = rq.filter_options(db)
    assert [(o.id, o.label) for o in options.batches] == [(s.batch_id, f"#{s.batch_id} fixture")]
    assert options.templates == ["claim", "invoice"]
    assert options.fields == ["amount", "code", "date"]


def test_leases_are_exclusive_until_released(db_url: str) -> None:
    s = seed(db_url, [Spec("a", "1", 0.1), Spec("b", "2", 0.2), Spec("c", "3", 0.3)])
    alice, bob = make_user(db_url, "alice"), make_user(db_url, "bob")
    with session_scope(db_url) as db:
        assert rq.claim(db, alice, s.fields[0])
        assert rq.claim(db, alice, s.fields[0])  # renewing our own lease
    with session_scope(db_url) as db:
        assert not rq.claim(db, bob, s.fields[0])
        held = rq.holder_of(db, s.fields[0])
        assert held is not None and held[0] == "alice" and held[1] > utcnow()
        assert rq.list_queue(db, rq.QueueFilter(), 0, 50)[0][0].locked_by == "alice"
        # Bob gets the most doubtful field nobody else holds; alice keeps hers first.
        assert rq.claim_next(db, bob, rq.QueueFilter(), []) == s.fields[1]
        assert rq.claim_next(db, bob, rq.QueueFilter(), [s.fields[1]]) == s.fields[2]
        assert rq.claim_next(db, alice, rq.QueueFilter(), []) == s.fields[0]
        rq.release(db, bob, [s.fields[0]])  # not his: untouched
    with session_scope(db_url) as db:
        assert not rq.claim(db, bob, s.fields[0])
        assert rq.claim_fields(db, bob, s.fields, utcnow()) == {s.fields[1], s.fields[2]}
        rq.release_all(db, alice)
    with session_scope(db_url) as db:
        assert rq.holder_of(db, s.fields[0]) is None
        assert rq.claim_next(db, bob, rq.QueueFilter(), s.fields[1:]) == s.fields[0]


def test_a_verdict_is_compare_and_set_on_version_and_lease(db_url: str) -> None:
    s = seed(db_url, [Spec("amount", "17", 0.3, digits=[(1, 0.99, False), (7, 0.4, True)])])
    fid = s.fields[0]
    alice, bob = make_user(db_url, "alice"), make_user(db_url, "bob")
    with session_scope(db_url) as db:
        assert rq.claim(db, alice, fid)
        view = rq.load_field(db, fid)
    assert view.version == 1 and [d.value for d in view.digits] == [1, 7]
    with session_scope(db_url) as db:  # bob cannot save over alice's lease
        assert not rq.save_verdict(db, bob, fid, 1, value="11", status="corrected", now=utcnow())
    with session_scope(db_url) as db:
        now = utcnow()
        assert not rq.save_verdict(
            db, alice, fid, 2, value="11", status="corrected", now=now
        )  # stale
        assert rq.save_verdict(db, alice, fid, 1, value="11", status="corrected", now=now)
        rq.record_event(db, alice, "alice", "correct", field_id=fid, old="17", new="11")
        rq.record_event(db, alice, "alice", "reject", field_id=fid, digit_id=view.digits[1].id)
        rq.label_digits(db, alice, [(d.id, 1) for d in view.digits], now)
    with session_scope(db_url) as db:
        after = rq.load_field(db, fid)
        assert (after.version, after.reviewed_value, after.review_status) == (2, "11", "corrected")
        assert [d.corrected_value for d in after.digits] == [1, 1]
        assert [d.rejected for d in after.digits] == [False, True]
        assert rq.holder_of(db, fid) is None  # the save released the lease
        last = rq.last_verdict(db, fid)
        assert last is not None and (last.version, last.username) == (2, "alice")
        versions = db.scalars(select(Digit.version).order_by(Digit.position)).all()
        assert versions == [2, 2]
        assert not rq.save_verdict(db, bob, fid, 1, value="17", status="confirmed", now=utcnow())
        assert rq.count_queue(db, rq.QueueFilter()) == 0  # settled: out of the queue
        assert rq.last_verdict(db, fid + 1000) is None
        with pytest.raises(NotFoundError):
            rq.load_field(db, fid + 1000)
