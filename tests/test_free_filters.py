"""Template-free strings: captions, dust and rules left out; print and broken rules flagged."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitize.types import Box, DigitResult, FieldResult
from segmentation.free_filters import (
    EDGE_MARKS,
    LINE_OF_MARKS,
    LINE_PIECE,
    LONE_LARGE,
    LONE_STROKE,
    PRINT_SIZED,
    TALL_CHARACTER,
    WIDE_GAP,
    crowded,
    handwriting_only,
    ink_beside,
    lines_of_marks,
    tall_character,
    trim_edges,
    wide_gap,
)


@pytest.mark.parametrize(
    ("height", "conf", "kept"),
    [(15.0, 0.01, False), (20.0, 0.9, True), (45.0, 0.01, True), (60.0, 0.2, True)],
    ids=["unsure-caption", "sure-small", "unsure-large", "unsure-handwriting"],
)
def test_unsure_small_print_beside_sure_handwriting_is_left_out(
    height: float, conf: float, kept: bool
) -> None:
    heights, confs, values = [55.0, 60.0, height], [0.99, 0.97, conf], ["123", "4567", "7111"]
    fields = [
        FieldResult(f"s{i}", v, c, (0, 0, 10, 10))
        for i, (v, c) in enumerate(zip(values, confs, strict=True))
    ]
    out = handwriting_only(heights, fields)
    assert (fields[2] in out) is kept
    assert fields[:2] == out[:2]


@pytest.mark.parametrize(("value", "kept"), [("1", False), ("11", False), ("111", True)])
def test_a_sure_speck_beside_handwriting_is_dust(value: str, kept: bool) -> None:
    fields = [
        FieldResult("a", "1234", 0.99, (0, 0, 9, 9)),
        FieldResult("b", "567", 0.98, (0, 0, 9, 9)),
        FieldResult("c", value, 0.999, (0, 0, 3, 3)),
    ]
    out = handwriting_only([60.0, 55.0, 12.0], fields)
    assert (fields[2] in out) is kept and fields[:2] == out[:2]


def test_with_no_sure_handwriting_nothing_is_left_out() -> None:
    fields = [
        FieldResult("a", "71", 0.3, (0, 0, 10, 10)),
        FieldResult("b", "1", 0.99, (0, 0, 9, 9)),
    ]
    assert handwriting_only([15.0, 60.0], fields) == fields
    assert not any(f.reasons for f in fields)


def test_many_sure_printed_row_numbers_do_not_set_the_handwriting_height() -> None:
    """A table's printed row numbers and broken rules read as sure small strings; the few
    handwritten numbers set the yardstick, so the print is flagged, not passed."""
    hand = [FieldResult(f"h{i}", "4073", 0.99, (0, 0, 90, 40)) for i in range(3)]
    rows = [FieldResult(f"r{i}", f"{i}7", 0.99, (0, 0, 20, 14)) for i in range(10, 16)]
    handwriting_only([40.0] * 3 + [14.0] * 6, hand + rows)
    assert all(PRINT_SIZED in f.reasons for f in rows)
    assert not any(f.reasons for f in hand)


def test_a_rule_taller_than_any_handwriting_is_no_number() -> None:
    fields = [
        FieldResult("a", "2468", 0.99, (100, 100, 150, 50)),
        FieldResult("b", "735", 0.99, (100, 300, 120, 50)),
        FieldResult("side", "1", 1.0, (40, 60, 8, 400)),  # a page frame's side
    ]
    out = handwriting_only([50.0, 50.0, 400.0], fields)
    assert [f.name for f in out] == ["a", "b"]


def test_a_lone_one_much_taller_than_the_handwriting_goes_to_review() -> None:
    """A box's side or a piece of the page's frame left standing alone reads as a sure 1."""
    fields = [
        FieldResult("a", "2468", 0.99, (100, 100, 150, 50)),
        FieldResult("b", "735", 0.99, (100, 300, 120, 50)),
        FieldResult("side", "1", 1.0, (40, 60, 8, 90)),  # 1.8 handwriting heights
        FieldResult("one", "1", 1.0, (400, 60, 10, 55)),  # a written 1, a little tall
        FieldResult("ones", "11", 1.0, (500, 60, 30, 90)),  # two: not alone
    ]
    out = handwriting_only([50.0, 50.0, 90.0, 55.0, 90.0], fields)
    assert [f.reasons for f in out] == [[], [], [LONE_STROKE], [], []]


def test_ones_in_a_straight_line_down_the_page_are_a_broken_rule() -> None:
    dashes = [FieldResult(f"d{i}", "1", 1.0, (114 + i, 140 + 280 * i, 5, 90)) for i in range(5)]
    apart = [
        FieldResult("x", "1", 1.0, (600, 500, 8, 60)),  # a handwritten 1 elsewhere
        FieldResult("y", "11", 0.99, (900, 300, 20, 60)),  # wider than a rule's piece
    ]
    assert lines_of_marks(dashes + apart) == dashes
    handwriting_only([90.0] * 5 + [60.0, 60.0], dashes + apart)
    assert all(LINE_OF_MARKS in f.reasons for f in dashes)
    assert not any(LINE_OF_MARKS in f.reasons for f in apart)


def test_two_ones_or_a_crooked_row_are_not_a_line() -> None:
    pair = [FieldResult(f"d{i}", "1", 1.0, (100, 100 + 300 * i, 6, 80)) for i in range(2)]
    assert lines_of_marks(pair) == []
    crooked = [
        FieldResult(f"c{i}", "1", 1.0, (100 + 90 * i, 100 + 300 * i, 6, 80)) for i in range(3)
    ]
    assert lines_of_marks(crooked) == []


def _string(chars: list[tuple[int, Box]], conf: float = 0.99) -> FieldResult:
    digits = [DigitResult(v, 0.99, b) for v, b in chars]
    x0 = min(b[0] for _, b in chars)
    x1 = max(b[0] + b[2] for _, b in chars)
    y0 = min(b[1] for _, b in chars)
    y1 = max(b[1] + b[3] for _, b in chars)
    value = "".join(str(v) for v, _ in chars)
    return FieldResult("s", value, conf, (x0, y0, x1 - x0, y1 - y0), digits)


def test_a_box_side_and_a_printed_row_number_are_left_out_of_the_number() -> None:
    side = (100, 80, 7, 140)  # a divider twice the digits' height, read as a 1
    row = (120, 130, 20, 26)  # a printed row number, half their height
    hand = [(7, (160, 100, 48, 64)), (3, (212, 104, 50, 60)), (0, (266, 100, 52, 66))]
    f = _string([(1, side), (2, row), *hand])
    trim_edges(f)
    assert f.value == "730" and EDGE_MARKS in f.reasons
    assert f.box == (160, 100, 158, 66)


@pytest.mark.parametrize(
    ("not_digit", "confidence", "photo", "value"),
    [
        (0.12, 0.6, True, "730"),  # a $ read as an unsure 4, with a real chance of no digit
        (0.12, 0.6, False, "4730"),  # on a page: left as read (the corpus lost right digits)
        (0.01, 0.6, True, "4730"),  # unsure, but a digit: kept
        (0.12, 0.97, True, "4730"),  # sure: kept
    ],
)
def test_a_sign_before_an_amount_in_a_photo_is_left_out(
    not_digit: float, confidence: float, photo: bool, value: str
) -> None:
    """A currency sign reads as a 4, an 8 or a 9, unsurely, with some probability of being no
    digit: first in a photo's number, it is left out and the amount goes to review."""
    f = _string([(4, (100, 100, 40, 64)), (7, (150, 100, 48, 64)), (3, (210, 104, 50, 60)),
                 (0, (266, 100, 52, 66))])  # fmt: skip
    probs = np.zeros(10, np.float32)
    probs[4], probs[9] = confidence, 1.0 - confidence - not_digit
    f.digits[0] = DigitResult(4, confidence, f.digits[0].box, probs=probs)
    trim_edges(f, photo)
    assert f.value == value
    assert (EDGE_MARKS in f.reasons) is (value == "730")


