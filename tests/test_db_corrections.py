"""db.corrections on its own: which person-labelled crops the training export reads."""

from __future__ import annotations

from sqlalchemy import update

from db import review_queue as rq
from db.corrections import labelled_digits
from db.models import Digit, utcnow
from db.session import session_scope
from tests.test_db_review_queue import Spec, make_user, seed


def test_only_labelled_crops_in_id_order_per_batch(sqlite_url: str) -> None:
    uid = make_user(sqlite_url, "alice")
    one = seed(sqlite_url, [Spec("a", "12", 0.3, digits=[(1, 0.9, False), (7, 0.4, True)])])
    two = seed(sqlite_url, [Spec("b", "5", 0.3, digits=[(5, 0.5, True)])], batch="two")
    with session_scope(sqlite_url) as db:
        rq.label_digits(db, uid, [(one.digits[0][1], 2), (one.digits[0][0], 1)], utcnow())
        rq.label_digits(db, uid, [(two.digits[0][0], 5)], utcnow())
        db.execute(  # a label whose reviewer account is gone, and one without a crop
            update(Digit).where(Digit.id == two.digits[0][0]).values(corrected_by=None)
        )
    with session_scope(sqlite_url) as db:
        rows = list(labelled_digits(db))
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (one.digits[0][0], 1, 1),
            (one.digits[0][1], 2, 7),
            (two.digits[0][0], 5, 5),
        ]
        first = rows[0]
        assert first[4] == b"\x89PNG fake" and first[5] is not None
        assert first[6:] == (one.fields[0], "a", first[8], "fixture.png", "alice")
        assert rows[2][10] is None  # no reviewer known
        only_two = [r[0] for r in labelled_digits(db, batch_id=two.batch_id)]
        assert only_two == [two.digits[0][0]]
        db.execute(update(Digit).where(Digit.id == one.digits[0][0]).values(crop_png=None))
        assert [r[0] for r in labelled_digits(db, batch_id=one.batch_id)] == [one.digits[0][1]]
