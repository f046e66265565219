"""Why a field is in the queue, and what its digits' confidences say, in words a clerk reads.

The pipeline stores short stable codes (``segmentation.review_flags``, ``segmentation.reader``,
``segmentation.free_filters``, ``worker.pipeline``); people see the sentences here. A code
without a sentence (a newer pipeline) is shown de-underscored rather than hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segmentation.free_filters import (
    AT_SCAN_EDGE,
    EDGE_MARKS,
    INK_BESIDE,
    LINE_OF_MARKS,
    LINE_PIECE,
    LONE_LARGE,
    LONE_STROKE,
    ONLY_ONES,
    PRINT_SIZED,
    SINGLE_DIGIT,
    TALL_CHARACTER,
    WIDE_GAP,
)
from segmentation.reader import INK_OUTSIDE_BOX, TOUCHES_PRINTED_LINES
from segmentation.review_flags import (
    CHECKSUM,
    EMPTY,
    LENGTH,
    LOW_DIGIT,
    LOW_FIELD,
    PATTERN,
    POOR_REGISTRATION,
    RANGE,
)
from segmentation.way_up import WAY_UP_IN_DOUBT

#: Every reason code the pipeline emits → what it means for the person looking at the field.
REASONS: dict[str, str] = {
    EMPTY: "Nothing was read here, but there are marks (faint writing?) or the field is required.",
    LOW_DIGIT: "At least one digit is hard to read (marked in orange below).",
    LOW_FIELD: "The machine is unsure of the value as a whole.",
    PATTERN: "The value does not have the shape this field expects (for example a date).",
    LENGTH: "The value has more or fewer digits than this field should hold.",
    CHECKSUM: "The check digit does not match: at least one digit is probably wrong.",
    RANGE: "The number is outside the range this field allows.",
    POOR_REGISTRATION: "The page did not line up well with the blank form: the field may be cut "
    "off or shifted; check it on the page (P).",
    INK_OUTSIDE_BOX: "The writing runs past the edge of the box: a digit may be missing.",
    TOUCHES_PRINTED_LINES: "The writing touches or crosses a printed line: a digit may have "
    "been cut, or part of the line taken for a digit.",
    PRINT_SIZED: "These digits are as small as printed text: they may be printed on the form, "
    "not written by hand.",
    LINE_OF_MARKS: "These 1s lie in a straight line with others down or across the page: they "
    "may be the pieces of a printed line, not handwriting.",
    LONE_STROKE: "A 1 standing alone, much taller than the handwriting on this page: it may be "
    "a piece of a printed line (a box's side, the page's frame), not a number.",
    EDGE_MARKS: "A mark at the start or end of this number was left out as print (a box's side, "
    "a row number): check the value against the page.",
    INK_BESIDE: "Ink beside or inside this number was not read (part of a digit cut by a line, "
    "a faint stroke, another number close on the line): the number may be longer than the value "
    "shown.",
    TALL_CHARACTER: "One character is much taller than the others: a printed word or line, or "
    "writing from the next line, may have been read with a digit; check the value.",
    LINE_PIECE: "These 1s stand right beside a printed line: they may be a piece of it (a box's "
    "corner or side) rather than writing.",
    LONE_LARGE: "A single character standing alone, much taller than the handwriting on this "
    "page: it may be a printed symbol (a logo, a stamp), not a number.",
    WIDE_GAP: "One gap in this number is much wider than the others: it may be two numbers "
    "side by side (a table's column line not seen between them); check it on the page (P).",
    AT_SCAN_EDGE: "This number touches the edge of the scan: part of it may be cut off, or it "
    "may be a mark of the scanner's edge, not writing; check it on the page (P).",
    SINGLE_DIGIT: "One digit found on its own: it may be a piece of a longer number (the rest "
    "lost to a line or a faint pen), or a mark or print read as a digit; check it on the page "
    "(P).",
    ONLY_ONES: "This number is 1s only: straight strokes such as a comb's dividers or a printed "
    "line's pieces read as 1s too; check it on the page (P).",
    WAY_UP_IN_DOUBT: "It was not clear which way up this page is, and this number reads as "
    "another number upside down (86 and 98): check it on the page (P).",
}

#: A few words per code, for the queue's chips (the sentence is their tooltip).
SHORT: dict[str, str] = {
    EMPTY: "blank",
    LOW_DIGIT: "a digit is unsure",
    LOW_FIELD: "value unsure",
    PATTERN: "unexpected shape",
    LENGTH: "wrong number of digits",
    CHECKSUM: "check digit fails",
    RANGE: "out of range",
    POOR_REGISTRATION: "page misaligned",
    INK_OUTSIDE_BOX: "writing outside the box",
    TOUCHES_PRINTED_LINES: "writing on a printed line",
    PRINT_SIZED: "small like print",
    LINE_OF_MARKS: "pieces of a printed line?",
    LONE_STROKE: "a lone line?",
    EDGE_MARKS: "a printed mark left out",
    INK_BESIDE: "ink left unread",
    TALL_CHARACTER: "one character too tall",
    LINE_PIECE: "a piece of a line?",
    LONE_LARGE: "a lone big mark?",
    WIDE_GAP: "two numbers?",
    AT_SCAN_EDGE: "at the scan's edge",
    SINGLE_DIGIT: "one digit alone",
    ONLY_ONES: "only 1s",
    WAY_UP_IN_DOUBT: "which way up?",
}

#: A runner-up reading is worth mentioning from this probability on.
RUNNER_UP_MIN = 0.05


def explain(code: str) -> str:
    """The sentence for a reason code (the code itself, readable, when unknown)."""
    return REASONS.get(code, code.replace("_", " ").capitalize() + ".")


def short(code: str) -> str:
    """A few words for a reason code (the code, readable, when unknown)."""
    return SHORT.get(code, code.replace("_", " "))


def labels(codes: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(code, few words, sentence)`` for each code."""
    return [(c, short(c), explain(c)) for c in codes]