def test_a_handwritten_one_at_the_ends_stays() -> None:
    f = _string([(1, (100, 100, 12, 66)), (7, (130, 100, 48, 64)), (1, (190, 98, 10, 70))])
    trim_edges(f)
    assert f.value == "171" and not f.reasons


def test_on_a_sideways_page_heights_run_across() -> None:
    """A string read down a page turned a quarter: a character's height is its box's width."""
    hand = [(4, (100, 300, 64, 48)), (9, (102, 240, 60, 50)), (0, (100, 180, 66, 52))]
    f = _string([*hand, (1, (90, 150, 140, 12))])  # the box's side, long across the string
    trim_edges(f)
    assert f.value == "490"


def _string_page() -> tuple[Box, np.ndarray, np.ndarray]:
    """A page's ink with a three-digit string at (200, 100, 150, 60) and its own ink."""
    ink = np.zeros((400, 700), np.uint8)
    for k, d in enumerate("357"):
        cv2.putText(ink, d, (200 + 50 * k, 155), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 6)
    box: Box = (195, 100, 160, 60)
    own = ink[100:160, 195:355].copy()
    return box, own, ink


def test_ink_left_out_just_past_a_number_sends_it_to_review() -> None:
    box, own, ink = _string_page()
    assert not ink_beside(box, own, ink, 50.0)
    ink[110:150, 362:370] = 255  # the part of a digit past a printed line the string stops at
    assert ink_beside(box, own, ink, 50.0)


