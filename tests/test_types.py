"""Shared result types (``digitize.types``)."""

from __future__ import annotations

from digitize.types import FieldResult


def test_a_review_reason_is_added_once() -> None:
    f = FieldResult("amount", "42", 0.99, (0, 0, 10, 10), reasons=["low_confidence_field"])
    f.flag("wide_gap")
    f.flag("wide_gap")
    f.flag("low_confidence_field")
    assert f.reasons == ["low_confidence_field", "wide_gap"]
