"""Review flags: each reason on its own, and a clean field passing."""

from __future__ import annotations

import pytest

from digitize.types import DigitResult, FieldResult
from segmentation.review_flags import luhn_ok, validate_fields
from segmentation.templates import FieldSpec


def field(value: str, digit_conf: float = 0.999, name: str = "f") -> FieldResult:
    digits = [DigitResult(int(ch), digit_conf, (10 * i, 0, 10, 20)) for i, ch in enumerate(value)]
    conf = digit_conf ** len(value) if value else 1.0
    return FieldResult(name, value, conf, (0, 0, 100, 20), digits)


def spec(**kw: object) -> FieldSpec:
    return FieldSpec(name="f", box=(0, 0, 100, 20), kind="box", **kw)  # type: ignore[arg-type]


def check(f: FieldResult, s: FieldSpec | None) -> list[str]:
    validate_fields([f], [s] if s else None, field_threshold=0.95, digit_threshold=0.9)
    assert f.needs_review == bool(f.reasons)
    return f.reasons


@pytest.mark.parametrize(
    ("value", "conf", "kw", "reason"),
    [
        ("", 0.999, {}, "empty"),
        ("123", 0.85, {}, "low_confidence_digit"),
        ("1234567", 0.992, {}, "low_confidence_field"),  # 0.992**7 ≈ 0.945
        ("0123", 0.999, {"pattern": r"[1-9]\d*"}, "pattern"),
        ("123", 0.999, {"pattern": r"\d{4}"}, "pattern"),
        ("123", 0.999, {"min_digits": 4}, "length"),
        ("12345", 0.999, {"max_digits": 4}, "length"),
        ("79927398710", 0.999, {"checksum": "luhn"}, "checksum"),
        ("150", 0.999, {"range": (1, 120)}, "range"),
        ("0", 0.999, {"range": (1, 120)}, "range"),
    ],
)
def test_each_reason(value: str, conf: float, kw: dict[str, object], reason: str) -> None:
    assert reason in check(field(value, conf), spec(**kw))


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"pattern": r"\d{11}"},
        {"min_digits": 11, "max_digits": 11},
        {"checksum": "luhn"},
        {"range": (0, 99999999999)},
    ],
)
def test_clean_field_passes(kw: dict[str, object]) -> None:
    assert check(field("79927398713"), spec(**kw)) == []


def test_low_digit_is_marked_on_the_digit() -> None:
    f = field("42")
    f.digits[1].confidence = 0.5
    assert check(f, None) == ["low_confidence_digit"]
    assert [d.needs_review for d in f.digits] == [False, True]


def test_empty_allowed_when_min_digits_zero() -> None:
    assert check(field(""), spec(min_digits=0)) == []


def test_a_blank_field_passes_unless_digits_are_required() -> None:
    """No ink at all: a field left blank. Ink read as stray marks may be a faint number."""
    blank = field("")
    blank.blank = True
    assert check(blank, spec()) == []
    assert check(blank, spec(min_digits=1)) == ["empty"]
    assert check(field(""), spec()) == ["empty"]  # marks were there, read as stray
    blank.reasons = ["poor_registration"]
    assert check(blank, spec()) == ["poor_registration"]


def test_driver_reason_survives_revalidation() -> None:
    f = field("42")
    f.reasons = ["poor_registration"]
    assert check(f, None) == ["poor_registration"]


def test_specs_matched_by_name() -> None:
    a, b = field("1", name="a"), field("12345", name="b")
    specs = [FieldSpec("b", (0, 0, 1, 1), "box", max_digits=3)]
    validate_fields([a, b], specs, field_threshold=0.95, digit_threshold=0.9)
    assert (a.reasons, b.reasons) == ([], ["length"])


@pytest.mark.parametrize(
    ("number", "ok"),
    [("79927398713", True), ("4111111111111111", True), ("4111111111111112", False), ("", False)],
)
def test_luhn(number: str, ok: bool) -> None:
    assert luhn_ok(number) is ok