def test_a_speck_beside_a_number_or_ink_far_away_is_not_ink_left_out() -> None:
    box, own, ink = _string_page()
    ink[130:133, 360:363] = 255  # a speck of dust
    ink[100:160, 500:540] = 255  # another number, well away
    assert not ink_beside(box, own, ink, 50.0)


def test_a_character_much_taller_than_the_rest_of_its_string_goes_to_review() -> None:
    """A caption over a digit, or a divider's piece, joined into a crop stands out in height."""
    even = _string([(4, (100, 100, 40, 60)), (9, (150, 98, 42, 64)), (9, (200, 102, 40, 58))])
    capped = _string([(4, (100, 60, 40, 100)), (9, (150, 98, 42, 64)), (9, (200, 102, 40, 58))])
    assert not tall_character(even) and tall_character(capped)
    hand = [FieldResult(f"h{i}", "2468", 0.99, (0, 0, 150, 50)) for i in range(3)]
    handwriting_only([50.0, 50.0, 50.0, 60.0, 60.0], [*hand, even, capped])
    assert TALL_CHARACTER in capped.reasons and TALL_CHARACTER not in even.reasons


def test_tall_character_heights_run_across_on_a_sideways_page() -> None:
    """Read down a page turned a quarter: a horizontal rule's piece is long across the string."""
    hand = [(9, (100, 300, 60, 48)), (1, (102, 240, 62, 14)), (7, (100, 180, 58, 52))]
    assert not tall_character(_string(hand))
    rule = [(9, (100, 300, 60, 48)), (1, (90, 240, 84, 14)), (7, (100, 180, 58, 52))]
    assert tall_character(_string(rule))
    assert not tall_character(_string([(1, (100, 100, 10, 90))]))  # alone: nothing to compare