def runner_ups(value: int | None, alternatives: Sequence[Any], limit: int = 2) -> list[str]:
    """Other readings worth a look: ``could also be 8 (12 %)`` for alternatives over 5 %."""
    out: list[str] = []
    for alt in alternatives or ():
        try:
            digit, prob = int(alt[0]), float(alt[1])
        except (TypeError, ValueError, IndexError):
            continue
        if digit == value or prob < RUNNER_UP_MIN:
            continue
        out.append(f"could also be {digit} ({prob * 100:.0f} %)")
        if len(out) == limit:
            break
    return out


@dataclass(frozen=True)
class DigitNote:
    """One digit's confidence as a clerk reads it."""

    sure: bool
    label: str  # "sure" / "unsure"
    alternatives: list[str]


def digit_note(
    value: int | None, confidence: float, alternatives: Sequence[Any], digit_threshold: float
) -> DigitNote:
    sure = value is not None and confidence >= digit_threshold
    return DigitNote(sure, "sure" if sure else "unsure", runner_ups(value, alternatives))


def confidence_story(
    field_confidence: float,
    digit_confidences: Sequence[float],
    *,
    field_threshold: float,
    digit_threshold: float,
    expected_digits: int | None = None,
) -> str | None:
    """One sentence tying the field's confidence to its digits' (None when nothing to explain).

    A field's confidence is not just its digits multiplied: it also holds how sure the machine is
    of where the writing splits into digits and how many there are. So a field can be doubtful
    while every digit on its own looks certain, which is exactly what confuses people.
    """
    low_field = field_confidence < field_threshold
    n = len(digit_confidences)
    weak = [i + 1 for i, c in enumerate(digit_confidences) if c < digit_threshold]
    if not n:
        return "No digits were found in this field." if low_field else None
    if low_field and not weak:
        text = (
            "Each digit looks sure, but the number of digits or where they split is in doubt: "
            "check that no digit is missing, doubled or merged with its neighbour."
        )
        if expected_digits is not None and expected_digits != n:
            text += f" This field should hold {expected_digits} digits; {n} were read."
        return text
    if weak:
        which = ", ".join(str(i) for i in weak)
        noun = "Digit" if len(weak) == 1 else "Digits"
        verb = "is" if len(weak) == 1 else "are"
        rest = "; the rest look sure." if len(weak) < n else "."
        return f"{noun} {which} of {n} {verb} unsure{rest}"
    return None
