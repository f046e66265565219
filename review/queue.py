"""The review queue as people use it: filters from the URL, and saving a verdict on one field.

The SQL (listing, leases, loading a field, the compare-and-set save) lives in ``db.review_queue``.
Saves are compare-and-set on ``version``: a stale form gets ``ConflictError`` (HTTP 409) saying
who won, never a silent overwrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from db import review_queue as rq
from db.models import utcnow
from digitize.errors import BadInputError, ConflictError
from digitize.settings import Settings
from review import reasons, specs

PAGE_SIZE = 50
#: What a person may type: digits and the separators real forms use (dates, amounts).
VALUE_RE = re.compile(r"^[0-9 .,/\-]{0,255}$")


class QueueFilters(rq.QueueFilter):
    """The queue filter as query parameters (``?batch=&template=&field=``)."""

    @classmethod
    def parse(cls, batch: str | None, template: str | None, name: str | None) -> QueueFilters:
        b = int(batch) if batch and batch.strip().isdigit() else None
        return cls(b, template or None, name or None)

    def params(self, **extra: Any) -> dict[str, Any]:
        p: dict[str, Any] = {"batch": self.batch, "template": self.template, "field": self.field}
        p.update(extra)
        return {k: v for k, v in p.items() if v not in (None, "")}

    @property
    def query(self) -> str:
        p = self.params()
        return f"?{urlencode(p)}" if p else ""

    def query_with(self, **extra: Any) -> str:
        p = self.params(**extra)
        return f"?{urlencode(p)}" if p else ""

    @property
    def active(self) -> bool:
        return bool(self.params())


#: The value box is never narrower than this many characters.
MIN_CHARS = 4


@dataclass
class EntryShape:
    """How the value is typed: one box sized to the field, or one box per comb cell."""

    chars: int  # the width of the value box, in characters
    cells: list[str] | None  # a comb: the machine's reading, one character per cell
    expected: int | None  # how many digits the form says the field holds, when it says


def entry_shape(value: str, info: specs.FieldInfo | None, n_digits: int) -> EntryShape:
    expected = info.expected_length if info else None
    if info is not None and info.comb and info.cells:
        n = max(info.cells, len(value))
        return EntryShape(n, [*value] + [""] * (n - len(value)), expected)
    longest = max(expected or 0, len(value), n_digits, MIN_CHARS)
    return EntryShape(longest + 1, None, expected)  # +1: the caret after the last digit


def field_context(db: Session, settings: Settings, view: rq.FieldView) -> dict[str, Any]:
    """What the field page shows besides the field: the entry's shape, the reasons in words and
    what the digits' confidences say about the field's."""
    info = specs.field_info(db, settings, view.batch_id, view.template, view.name)
    shape = entry_shape(view.value, info, len(view.digits))
    notes = [
        reasons.digit_note(d.value, d.confidence, d.alternatives, settings.digit_review_threshold)
        for d in view.digits
    ]
    story = reasons.confidence_story(
        view.confidence,
        [d.confidence for d in view.digits],
        field_threshold=settings.review_threshold,
        digit_threshold=settings.digit_review_threshold,
        expected_digits=shape.expected,
    )
    return {
        "shape": shape,
        "reasons": [(code, reasons.explain(code)) for code in view.reasons],
        "notes": notes,
        "story": story,
    }


def clean_value(raw: str) -> str:
    value = raw.strip()
    if not VALUE_RE.match(value):
        raise BadInputError(f"{raw!r} is not a value this form can hold (digits and . , / - only)")
    return value


def save_review(
    db: Session, uid: int, username: str, field_id: int, version: int, action: str, raw: str
) -> str:
    """Apply a verdict (accept/unreadable/skip) to a leased field; returns the event action.

    ``accept`` with the machine's value is a confirmation, with another value a correction; both
    label the field's digit crops when the value has one digit per crop (training data).
    """
    now = utcnow()
    current = rq.load_field(db, field_id)
    if action == "skip":
        rq.release(db, uid, [field_id])
        rq.record_event(db, uid, username, "skip", field_id=field_id)
        return "skip"
    old = (
        current.value
        if current.reviewed_at is None
        else (None if current.review_status == "unreadable" else current.reviewed_value)
    )
    if action == "unreadable":
        new: str | None = None
        status = event = "unreadable"
    elif action == "accept":
        new = clean_value(raw)
        status = "confirmed" if new == current.value else "corrected"
        event = "confirm" if new == old else "correct"
    else:
        raise BadInputError(f"unknown action {action!r}")
    if not rq.save_verdict(db, uid, field_id, version, value=new, status=status, now=now):
        raise _conflict(db, field_id, version, new)
    rq.record_event(db, uid, username, event, field_id=field_id, old=old, new=new)
    if new is not None and new.isdigit() and len(new) == len(current.digits):
        labels = [(d.id, int(ch)) for d, ch in zip(current.digits, new, strict=True)]
        rq.label_digits(db, uid, labels, now)
    return event


def _conflict(db: Session, field_id: int, version: int, new: str | None) -> ConflictError:
    """Explain why a save matched no row: a newer version, or someone else's lease."""
    row = rq.last_verdict(db, field_id)
    if row is None:
        return ConflictError(f"field {field_id} no longer exists; nothing was saved")
    yours = "unreadable" if new is None else repr(new)
    if row.version != version:
        theirs = "unreadable" if row.review_status == "unreadable" else repr(row.reviewed_value)
        when = row.reviewed_at.strftime("%H:%M:%S UTC") if row.reviewed_at else "meanwhile"
        who = row.username or "somebody else"
        return ConflictError(
            f"{who} saved this field at {when} (value {theirs}) while you had it open. "
            f"Your value {yours} was NOT saved; open the field again to change it."
        )
    held = rq.holder_of(db, field_id)
    who = held[0] if held else "another reviewer"
    until = held[1].strftime("%H:%M:%S UTC") if held else "shortly"
    return ConflictError(
        f"{who} is reviewing this field (until {until}). Your value {yours} was NOT saved."
    )
