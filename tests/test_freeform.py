"""Template-free reading: binarisation, printed rules, printed text apart, reading order."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from segmentation.binarize import binarize, dark_ink
from segmentation.freeform import find_strings, remove_rules
from segmentation.printed_rules import split_rules

U8 = npt.NDArray[np.uint8]


def handwriting(page: U8, x: int, y: int, n: int, h: int = 70) -> tuple[int, int, int, int]:
    """Draw ``n`` pen-thick digit-like strokes (bars and rings) at (x, y); their box."""
    t = max(5, h // 9)
    x0 = x
    for i in range(n):
        if i % 2:
            cv2.ellipse(page, (x + h // 4, y + h // 2), (h // 4, h // 2 - t), 0, 0, 360, 0, t)
            x += h // 2 + t
        else:
            cv2.line(page, (x + 6, y + 2), (x, y + h - 2), 0, t)
            x += t + 6
        x += h // 4
    return (x0 - t, y - t, x - h // 4 - x0 + 2 * t, h + 2 * t)


def inside(inner: tuple[int, ...], outer: tuple[int, ...], slack: int = 12) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[0] + inner[2] <= outer[0] + outer[2] + slack
        and inner[1] + inner[3] <= outer[1] + outer[3] + slack
    )


def light(page: U8, reverse: bool, seed: int) -> U8:
    """Uneven light, noise and optionally reversed polarity, like a phone photo."""
    rng = np.random.default_rng(seed)
    h, w = page.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gain = 0.55 + 0.45 * (xx / w) * (0.6 + 0.4 * yy / h)
    img = page.astype(np.float32)
    if reverse:
        img = 255 - img
    img = img * gain + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_binarize_polarity_and_uneven_light(reverse: bool, seed: int) -> None:
    page = np.full((400, 700), 235, np.uint8)
    handwriting(page, 80, 150, 5)
    truth = page < 128
    img = light(page, reverse, seed)
    assert dark_ink(img) is (not reverse)
    mask = binarize(img) > 0
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.85


def test_printed_text_never_merges_with_handwriting() -> None:
    page = np.full((500, 1200), 255, np.uint8)
    cv2.putText(page, "Account no:", (60, 235), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2, cv2.LINE_AA)
    hand = handwriting(page, 260, 180, 6)
    strings = find_strings(page)
    holding = [s for s in strings if inside(s.box, hand)]
    assert len(holding) == 1 and holding[0].box[0] >= 240
    printed = [s for s in strings if s.box[0] < 240]
    assert printed and all(not inside(hand, s.box) for s in printed)


def test_rules_removed_handwriting_kept() -> None:
    page = np.full((400, 1200), 255, np.uint8)
    cv2.line(page, (40, 260), (1150, 260), 0, 2)  # a printed line under the writing
    cv2.rectangle(page, (40, 40), (1150, 120), 0, 2)  # an empty printed box
    for x in range(40, 1150, 80):  # comb ticks hanging off the box
        cv2.line(page, (x, 40), (x, 120), 0, 2)
    hand = handwriting(page, 200, 190, 5)
    ink = remove_rules(binarize(page))
    assert ink[250:270, :150].sum() == 0 and ink[40:121, 600:700].sum() == 0
    strings = find_strings(page)
    assert len(strings) == 1 and inside(strings[0].box, hand)


def test_reading_order() -> None:
    page = np.full((900, 1400), 255, np.uint8)
    b = handwriting(page, 800, 120, 3)
    a = handwriting(page, 100, 130, 4)
    c = handwriting(page, 300, 500, 2)
    boxes = [s.box for s in find_strings(page)]
    assert len(boxes) == 3
    assert [inside(s, t) for s, t in zip(boxes, [a, b, c], strict=True)] == [True] * 3


def _lid_grain(page: U8, rng: np.random.Generator) -> None:
    """A scanner lid's grain along the page's bottom: a band crowded with specks, a few of them
    as tall as small print."""
    h, w = page.shape
    for k in range(3000):  # ~110 marks in 3x3 blocks, as a real lid's grain (63-206)
        x, y = int(rng.integers(0, w)), int(rng.integers(h - 150, h))
        tall = k % 8 == 0
        cv2.rectangle(page, (x, y), (x + 2 + tall * 2, y + (10 if tall else 2)), 0, -1)


@pytest.mark.parametrize("crowd", [24, 10**9])
def test_grain_makes_no_strings(monkeypatch: pytest.MonkeyPatch, crowd: int) -> None:
    from segmentation import freeform

    monkeypatch.setattr(freeform, "GRAIN_MARKS", crowd)
    page = np.full((1400, 1000), 255, np.uint8)
    cv2.putText(page, "Reading 1:", (60, 235), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2, cv2.LINE_AA)
    hand = handwriting(page, 300, 180, 5)
    _lid_grain(page, np.random.default_rng(0))
    strings = find_strings(page)
    assert sum(inside(s.box, hand) for s in strings) == 1  # the number, whole
    in_grain = [s for s in strings if s.box[1] > 1400 - 160]
    if crowd == 24:  # the default: printed words and the number, nothing from the grain
        assert not in_grain and len(strings) <= 3
    else:  # no grain test: the band makes strings of its own (what the test guards against)
        assert len(in_grain) >= 5


def _mnist_page(draw_structure: str, seed: int = 0) -> tuple[U8, str]:
    """A page with one number of MNIST sample digits written in printed structure."""
    from model.training.data import load_sample

    images, labels = load_sample()
    rng = np.random.default_rng(seed)
    page = np.full((1100, 900), 255, np.uint8)
    x0, y0, cell = 100, 300, 60
    value = ""
    for c in range(8):
        i = int(rng.integers(len(images)))
        d = 255 - cv2.resize(images[i], (56, 56))
        x, y = x0 + c * cell + 2, y0 + 16
        page[y : y + 56, x : x + 56] = np.minimum(page[y : y + 56, x : x + 56], d)
        value += str(int(labels[i]))
    if draw_structure == "ticks":  # a comb of tick dividers on a base line
        cv2.line(page, (x0, y0 + 90), (x0 + 8 * cell, y0 + 90), 0, 2)
        for c in range(9):
            cv2.line(page, (x0 + c * cell, y0 + 90), (x0 + c * cell, y0 + 66), 0, 2)
    else:  # a box drawn with a broad pen
        cv2.rectangle(page, (x0 - 30, y0 - 10), (x0 + 8 * cell + 30, y0 + 95), 0, 4)
    return page, value


@pytest.mark.parametrize("structure", ["ticks", "box"])
def test_comb_ticks_and_box_sides_are_never_digits(structure: str) -> None:
    from digitize.settings import Settings
    from digitize.types import Page
    from model.inference import get_recognizer
    from worker.pipeline import read_page

    page, value = _mnist_page(structure)
    result = read_page(Page(1, page, source="t"), [], get_recognizer(None), Settings())
    values = [f.value for f in result.fields]
    assert values == [value], values  # no "1" for a tick, no leading 1 for the box's side


def test_a_number_touching_a_rule_goes_to_review() -> None:
    from digitize.settings import Settings
    from digitize.types import Page
    from model.inference import get_recognizer
    from segmentation.reader import TOUCHES_PRINTED_LINES
    from worker.pipeline import read_page

    page, _ = _mnist_page("ticks")
    cv2.line(page, (60, 360), (700, 360), 0, 2)  # a rule struck through the digits
    result = read_page(Page(1, page, source="t"), [], get_recognizer(None), Settings())
    assert result.fields and all(TOUCHES_PRINTED_LINES in f.reasons for f in result.fields)
    assert all(f.needs_review for f in result.fields)


def test_a_table_column_line_parts_the_numbers_either_side() -> None:
    """Two cells' numbers close to one column line: one string each, not one across the line;
    a comb's short dividers part nothing."""
    ink = np.zeros((900, 1400), np.uint8)
    cv2.putText(ink, "123", (300, 450), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    cv2.putText(ink, "45", (455, 450), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    column = np.zeros_like(ink)
    cv2.line(column, (442, 100), (442, 800), 255, 3)  # a table's column line, rows long
    assert len(find_strings(ink, ink=ink)) == 1  # without the line the two numbers run together
    parted = find_strings(ink, ink=ink, rules=column)
    assert sorted(s.box[0] for s in parted) == [
        pytest.approx(305, abs=15),
        pytest.approx(460, abs=15),
    ]
    assert all(s.parted for s in parted)  # so close, one number may run across: both flagged
    divider = np.zeros_like(ink)
    cv2.line(divider, (442, 380), (442, 470), 255, 3)  # a comb's divider: a cell high
    assert len(find_strings(ink, ink=ink, rules=divider)) == 1


def test_a_last_digit_written_past_the_column_line_stays_with_its_number() -> None:
    """A number that ran past its cell's line (a table's last column): the one digit beyond
    joins it, flagged parted for a person; two digits beyond are the next cell's number."""
    column = np.zeros((900, 1400), np.uint8)
    cv2.line(column, (442, 100), (442, 800), 255, 3)
    for beyond, apart in (("4", False), ("45", True)):
        ink = np.zeros_like(column)
        cv2.putText(ink, "123", (300, 450), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
        cv2.putText(ink, beyond, (455, 450), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
        strings = find_strings(ink, ink=ink, rules=column)
        assert len(strings) == (2 if apart else 1)
        assert all(s.parted for s in strings)


def test_numbers_in_two_boxes_side_by_side_stay_apart() -> None:
    """A box's ends part what is written in it from the next box's number (a value and its
    cents, two short fields in a row), however close the two are."""
    page = np.zeros((2339, 1654), np.uint8)
    cv2.rectangle(page, (300, 400), (560, 500), 255, 9)  # broad-pen boxes
    cv2.rectangle(page, (585, 400), (700, 500), 255, 9)
    cv2.putText(page, "425", (330, 480), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    cv2.putText(page, "53", (598, 480), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    ink, rules = split_rules(page)
    strings = find_strings(page, ink=ink, rules=rules)
    assert len(strings) == 2
    assert all(s.box[0] > 300 and s.box[0] + s.box[2] < 700 for s in strings)


def test_numbers_well_apart_across_a_column_line_are_not_flagged() -> None:
    ink = np.zeros((900, 1400), np.uint8)
    cv2.putText(ink, "123", (300, 450), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    cv2.putText(ink, "45", (480, 450), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    assert len(find_strings(ink, ink=ink)) == 1  # near enough to join without the line...
    column = np.zeros_like(ink)
    cv2.line(column, (455, 100), (455, 800), 255, 3)
    strings = find_strings(ink, ink=ink, rules=column)  # ...but too far apart to be one number
    assert len(strings) == 2 and not any(s.parted for s in strings)


def test_digits_in_far_apart_cells_of_one_comb_are_one_number() -> None:
    page = np.zeros((2339, 1654), np.uint8)
    cv2.rectangle(page, (200, 400), (1000, 500), 255, 3)
    for i in range(1, 5):  # a comb of five wide cells
        cv2.line(page, (200 + 160 * i, 400), (200 + 160 * i, 500), 255, 3)
    for i, d in enumerate("4071"):
        cv2.putText(page, d, (250 + 160 * i, 480), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 7)
    ink, rules = split_rules(page)
    assert len(find_strings(page, ink=ink)) == 4  # cells far apart: four strings alone
    assert len(find_strings(page, ink=ink, rules=rules)) == 1  # the comb makes them one


def test_a_caption_over_a_comb_is_not_part_of_its_digits() -> None:
    """Print just above a comb's top line is no piece of the digits under it; the halves of a
    digit that a rule's removal cut in two still join."""
    page = np.zeros((2339, 1654), np.uint8)
    cv2.rectangle(page, (200, 400), (520, 500), 255, 3)
    for i in range(1, 4):
        cv2.line(page, (200 + 80 * i, 400), (200 + 80 * i, 500), 255, 3)
    cv2.putText(page, "Code", (205, 394), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 5)
    for i, d in enumerate("2574"):
        cv2.putText(page, d, (212 + 80 * i, 492), cv2.FONT_HERSHEY_SIMPLEX, 3.2, 255, 7)
    ink, rules = split_rules(page)
    strings = find_strings(page, ink=ink, rules=rules)
    number = max(strings, key=lambda s: s.box[2] * s.box[3])
    assert number.box[1] > 395  # the caption stays out of the number's box
    cut = np.zeros((900, 1400), np.uint8)
    cv2.putText(cut, "7", (300, 450), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 8)
    line = np.zeros_like(cut)
    line[388:393, 100:1300] = 255  # a rule through the 7, removed with it
    cut[line > 0] = 0
    assert len(find_strings(cut, ink=cut, rules=line)) == 1


def test_a_caption_printed_just_over_a_number_stays_out_of_it() -> None:
    """A printed word a few pixels over handwriting, no rule between: its letters stand on a
    line of their own, so none joins a digit under it as a broken piece; a 5's bar lifted off
    its body (alone on its line) still joins it."""
    page = np.zeros((1200, 1400), np.uint8)
    cv2.putText(page, "Amount", (200, 420), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3)
    for i, d in enumerate("906"):
        cv2.putText(page, d, (205 + 90 * i, 520), cv2.FONT_HERSHEY_SIMPLEX, 3.2, 255, 9)
    strings = find_strings(page, ink=page)
    number = max(strings, key=lambda s: s.box[3])
    assert number.box[1] > 420  # the caption's letters are not in the number
    five = np.zeros((600, 900), np.uint8)
    cv2.line(five, (310, 200), (370, 200), 255, 9)  # the bar, lifted a little off the body
    cv2.line(five, (310, 214), (305, 262), 255, 9)
    cv2.ellipse(five, (335, 290), (32, 30), 0, -150, 150, 255, 9)
    for i, d in enumerate("37"):
        cv2.putText(five, d, (400 + 80 * i, 330), cv2.FONT_HERSHEY_SIMPLEX, 3.2, 255, 9)
    strings = find_strings(five, ink=five)
    assert len(strings) == 1 and strings[0].box[1] <= 200


def test_a_caption_just_before_a_comb_of_ticks_stays_out_of_the_number() -> None:
    page = np.zeros((2339, 1654), np.uint8)
    cv2.line(page, (400, 500), (880, 500), 255, 3)  # a comb of ticks: a line, ticks rising
    for i in range(7):
        cv2.line(page, (400 + 80 * i, 470), (400 + 80 * i, 500), 255, 3)
    cv2.putText(page, "Po1ic", (250, 490), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 255, 6)
    for i, d in enumerate("43 48"):  # far apart in the comb's cells, still one number
        cv2.putText(page, d, (410 + 80 * i, 490), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 255, 7)
    ink, rules = split_rules(page)
    strings = find_strings(page, ink=ink, rules=rules)
    number = [s for s in strings if s.box[0] >= 395]
    assert len(number) == 1 and number[0].box[0] + number[0].box[2] > 760
    assert all(s.box[0] + s.box[2] <= 400 or s.box[0] >= 395 for s in strings)


def test_a_page_with_two_rules_turned_by_a_photos_perspective_is_deskewed() -> None:
    """Two long rules a degree apart (perspective) agree on the page's turn; handwriting alone
    turns nothing."""
    from segmentation.align import skew_angle
    from segmentation.reader import DESKEW_AGREE, DESKEW_MIN_LINES

    def rule(page: U8, y: int, degrees: float) -> None:
        dy = round(1000 * np.tan(np.radians(degrees)))
        cv2.line(page, (150, y), (1150, y + dy), 255, 3)

    page = np.zeros((1800, 1300), np.uint8)
    rule(page, 300, 2.2)
    rule(page, 900, 3.0)
    angle = skew_angle(page > 0, min_agreeing=DESKEW_MIN_LINES, agree_degrees=DESKEW_AGREE)
    assert 2.0 <= angle <= 3.2
    strokes = np.zeros_like(page)
    for k in range(6):  # handwritten 1s and 7s' bars, all leaning alike
        cv2.line(strokes, (300 + 120 * k, 600), (330 + 120 * k, 680), 255, 7)
        cv2.line(strokes, (300 + 120 * k, 800), (360 + 120 * k, 803), 255, 7)
    assert skew_angle(strokes > 0, min_agreeing=DESKEW_MIN_LINES, agree_degrees=DESKEW_AGREE) == 0


def test_overlapping_pairs_are_every_pair_of_boxes_overlapping_across_or_along() -> None:
    from segmentation import freeform

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 400, 700).astype(float), rng.integers(0, 400, 700).astype(float)
    w, h = rng.integers(1, 30, 700).astype(float), rng.integers(1, 30, 700).astype(float)
    a, b = freeform._overlapping_pairs(x, y, w, h)  # two blocks of boxes
    expected = [
        (i, j)
        for i in range(len(x))
        for j in range(i + 1, len(x))
        if (y[i] < y[j] + h[j] and y[j] < y[i] + h[i])
        or (x[i] < x[j] + w[j] and x[j] < x[i] + w[i])
    ]
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == expected


def test_what_is_written_in_a_comb_is_one_number_read_a_digit_a_cell() -> None:
    """A comb of ticks: its digits, and the small pieces of a digit a thin pen broke, are one
    string that knows the comb's cells (one digit each)."""
    page = np.zeros((2339, 1654), np.uint8)
    cv2.line(page, (400, 500), (880, 500), 255, 3)
    for i in range(7):
        cv2.line(page, (400 + 80 * i, 476), (400 + 80 * i, 500), 255, 3)
    for i, d in enumerate("430"):
        cv2.putText(page, d, (410 + 80 * i, 490), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 255, 7)
    pieces = np.zeros_like(page)  # a 5 in three strokes with gaps between them
    cv2.line(pieces, (655, 440), (680, 440), 255, 5)
    cv2.line(pieces, (652, 448), (650, 462), 255, 5)
    cv2.ellipse(pieces, (662, 476), (13, 10), 0, -60, 160, 255, 5)
    ink, rules = split_rules(page | pieces)
    strings = find_strings(page, ink=ink, rules=rules)
    number = [s for s in strings if s.box[0] >= 395 and s.box[1] >= 400 and s.box[1] < 520]
    assert len(number) == 1, [s.box for s in number]
    s = number[0]
    assert s.box[0] + s.box[2] >= 680  # the broken 5 is in it
    assert s.cells is not None
    left, pitch, cells = s.cells
    assert cells == 6 and pitch == pytest.approx(80, abs=2)
    assert s.box[0] + left == pytest.approx(401, abs=3)


@pytest.mark.parametrize(("down", "across", "expected"), [(12, 10, True), (10, 12, False)])
def test_text_runs_down_the_page_when_more_marks_neighbour_above_or_below(
    down: int, across: int, expected: bool
) -> None:
    """Marks in pairs one above the other (``down``) against pairs side by side (``across``):
    the majority decides, even a narrow one (a sideways page with specks or print beside)."""
    from segmentation.freeform import vertical_text

    ink = np.zeros((1200, 1200), np.uint8)
    for i in range(down):
        x, y = 60 + (i % 6) * 90, 60 + (i // 6) * 200
        ink[y : y + 20, x : x + 10] = 255
        ink[y + 30 : y + 50, x : x + 10] = 255
    for i in range(across):
        x, y = 640 + (i % 6) * 90, 60 + (i // 6) * 200
        ink[y : y + 20, x : x + 10] = 255
        ink[y : y + 20, x + 22 : x + 32] = 255
    assert vertical_text(ink) is expected