@pytest.mark.parametrize(("value", "flagged"), [("1", True), ("11", True), ("4", False)])
def test_ones_beside_a_printed_line_go_to_review(value: str, flagged: bool) -> None:
    """What is left of a box's corner or a faint side after its removal reads as sure 1s."""
    hand = [FieldResult(f"h{i}", "2468", 0.99, (0, 0, 150, 50)) for i in range(3)]
    near = FieldResult("n", value, 1.0, (300, 300, 10 * len(value), 55))
    away = FieldResult("a", value, 1.0, (600, 300, 10 * len(value), 55))
    out = handwriting_only([50.0] * 5, [*hand, near, away], [False] * 3 + [True, False])
    assert len(out) == 5
    assert (LINE_PIECE in near.reasons) is flagged and LINE_PIECE not in away.reasons


def test_a_lone_character_much_taller_than_the_handwriting_goes_to_review() -> None:
    """A logo's ring reads as a sure 0; written lone digits are the handwriting's size."""
    fields = [
        FieldResult("a", "2468", 0.99, (100, 100, 150, 50)),
        FieldResult("b", "735", 0.99, (100, 300, 120, 50)),
        FieldResult("logo", "0", 0.97, (40, 60, 90, 90)),  # 1.8 handwriting heights
        FieldResult("six", "6", 1.0, (400, 60, 40, 55)),  # a written digit, a little tall
    ]
    out = handwriting_only([50.0, 50.0, 90.0, 55.0], fields)
    assert [f.reasons for f in out] == [[], [], [LONE_LARGE], []]


def test_a_digit_cut_lower_than_the_number_past_its_end_is_ink_left_out() -> None:
    """The part of a 5 left of a column line sits below the number's rows: it still counts."""
    box, own, ink = _string_page()
    ink[161:172, 358:382] = 255  # past the end, just under the string's rows
    assert ink_beside(box, own, ink, 50.0)
    box, own, ink = _string_page()
    ink[168:200, 200:350] = 255  # the next line's writing, under the number itself
    assert not ink_beside(box, own, ink, 50.0)


def test_numbers_printed_down_a_column_in_one_size_are_left_out() -> None:
    """A table's row numbers: print-sized, one height, left edges on one (slightly tilted)
    line; small handwritten numbers in a column vary their height and stay, flagged."""
    hand = [_string([(4, (600, 100 + 200 * i, 50, 64)), (7, (660, 100 + 200 * i, 50, 64))])
            for i in range(3)]  # fmt: skip
    rows = [_string([(k, (100 + k, 100 + 80 * k, 18, 26))]) for k in range(1, 10)]
    rows.append(_string([(1, (110, 900, 14, 26)), (0, (128, 900, 18, 26))]))  # "10"
    small = [
        _string([(3, (300 + 2 * i, 100 + 90 * i, 20, hh))]) for i, hh in enumerate((22, 30, 24))
    ]
    fields = hand + rows + small
    heights = [64.0] * 3 + [26.0] * len(rows) + [22.0, 30.0, 24.0]
    out = handwriting_only(heights, fields)
    assert all(f in out for f in hand + small) and not any(f in out for f in rows)
    assert all(PRINT_SIZED in f.reasons for f in small)
    assert handwriting_only(heights[:3] + heights[-3:], hand + small) == hand + small


def test_one_gap_much_wider_than_the_others_goes_to_review() -> None:
    """ "133" and "40935" in two table columns, no line seen between them: one wide gap. A hand's
    uneven spacing, and a comb's evenly wide cells, do not count."""

    def row(xs: list[int], h: int = 60) -> FieldResult:
        return _string([(3, (x, 100, 36, h)) for x in xs])

    two_numbers = row([100, 145, 190, 290, 335, 380])  # gaps 9, 9, 64 (over 0.75 h), 9, 9
    uneven = row([100, 140, 200, 245, 300])  # gaps 4, 24, 9, 19
    comb = row([100, 180, 260, 340])  # gaps 44 each
    sideways = _string([(3, (100, y, 60, 36)) for y in (100, 145, 190, 290)])  # gap 64 down
    assert wide_gap(two_numbers) and wide_gap(sideways)
    assert not wide_gap(uneven) and not wide_gap(comb)
    assert not wide_gap(row([100, 200]))  # two characters: no other gap to compare with
    out = handwriting_only([60.0, 60.0], [two_numbers, comb])
    assert [f.reasons for f in out] == [[WIDE_GAP], []]


