"""Decide which fields a person must look at, and say why in short stable words.

Reasons (stored and shown as-is): ``empty``, ``low_confidence_digit``, ``low_confidence_field``,
``pattern``, ``length``, ``checksum``, ``range``. The reader adds ``ink_outside_box``
(writing ran past the field's box), the pipeline driver ``poor_registration``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from digitize.types import FieldResult

if TYPE_CHECKING:
    from segmentation.templates import FieldSpec

EMPTY = "empty"
LOW_DIGIT = "low_confidence_digit"
LOW_FIELD = "low_confidence_field"
PATTERN = "pattern"
LENGTH = "length"
CHECKSUM = "checksum"
RANGE = "range"
POOR_REGISTRATION = "poor_registration"
#: The reasons decided here (recomputed on every call); others (the driver's) are kept.
OWN = frozenset({EMPTY, LOW_DIGIT, LOW_FIELD, PATTERN, LENGTH, CHECKSUM, RANGE})


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by card and account numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def rule_reasons(value: str, spec: FieldSpec) -> list[str]:
    """The rules of ``spec`` that ``value`` breaks (empty: it keeps them all)."""
    reasons: list[str] = []
    if spec.pattern and re.fullmatch(spec.pattern, value) is None:
        reasons.append(PATTERN)
    n = sum(ch.isdigit() for ch in value)
    if (spec.min_digits is not None and n < spec.min_digits) or (
        spec.max_digits is not None and n > spec.max_digits
    ):
        reasons.append(LENGTH)
    if spec.checksum:
        if spec.checksum.lower() != "luhn":
            raise ValueError(f"unknown checksum {spec.checksum!r}")
        if not luhn_ok(value):
            reasons.append(CHECKSUM)
    if spec.range is not None:
        lo, hi = spec.range
        if not value.isdigit() or not lo <= int(value) <= hi:
            reasons.append(RANGE)
    return reasons


def validate_fields(
    fields: list[FieldResult],
    specs: Sequence[FieldSpec] | None,
    *,
    field_threshold: float,
    digit_threshold: float,
) -> list[FieldResult]:
    """Set ``needs_review`` and ``reasons`` on every field (and flag its weak digits); returns them.

    ``specs`` are matched to fields by name; fields without a spec get the confidence checks only.
    An empty field is flagged unless its spec says ``min_digits: 0``, or it is ``blank`` (no ink
    at all: a field left blank, as many on a form are) and its spec does not require digits
    (``min_digits`` of 1 or more). Ink read as stray marks is flagged: it may be a faint number.
    """
    by_name = {s.name: s for s in specs or ()}
    for f in fields:
        spec = by_name.get(f.name)
        reasons = [r for r in f.reasons if r not in OWN]
        if not f.value:
            if spec is None or not (spec.min_digits == 0 or (f.blank and spec.min_digits is None)):
                reasons.append(EMPTY)
        else:
            weak = False
            for d in f.digits:
                d.needs_review = d.confidence < digit_threshold
                weak |= d.needs_review
            if weak:
                reasons.append(LOW_DIGIT)
            if f.confidence < field_threshold:
                reasons.append(LOW_FIELD)
            if spec is not None:
                reasons.extend(rule_reasons(f.value, spec))
        f.reasons = reasons
        f.needs_review = bool(reasons)
    return fields
