"""Reading under a field's rules: unsure digits settled by a checksum, range or pattern."""

from __future__ import annotations

import numpy as np
import pytest

from digitize.types import DigitResult, FieldResult
from segmentation.constrain import constrain_field, constrain_fields
from segmentation.review_flags import luhn_ok, validate_fields
from segmentation.templates import FieldSpec


def digit(probs: dict[int, float]) -> DigitResult:
    p = np.zeros(10, np.float32)
    for d, q in probs.items():
        p[d] = q
    best = int(p.argmax())
    alts = [(int(k), float(p[k])) for k in np.argsort(-p)[:3]]
    return DigitResult(best, float(p[best]), (0, 0, 10, 20), alts, probs=p)


def field(*digits: DigitResult, noise: float = 1.0) -> FieldResult:
    conf = float(np.prod([d.confidence for d in digits])) * noise
    value = "".join(str(d.value) for d in digits)
    return FieldResult("f", value, conf, (0, 0, 100, 20), list(digits))


def sure(value: str) -> list[DigitResult]:
    return [digit({int(ch): 0.999}) for ch in value]


def spec(**kw: object) -> FieldSpec:
    return FieldSpec(name="f", box=(0, 0, 100, 20), kind="box", **kw)  # type: ignore[arg-type]


def passes(f: FieldResult, s: FieldSpec) -> bool:
    validate_fields([f], [s], field_threshold=0.95, digit_threshold=0.9)
    return not f.needs_review


def test_a_checksum_settles_an_unsure_digit() -> None:
    """79927398713 is Luhn-valid; its 4th digit read 7 (0.55) or 2 (0.40): only 2 keeps the sum."""
    digits = sure("799")
    digits.append(digit({7: 0.55, 2: 0.40, 1: 0.03}))
    digits += sure("7398713")
    f = field(*digits)
    assert f.value == "79977398713" and not luhn_ok(f.value)
    s = spec(checksum="luhn")
    assert not passes(f, s)
    g = constrain_field(f, s)
    assert g.value == "79927398713" and luhn_ok(g.value)
    assert g.digits[3].value == 2 and g.digits[3].confidence > 0.9
    # P(as read | Luhn holds): 0.40 of the mass kept, the 3 % no reading covers counted as kept.
    as_read = 0.40 * 0.999**10
    assert g.confidence == pytest.approx(as_read / (as_read + 1 - 0.98 * 0.999**10), rel=0.01)
    assert g.confidence > 0.9 > f.confidence + 0.3
    validate_fields([g], [s], field_threshold=0.9, digit_threshold=0.9)
    assert not g.needs_review
    assert f.value == "79977398713"  # the field as read is left alone


def test_a_range_picks_the_reading_inside_it() -> None:
    f = field(digit({5: 0.6, 0: 0.35, 6: 0.03}), *sure("69"))
    g = constrain_field(f, spec(range=(0, 120)))
    assert g.value == "069"
    assert g.confidence == pytest.approx(0.35 * 0.999**2 / (0.35 + (1 - 0.98)), rel=0.02)


def test_a_slip_of_the_pen_is_left_for_a_person() -> None:
    """Every digit sure and the checksum broken: the writing breaks the rule; nothing is changed."""
    f = field(*sure("79927398710"))
    s = spec(checksum="luhn")
    g = constrain_field(f, s)
    assert g.value == f.value and g.confidence == f.confidence
    assert not passes(g, s) and "checksum" in g.reasons


def test_a_valid_reading_with_little_behind_it_is_offered_for_review() -> None:
    """The check digit says 2 where the classifier was sure of 7: read 2, but a person checks."""
    digits = [*sure("799"), digit({7: 0.985, 2: 0.004}), *sure("7398713")]
    s = spec(checksum="luhn")
    g = constrain_field(field(*digits), s)
    assert g.value == "79927398713"
    assert g.confidence < 0.5 and g.digits[3].confidence < 0.9
    assert not passes(g, s) and g.reasons == ["low_confidence_digit", "low_confidence_field"]


@pytest.mark.parametrize(
    "rules",
    [{"pattern": r"\d{4}"}, {"range": (0, 9999)}, {"min_digits": 4}, {}],
    ids=["pattern", "range", "length", "none"],
)
def test_rules_that_do_not_bind_change_nothing(rules: dict[str, object]) -> None:
    f = field(digit({1: 0.7, 7: 0.25}), *sure("234"), noise=0.9)
    g = constrain_field(f, spec(**rules))
    assert g.value == "1234"
    assert g.confidence == pytest.approx(f.confidence, rel=1e-6)
    assert [d.confidence for d in g.digits] == pytest.approx([d.confidence for d in f.digits])


def test_two_readings_that_both_keep_the_rule_stay_unsure() -> None:
    """A date whose month is 1 or 0 with equal odds: the rule cannot choose."""
    f = field(*sure("15"), digit({1: 0.49, 0: 0.49}), *sure("22016"))
    g = constrain_field(f, spec(pattern=r"[0-3]\d[01]\d(19|20)\d\d"))
    assert g.confidence <= 0.5
    assert not passes(g, spec(pattern=r"[0-3]\d[01]\d(19|20)\d\d"))


def test_fields_without_a_spec_are_returned_as_they_are() -> None:
    f = field(digit({5: 0.6, 0: 0.35}), *sure("69"))
    (g,) = constrain_fields([f], [FieldSpec(name="other", box=(0, 0, 1, 1), kind="box")])
    assert g is f


def test_other_cuts_are_read_under_the_rules_when_the_best_cuts_cannot_keep_them() -> None:
    """4242 is Luhn-valid. The best cuts lost its last 2 in a touching pair (424, every digit
    sure: no substitution keeps the sum); another cut read it, a little less likely."""
    best = field(*sure("424"), noise=0.9)
    other = field(*sure("4242"), noise=0.1)
    assert not luhn_ok(best.value) and luhn_ok(other.value)
    s = spec(checksum="luhn")
    assert constrain_field(best, s).value == "424"  # no other cuts: left as read
    best.others = [field(*sure("4243"), noise=0.2), other]  # the likelier one breaks it too
    g = constrain_field(best, s)
    assert g.value == "4242"
    assert g.confidence < 0.15  # the doubt about the cuts stays: a person checks it
    assert not passes(g, s)
    assert g.others == []
    # A rule kept by the best cuts' own digits wins over other cuts.
    assert constrain_field(field(*sure("4242"), noise=0.9), s).value == "4242"
