"""Template-free: which way up a page reads (``segmentation.way_up``)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from digitize.types import FieldResult
from segmentation.way_up import (
    FLIP_MARGIN,
    FLIP_VOTE_MAX,
    SELF_TURNING_VOTE_MAX,
    WAY_UP_IN_DOUBT,
    choose_way_up,
    flip_gain,
    print_lean,
    settle_way_up,
)


@dataclass
class _Heights:
    digit_height: float


@dataclass
class _Reading:
    confidence: float
    value: str = "1"


def test_flip_is_judged_on_the_handwriting_not_on_one_big_mark() -> None:
    """One tall non-digit (a rule read as "1111") that reads slightly better turned must not
    outvote four handwritten strings that read far better upright."""

    heights = [238, 52, 58, 70, 61, 12, 9]
    upright = [0.15, 0.99, 0.99, 0.99, 0.99, 0.2, 0.2]
    turned = [0.33, 0.42, 0.40, 0.98, 0.04, 0.9, 0.9]  # the specks read better turned
    gain = flip_gain(
        [_Heights(h) for h in heights],  # type: ignore[misc]
        [_Reading(c, "6") for c in upright],  # type: ignore[misc]
        [_Reading(c, "9") for c in turned],  # type: ignore[misc]
    )
    assert gain < -FLIP_MARGIN  # upright, clearly
    # ... and a page whose strings do read better turned still turns.
    gain = flip_gain(
        [_Heights(h) for h in heights],  # type: ignore[misc]
        [_Reading(c, "9") for c in turned],  # type: ignore[misc]
        [_Reading(c, "6") for c in upright],  # type: ignore[misc]
    )
    assert gain > FLIP_MARGIN


def test_flip_of_a_single_digit_photo_ignores_the_specks() -> None:

    heights = [300, 20, 15, 12]
    upright = [0.99, 0.6, 0.6, 0.6]
    turned = [0.6, 0.99, 0.99, 0.99]  # specks that happen to read better turned
    gain = flip_gain(
        [_Heights(h) for h in heights],  # type: ignore[misc]
        [_Reading(c, "6") for c in upright],  # type: ignore[misc]
        [_Reading(c, "9") for c in turned],  # type: ignore[misc]
    )
    assert gain == pytest.approx(np.log(0.6 / 0.99))  # the digit alone decides


def test_a_rule_read_as_a_one_does_not_set_the_yardstick() -> None:
    """A rule read as a sure 1 both ways is the tallest string: it must not set the yardstick
    that would leave every number out of the vote."""

    plans = [_Heights(h) for h in (280, 60, 55)]
    upright = [_Reading(1.0, "1"), _Reading(0.99, "9948"), _Reading(0.98, "602")]
    turned = [_Reading(1.0, "1"), _Reading(0.01, "8466"), _Reading(0.02, "209")]
    assert flip_gain(plans, upright, turned) < -FLIP_MARGIN  # type: ignore[arg-type]


def test_one_string_cannot_outvote_the_others() -> None:
    """A caption read as junk upright and as something turned: its say is capped, and the
    numbers that read better upright keep the page upright."""

    plans = [_Heights(h) for h in (30, 53, 55, 54)]
    upright = [_Reading(1e-6, "777"), *(_Reading(0.99, "4463") for _ in range(3))]
    turned = [_Reading(0.7, "722"), *(_Reading(0.15, "2597") for _ in range(3))]
    gain = flip_gain(plans, upright, turned)  # type: ignore[arg-type]
    assert gain == pytest.approx(FLIP_VOTE_MAX + 3 * np.log(0.15 / 0.99))
    assert gain < -FLIP_MARGIN


def _field(value: str, confidence: float) -> FieldResult:
    return FieldResult("free", value, confidence, (0, 0, 10, 10))


def test_a_close_vote_sends_strings_that_read_both_ways_to_review() -> None:
    """86 reads as a sure 98 turned; with the page's vote close, it goes to review. A string
    that reads as junk turned ("270") keeps passing: its way up is not in doubt."""
    plans = [_Heights(60.0), _Heights(58.0)]
    upright = [_field("86", 0.99), _field("270", 0.99)]
    # Listed in turned order: string -1 - k read upside down.
    turned = [_field("072", 0.45), _field("98", 0.9)]
    out, chosen = choose_way_up(plans, upright, plans[::-1], turned)
    assert -FLIP_MARGIN < flip_gain(plans, upright, turned[::-1]) < FLIP_MARGIN
    assert [f.value for f in out] == ["86", "270"] and chosen == plans
    assert out[0].reasons == [WAY_UP_IN_DOUBT]
    assert out[1].reasons == []


def test_a_clear_vote_flags_nothing() -> None:
    """Three numbers that read far better upright settle the page: the one that also reads as
    a sure number turned passes."""
    plans = [_Heights(60.0) for _ in range(4)]
    upright = [_field("86", 0.99), *(_field("4463", 0.99) for _ in range(3))]
    turned = [*(_field("2597", 0.01) for _ in range(3)), _field("98", 0.9)]
    out, _ = choose_way_up(plans, upright, plans[::-1], turned)
    assert flip_gain(plans, upright, turned[::-1]) < -FLIP_MARGIN - 2.0
    assert all(f.reasons == [] for f in out)


def test_a_turned_page_is_read_turned_and_flagged_on_a_close_vote() -> None:
    """Two strings read better turned, by a close vote: the page turns, and the one that read
    as a sure number upright too goes to review."""
    plans = [_Heights(60.0), _Heights(60.0)]
    upright = [_field("98", 0.5), _field("4", 0.3)]
    turned = [_field("7", 0.9), _field("86", 0.99)]
    out, chosen = choose_way_up(plans, upright, plans[::-1], turned)
    assert [f.value for f in out] == ["7", "86"] and chosen == plans[::-1]
    assert out[1].reasons == [WAY_UP_IN_DOUBT]  # 98 upright, a sure reading too
    assert out[0].reasons == []  # "4" upright was no sure reading


def test_strings_that_read_the_same_both_ways_have_no_vote() -> None:
    """Ticked check boxes read as an unsure 0 upright and a surer 0 turned: they cannot tell
    which way up the page is, and must not turn a page whose numbers read better upright."""
    plans = [_Heights(h) for h in (50.0, 40.0, 40.0, 40.0)]
    upright = [_field("8070", 0.997), *(_field("0", 0.03) for _ in range(3))]
    turned = [*(_field("0", 0.95) for _ in range(3)), _field("0608", 0.98)]
    assert flip_gain(plans, upright, turned[::-1]) == pytest.approx(np.log(0.98 / 0.997))
    out, _ = choose_way_up(plans, upright, plans[::-1], turned)
    assert out[0].value == "8070"


def test_strings_of_zeros_ones_and_eights_either_way_up_have_a_small_say() -> None:
    """A page upside down whose numbers read surer turned, and a ring beside a stroke that reads
    "0" upright and "01" turned at 0.01: 0s, 1s and 8s read as themselves either way up, so that
    string tells little of the way up, and must not outvote the numbers (with the full say of
    ``FLIP_VOTE_MAX`` it did)."""
    heights = [60.0, 62.0, 58.0]
    upright = [_Reading(0.94, "171715"), _Reading(0.10, "88881"), _Reading(0.67, "0")]
    turned = [_Reading(0.998, "3144"), _Reading(0.999, "472382"), _Reading(0.01, "01")]
    plans = [_Heights(h) for h in heights]
    gain = flip_gain(plans, upright, turned)  # type: ignore[arg-type]
    numbers = np.log(0.998 / 0.94) + np.log(0.999 / 0.10)
    assert np.isclose(gain, numbers - SELF_TURNING_VOTE_MAX) and gain > FLIP_MARGIN
    # A string with other digits has the full say: "0" against "6" is a 9 turned, or a 6.
    turned[2] = _Reading(0.01, "6")
    assert flip_gain(plans, upright, turned) < FLIP_MARGIN  # type: ignore[arg-type]


def _print_line(text: str) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """A line of print as the strings finder gives it: its box and its ink (255), cut tight."""
    ink = np.zeros((60, 40 * len(text)), np.uint8)
    cv2.putText(ink, text, (4, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2)
    ys, xs = np.nonzero(ink)
    ink = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return (0, 0, ink.shape[1], ink.shape[0]), ink


def test_print_stands_upright_by_its_ascenders() -> None:
    """Captions rise above their lines (capitals, b d h k l t) more than they hang below them
    (g p q y): upright the lean is positive, turned half round it is as negative; a page's
    handwritten numbers, taller than its print, are left out of it."""
    lines = [_print_line(t) for t in ("Total", "Branch", "Please write clearly", "Date")]
    number = np.full((140, 400), 255, np.uint8)  # a handwritten number: the tall strings
    page = [*lines, *[((0, 0, 400, 140), number)] * 4]
    turned = [(box, ink[::-1, ::-1]) for box, ink in page]
    assert print_lean(page) > 0.4
    assert print_lean(turned) == pytest.approx(-print_lean(page))
    assert print_lean([((0, 0, 400, 140), number)] * 4) == 0.0
    assert print_lean([]) == 0.0


def test_the_prints_lean_settles_a_close_vote() -> None:
    """Six numbers of 0, 3, 6, 8 and 9 read about as well turned (86 <-> 98): the digits'
    vote falls just short of turning the page, and the print, upside down, turns it."""
    plans = [_Heights(60.0), _Heights(60.0)]
    upright = [_field("98", 0.6), _field("886", 0.9)]
    turned = [_field("988", 0.95), _field("86", 0.99)]
    gain = flip_gain(plans, upright, turned[::-1])
    assert 0 < gain < FLIP_MARGIN
    kept, _ = choose_way_up(plans, upright, plans[::-1], turned)
    assert [f.value for f in kept] == ["98", "886"]
    out, chosen = choose_way_up(plans, upright, plans[::-1], turned, lean=-1.5)
    assert [f.value for f in out] == ["988", "86"] and chosen == plans[::-1]
    assert flip_gain(plans, upright, turned[::-1], lean=-1.5) > FLIP_MARGIN


def _fields(values: list[str], confs: list[float]) -> list[FieldResult]:
    pairs = zip(values, confs, strict=True)
    return [FieldResult(f"s{k}", v, c, (0, 0, 1, 1), []) for k, (v, c) in enumerate(pairs)]


#: Per case: the five strings' confidences upright and upside down.
_CASES = {
    "upright": ([0.99, 0.9, 0.98, 0.9, 0.9], [0.05, 0.9, 0.1, 0.9, 0.9]),
    "turned": ([0.05, 0.9, 0.1, 0.9, 0.9], [0.99, 0.9, 0.98, 0.9, 0.9]),
    "close": ([0.9, 0.9, 0.5, 0.9, 0.9], [0.5, 0.9, 0.9, 0.9, 0.9]),
    "short-voters": ([0.99] * 5, [0.2, 0.9, 0.2, 0.9, 0.9]),
}


@pytest.mark.parametrize(
    ("case", "read_all"),
    [("upright", False), ("turned", True), ("close", True), ("short-voters", True)],
)
def test_strings_are_read_upside_down_only_as_far_as_the_choice_needs(
    case: str, read_all: bool
) -> None:
    """Two tall handwritten numbers and three short strings of print. A plainly upright page is
    settled on the tall ones; one that turns, or whose vote is close, or whose tall strings do
    not vote (they read alike both ways) reads the rest upside down too. Whatever was read, the
    strings and flags come out as ``choose_way_up`` gives them from every reading."""
    heights = [60.0, 20.0, 58.0, 18.0, 21.0]
    plans: list = [_Heights(h) for h in heights]
    up, down = _CASES[case]
    alike = case == "short-voters"  # the tall ones read 88 and 11 either way
    up_values = ["88" if alike else "86", "4", "11" if alike else "68", "7", "2"]
    down_values = ["88" if alike else "98", "5", "11" if alike else "89", "1", "9"]
    asked: list[int] = []

    def read_turned(ks: list[int]) -> list[FieldResult]:
        asked.extend(ks)
        every = _fields(down_values, down)[::-1]
        return [every[k] for k in ks]

    got, got_plans = settle_way_up(plans, _fields(up_values, up), plans[::-1], read_turned)
    every = _fields(down_values, down)[::-1]
    want, want_plans = choose_way_up(plans, _fields(up_values, up), plans[::-1], every)
    assert [(f.value, f.confidence, f.reasons) for f in got] == [
        (f.value, f.confidence, f.reasons) for f in want
    ]
    assert got_plans == want_plans
    assert {4, 2} <= set(asked)  # the tall strings, 0 and 2, read upside down come last
    assert (sorted(asked) == list(range(5))) is read_all
