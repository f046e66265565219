"""Read a field knowing its rules: the most probable digit string that keeps them.

A form's rules are prior knowledge about what was written: a Luhn check digit, a date pattern,
an age between 0 and 120. Reading each digit on its own and then flagging a broken rule throws
that knowledge away; address and cheque readers instead decode under the constraint (the
lexicon of LeCun et al. 1998, the postcode lists of mail sorters). Here the strings made of each
digit's likeliest readings are enumerated best first (a beam), those breaking a rule are dropped,
and the best survivor is read with its probability renormalised over the survivors,
P(string | rules hold), every string outside the beam counted as a survivor. A checksum that
catches every single substitution thus also turns an unsure digit into a sure one when only one
of its alternatives keeps the sum.

A reading that keeps the rules only with little probability behind it comes out with a low
confidence (the mass outside the beam weighs against it), so a person checks it — and is shown
the likeliest valid reading rather than one that cannot be right. When the strings that keep the
rules are all but impossible (their mass under ``MIN_RULE_MASS``) the writing itself breaks the
rule — a slip of the pen, a wrong form — so the field is left as read and flagged for the rule.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from digitize.types import DigitResult, FieldResult
from segmentation.review_flags import rule_reasons

if TYPE_CHECKING:
    from segmentation.templates import FieldSpec

#: How many of the most probable strings are weighed (best first).
BEAM = 128
#: How many readings of each digit are weighed.
OPTIONS = 5
#: Readings less likely than this are left out (their mass counts as keeping the rules).
NEGLIGIBLE = 1e-5
#: Below this total probability of the rule-keeping strings, the field is left as read.
MIN_RULE_MASS = 1e-3


def constrains(spec: FieldSpec) -> bool:
    """Whether the spec has a rule on the digits themselves (length rules are kept by the path
    search, ``assemble.read_field``)."""
    return bool(spec.pattern or spec.checksum or spec.range is not None)


def _options(d: DigitResult) -> list[tuple[int, float]]:
    """A digit's ``OPTIONS`` likeliest values with their probabilities."""
    if d.probs is None:
        return d.alternatives or [(int(d.value or 0), d.confidence)]
    order = np.argsort(-d.probs)[:OPTIONS]
    return [(int(k), float(d.probs[k])) for k in order if k == order[0] or d.probs[k] >= NEGLIGIBLE]


def _strings(options: list[list[tuple[int, float]]]) -> list[tuple[float, str]]:
    """The ``BEAM`` most probable strings (probability, string), best first."""
    beam: list[tuple[float, str]] = [(1.0, "")]
    for opts in options:
        grown = ((p * q, s + str(d)) for p, s in beam for d, q in opts if q > 0)
        beam = heapq.nlargest(BEAM, grown)
    return beam


def constrain_field(f: FieldResult, spec: FieldSpec) -> FieldResult:
    """``f`` read again under ``spec``'s rules (a new result; ``f`` itself is not changed).

    When no reading of the best cuts keeps the rules, the readings of other cuts that came
    close (``f.others``, likeliest first) are tried: the first that can keep them is taken, with
    its own, lower, confidence (the doubt about the cuts is in it).
    """
    if not constrains(spec):
        return f
    for reading in (f, *f.others):
        kept = _under_rules(reading, spec)
        if kept is not None:
            return kept
    return f


def _under_rules(f: FieldResult, spec: FieldSpec) -> FieldResult | None:
    """``f`` read under the rules; None when hardly any reading of its digits keeps them."""
    if not f.value or len(f.digits) != len(f.value):
        return None
    options = [_options(d) for d in f.digits]
    strings = _strings(options)
    kept = [(p, s) for p, s in strings if not rule_reasons(s, spec)]
    mass = sum(p for p, _ in kept)
    if not kept or mass < MIN_RULE_MASS:
        return None
    # Strings outside the beam (other classes, "not a digit", the long tail) might keep the
    # rules too: counting them all as keeping them never makes a reading surer than it is.
    total = sum(p for p, _ in strings)
    norm = mass + max(0.0, 1.0 - total)
    best_p, best = kept[0]
    as_read = math.prod(d.confidence for d in f.digits)
    # The field's confidence is the digits' product times that of its stray marks (noise steps).
    rest = f.confidence / as_read if as_read > 0 else 0.0
    # A digit's confidence, P(it reads so | rules hold), on the same footing: the kept strings
    # that read it, plus the strings outside the beam that read it (counted as keeping them).
    digits = []
    for i, d in enumerate(f.digits):
        p_i = dict(options[i]).get(int(best[i]), 0.0)
        in_beam = sum(p for p, s in strings if s[i] == best[i])
        with_it = sum(p for p, s in kept if s[i] == best[i]) + max(0.0, p_i - in_beam)
        digits.append(replace(d, value=int(best[i]), confidence=min(1.0, with_it / norm)))
    return replace(
        f, value=best, confidence=min(1.0, rest * best_p / norm), digits=digits, others=[]
    )


def constrain_fields(
    fields: list[FieldResult], specs: Sequence[FieldSpec] | None
) -> list[FieldResult]:
    """Every field read under its spec's rules (fields without a spec are returned as they are)."""
    by_name = {s.name: s for s in specs or ()}
    return [constrain_field(f, by_name[f.name]) if f.name in by_name else f for f in fields]