def _beside_two_numbers(
    value: str, height: float, confidence: float
) -> tuple[list[FieldResult], list[FieldResult]]:
    """A string ``value`` of characters ``height`` tall read beside two sure numbers 60 tall:
    the three strings, and what ``handwriting_only`` keeps of them."""
    heights, values = [60.0, 60.0, height], ["123", "4567", value]
    fields = [FieldResult(f"s{i}", v, confidence, (0, 0, 10, 10)) for i, v in enumerate(values)]
    return fields, handwriting_only(heights, fields)


@pytest.mark.parametrize(
    ("value", "height", "flagged"),
    [("8", 38.0, True), ("8", 45.0, False), ("38", 38.0, False), ("38", 33.0, True)],
    ids=["lone-print", "lone-handwriting", "pair-at-0.63", "pair-under-0.6"],
)
def test_a_lone_character_under_the_handwriting_is_print_sized_sooner(
    value: str, height: float, flagged: bool
) -> None:
    """A printed unit's bold glyph beside a box read as a sure 8, at 0.63 of the handwriting:
    a lone character has no neighbours to vouch for it, so it counts as print up to 0.7; a
    string of two stays at 0.6."""
    _, out = _beside_two_numbers(value, height, 0.99)
    assert (PRINT_SIZED in out[-1].reasons) is flagged
    assert PRINT_SIZED not in out[0].reasons


@pytest.mark.parametrize(
    ("value", "height", "kept"),
    [("1", 25.0, False), ("11", 25.0, False), ("1", 32.0, True), ("7", 25.0, True)],
    ids=["short-one", "short-ones", "one-at-half", "short-seven"],
)
def test_a_lone_one_half_the_handwriting_is_a_tick_not_a_number(
    value: str, height: float, kept: bool
) -> None:
    """A comb's end tick, a rule's stub or a check box's edge reads as a sure 1 at 0.3-0.45 of
    the page's handwriting; a handwritten 1 stands as tall as the other digits. Other short
    characters stay, as print-sized, for a person."""
    fields, out = _beside_two_numbers(value, height, 0.999)
    assert (fields[2] in out) is kept
    assert fields[:2] == out[:2]


def test_crowded_pairs_strings_close_on_a_line_with_no_wall_between() -> None:
    walls = np.zeros((400, 1000), np.uint8)
    boxes = [(100, 100, 300, 60), (440, 110, 80, 50), (700, 100, 200, 60), (100, 300, 300, 60)]
    heights = [60.0, 50.0, 60.0, 60.0]
    # 40 px apart on one line: close; 180 px: apart; another line: apart
    assert crowded(boxes, heights, walls) == [{1}, {0}, set(), set()]
    walls[90:180, 420] = 255  # a column line as tall as the writing parts them
    assert crowded(boxes, heights, walls) == [set(), set(), set(), set()]
    walls[:] = 0
    walls[140:160, 420] = 255  # a comb's tick, a third of their height, does not
    assert crowded(boxes, heights, walls) == [{1}, {0}, set(), set()]


def test_at_scan_edge_reaches_a_fixed_share_of_the_long_side() -> None:
    from segmentation.free_filters import at_scan_edge

    shape = (3000, 2000)  # reach: 6 pixels
    assert not at_scan_edge((100, 100, 50, 50), shape)
    assert at_scan_edge((5, 100, 50, 50), shape) and at_scan_edge((100, 0, 50, 50), shape)
    assert at_scan_edge((1945, 100, 50, 50), shape) and at_scan_edge((100, 2945, 50, 50), shape)
    assert not at_scan_edge((7, 7, 1986, 2986), shape)
    assert at_scan_edge((1, 10, 5, 5), (20, 30))  # at least 2 pixels on a tiny image
