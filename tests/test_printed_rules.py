"""Printed structure the template-free reader removes: small boxes (check boxes), faint rules."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation.printed_rules import (
    _next_alike,
    _thickness,
    broken_rules,
    small_boxes,
    split_rules,
)


def test_a_check_box_is_structure_and_a_written_zero_is_not() -> None:
    ink = np.zeros((2339, 1654), np.uint8)  # A4 at 200 dpi
    cv2.rectangle(ink, (100, 100), (150, 150), 255, 2)  # a check box
    cv2.rectangle(ink, (300, 95), (360, 160), 255, 3)  # a one-digit box, a little taller
    cv2.ellipse(ink, (520, 125), (22, 34), 8, 0, 360, 255, 6)  # a handwritten 0
    cv2.putText(ink, "7", (600, 160), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 6)
    boxes = small_boxes(ink)
    assert boxes[100:152, 100:152].any() and boxes[95:162, 300:362].any()
    assert not boxes[:, 480:].any()  # the 0 and the 7 stay
    kept, _ = split_rules(ink)
    assert not kept[98:153, 98:153].any()  # the box is gone from the ink to read
    assert kept[90:165, 490:550].any() and kept[90:165, 600:660].any()


def test_a_box_with_a_digit_touching_its_side_is_left_alone() -> None:
    """Ink joined to the outline makes it no longer a hollow outline alone: nothing is cut."""
    ink = np.zeros((2339, 1654), np.uint8)  # A4 at 200 dpi
    cv2.rectangle(ink, (100, 100), (160, 165), 255, 2)
    cv2.line(ink, (130, 110), (100, 180), 255, 7)  # a stroke through the side
    assert not small_boxes(ink).any()


def test_a_digit_written_across_a_short_combs_side_stays() -> None:
    """A two-cell comb is as small as a one-digit box: its outline goes, but a 2 written over
    its first side is no part of it (all of it went with the box, and 27 read 7)."""
    ink = np.zeros((2339, 1654), np.uint8)  # A4 at 200 dpi
    cv2.rectangle(ink, (300, 100), (400, 160), 255, 3)  # two cells of 50 x 60
    cv2.line(ink, (350, 100), (350, 160), 255, 3)  # the divider
    two = np.zeros_like(ink)
    cv2.putText(two, "2", (296, 152), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 255, 5)  # over the side
    ink |= two
    boxes = small_boxes(ink)
    assert boxes[100:103, 360:400].any() and boxes[158:161, 360:400].any()  # the outline goes
    inner = (slice(106, 156), slice(306, 346))  # the 2 inside the first cell
    assert two[inner].any() and not (boxes[inner] & two[inner]).any()
    kept, _ = split_rules(ink)
    assert np.count_nonzero(kept[inner]) > 0.8 * np.count_nonzero(two[inner])


def test_a_digit_touching_a_tables_frame_stays() -> None:
    """A table is an outline the size of a page's part, drawn with a field box's pen: only the
    frame goes, not the digits written against it (8 % of its side took them)."""
    ink = np.zeros((2339, 1654), np.uint8)  # A4 at 200 dpi
    cv2.rectangle(ink, (200, 300), (1300, 1300), 255, 2)  # the table's frame
    cv2.line(ink, (200, 800), (1300, 800), 255, 2)  # a row line
    cv2.putText(ink, "5", (640, 1298), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 8)  # on its floor
    cv2.putText(ink, "2", (1250, 1000), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 8)  # on its side
    boxes = small_boxes(ink)
    assert boxes[1298:1302, 300:600].any()  # the frame goes
    assert not boxes[1220:1265, 640:720].any()  # the 5 above its foot stays
    assert not boxes[920:1000, 1250:1275].any()  # the 2 beside the side stays
    kept, _ = split_rules(ink)
    assert kept[1220:1265, 640:720].any() and kept[920:1000, 1230:1275].any()


def _broken_line(ink: np.ndarray, x: int, y0: int, y1: int, seed: int) -> None:
    """A one-pixel vertical line scanned faint: pieces of uneven length with small gaps."""
    rng = np.random.default_rng(seed)
    y = y0
    while y < y1:
        n = int(rng.integers(8, 30))
        ink[y : min(y + n, y1), x] = 255
        y += n + int(rng.integers(2, 9))


def test_a_faint_frame_in_pieces_is_structure_and_written_ones_are_not() -> None:
    ink = np.zeros((1800, 1300), np.uint8)
    _broken_line(ink, 60, 100, 1700, seed=1)  # the page's frame, long
    for y, n in ((300, 15), (317, 15), (339, 10), (358, 9)):  # a box's side, as one was found
        ink[y : y + n, 400] = 255
    for k in range(3):  # a column of written 1s, one above the other, a row apart
        cv2.line(ink, (800, 300 + 90 * k), (804, 350 + 90 * k), 255, 5)
    cv2.line(ink, (1000, 300), (1000, 325), 255, 2)  # a fine-pen 1 broken in two
    cv2.line(ink, (1000, 330), (1000, 355), 255, 2)
    found = broken_rules(ink, anchored_span=40)
    assert found[100:1700, 60].sum() == ink[100:1700, 60].sum()
    assert found[300:370, 400].any()
    assert not found[:, 700:].any()
    kept, _ = split_rules(ink)
    assert not kept[:, 50:70].any() and kept[:, 790:810].any() and kept[:, 995:1005].any()


def test_a_faint_rule_in_pieces_across_the_page_is_structure() -> None:
    ink = np.zeros((1300, 1800), np.uint8)
    _broken_line(ink.T, 600, 100, 1700, seed=3)  # a horizontal rule, written through a view
    cv2.putText(ink, "1111", (300, 560), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 6)
    found = broken_rules(ink, vertical=False)
    assert found[600, 100:1700].any() and not found[480:580, :].any()


def test_on_a_photo_of_one_number_a_broken_one_over_its_underline_stays() -> None:
    """A small image (a cheque amount): a thin 1 in pieces standing on the line under the
    number is handwriting, not a box's side (the spans are in pixels, not shares of the side)."""
    ink = np.zeros((45, 160), np.uint8)
    for y, n in ((4, 9), (15, 9), (26, 10)):  # a thin 1, three pieces, down to the line
        ink[y : y + n, 12] = 255
    ink[38:40, 2:158] = 255  # the line under the amount
    cv2.putText(ink, "3", (30, 36), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2)
    assert not broken_rules(ink)[:, 10:15].any()
    kept, _ = split_rules(ink)
    assert kept[4:36, 12].sum() == ink[4:36, 12].sum()


def _fine_pen_two(ink: np.ndarray) -> None:
    """A 2 written with a fine pen, its foot a ruler-straight hairline."""
    cv2.ellipse(ink, (78, 70), (45, 40), 0, 180, 360, 255, 2)  # the bow
    cv2.line(ink, (123, 70), (35, 190), 255, 2)  # the stroke down
    cv2.line(ink, (35, 190), (140, 190), 255, 2)  # the foot


def test_on_a_photo_a_digits_straight_strokes_stay() -> None:
    """A close-up of one digit: its foot is as long as the lines a page's rules are found by
    and as thin as print; read as a page, it goes and the 2 reads as a 7."""
    ink = np.zeros((230, 160), np.uint8)
    _fine_pen_two(ink)
    foot = ink[186:195, 50:130].sum()
    assert split_rules(ink)[0][186:195, 50:130].sum() < foot  # as a page: taken for a rule
    kept, rules = split_rules(ink, photo=True)
    assert kept[186:195, 50:130].sum() == foot and not rules.any()


def test_on_a_photo_a_line_across_it_is_still_a_rule() -> None:
    """A cheque amount: the line under the number spans the picture, longer than it is high."""
    ink = np.zeros((120, 500), np.uint8)
    cv2.putText(ink, "350", (60, 90), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 255, 6)
    ink[100:102, 5:495] = 255
    kept, rules = split_rules(ink, photo=True)
    assert not kept[99:103, 5:495].any() and rules[100, 250]
    assert kept[30:95, 60:300].any()


def test_on_a_small_photo_an_underline_the_digits_stand_on_is_a_rule() -> None:
    """A cheque amount cut small (46 pixels high): the digits stand on the underline over much
    of its length, within the 8 pixels a page's rule is judged across. On a photo the line's
    own thickness is the run of ink through it, and it goes; before, the digits beside it made
    it too thick to be a rule and it joined them into one blob."""
    ink = np.zeros((46, 150), np.uint8)
    for k, x in enumerate(range(4, 140, 28)):
        cv2.ellipse(ink, (x + 12, 26), (10, 17), 0, 0, 360, 255, 3)  # 0s standing on the line
        if k % 2:
            cv2.line(ink, (x + 4, 40), (x + 20, 43), 255, 3)  # a flourish down to it
    ink[43:45, 0:150] = 255
    kept, rules = split_rules(ink, photo=True)
    assert rules[44, 75] and not kept[44, 1:149].all()
    assert kept[12:38, 4:140].any()


def test_next_alike_is_the_first_later_mark_of_the_same_row() -> None:
    """Every pair in reach tested at once gives what the mark-by-mark search gave."""
    rng = np.random.default_rng(5)
    along = np.sort(rng.uniform(0, 400, 300))
    across = rng.choice([50.0, 52.0, 120.0], 300) + rng.normal(0, 1.5, 300)
    size = rng.choice([4.0, 5.0, 9.0, 30.0], 300)
    expected = []
    for a in range(len(along)):
        found = -1
        for b in range(a + 1, len(along)):
            step = along[b] - along[a]
            if step > 4 * size[a] + 12:
                break
            if (
                step >= 0.5 * size[a]
                and abs(across[b] - across[a]) <= 3 + 0.06 * step
                and abs(size[b] - size[a]) <= 0.3 * size[a] + 1
            ):
                found = b
                break
        expected.append(found)
    assert _next_alike(along, across, size) == expected
    assert any(n >= 0 for n in expected) and any(n < 0 for n in expected)
    assert _next_alike(np.zeros(0), np.zeros(0), np.zeros(0)) == []


def test_a_digit_written_against_a_tables_side_is_not_its_outline() -> None:
    """A number run past a table's last column touches the table's side: joined to the table's
    ink (and inside the band its outline is looked for in), but not straight along the side,
    so it is not taken with the outline."""
    ink = np.zeros((2339, 1654), np.uint8)
    cv2.rectangle(ink, (100, 300), (900, 700), 255, 2)  # a table's outline and a row line
    ink[300:330, 100:901] = 255  # its header row, printed dark
    cv2.line(ink, (100, 500), (900, 500), 255, 2)
    cv2.ellipse(ink, (912, 600), (10, 30), 0, 0, 360, 255, 4)  # a 0 against the right side
    boxes = small_boxes(ink)
    assert boxes[340:700, 899:902].any() and boxes[699:702, 100:900].any()  # the outline goes
    assert not boxes[575:625, 915:930].any()  # the 0's far side stays
    kept, _ = split_rules(ink)
    assert kept[575:625, 915:930].any()


def test_a_thin_column_line_broken_every_few_pixels_is_structure() -> None:
    """A hairline column of a table, turned by deskewing, breaks every few pixels (and once or
    twice wider): bridged, it is a line between two rules and goes; a written 1 stays."""
    ink = np.zeros((1800, 1300), np.uint8)
    for y in (300, 420, 540, 660):
        cv2.line(ink, (200, y), (1200, y), 255, 2)
    for top in (300, 420, 540):
        y = top + 2
        for n, gap in ((11, 3), (12, 3), (11, 3), (6, 13), (5, 3), (12, 3), (13, 3), (12, 3)):
            ink[y : y + n, 700:702] = 255
            y += n + gap
        ink[y : top + 120, 700:702] = 255
        cv2.putText(ink, "38", (560, top + 95), cv2.FONT_HERSHEY_SIMPLEX, 2.6, 255, 9)
        cv2.putText(ink, "27", (720, top + 95), cv2.FONT_HERSHEY_SIMPLEX, 2.6, 255, 9)
    cv2.line(ink, (1000, 440), (1003, 520), 255, 6)  # a written 1 in a cell
    kept, _ = split_rules(ink)
    assert not kept[305:655, 699:703].any()
    assert kept[440:520, 995:1010].any() and kept[310:400, 560:690].any()


def test_a_faint_line_stays_structure_where_the_opening_finds_it_alone() -> None:
    """A faint vertical line (``faint``) the vertical opening finds too, touching no rule: the
    opening's test drops its own find, not the faint finder's."""
    ink = np.zeros((1800, 1300), np.uint8)
    ink[500:570, 400:402] = 255
    faint = np.zeros_like(ink)
    faint[500:570, 400:402] = 255
    kept, _ = split_rules(ink, faint=(np.zeros_like(ink), faint))
    assert not kept[500:570, 400:402].any()


def test_a_bold_combs_frame_with_a_caption_on_it_is_structure_and_a_thick_stroke_is_not() -> None:
    """A comb drawn with a 5-pixel pen, a caption's descender touching its roof: the roof and
    floor are rules (straight through their whole pen), so the frame and dividers go. A thick
    curved pen stroke as long is no rule: its opening is a sliver of its ink across."""
    ink = np.zeros((1800, 1300), np.uint8)  # a page at the reader's working scale
    cv2.rectangle(ink, (300, 360), (455, 435), 255, 5)  # three cells of about 52 x 75
    for x in (352, 404):
        cv2.line(ink, (x, 360), (x, 435), 255, 4)
    cv2.putText(ink, "Height", (302, 352), cv2.FONT_HERSHEY_DUPLEX, 1.2, 255, 3)
    cv2.line(ink, (380, 340), (380, 362), 255, 3)  # a descender onto the roof
    cv2.ellipse(ink, (700, 900), (120, 40), 0, 180, 360, 255, 9)  # a long thick curve
    kept, rules = split_rules(ink)
    assert rules[358:363, 420:450].all() and rules[433:438, 310:440].all()  # roof and floor
    assert not kept[362:434, 350:356].any()  # a divider goes with them
    assert kept[855:905, 580:820].sum() > 0.9 * ink[855:905, 580:820].sum()  # the curve stays


def test_a_stroke_across_a_bold_divider_stays_whole_and_the_divider_goes() -> None:
    """A 2's foot drawn across a comb's 5-pixel divider: taking the divider off would cut it in
    two (an 8's loop cut reads 6); the stroke's ink within the divider comes back, the rest of
    the divider does not."""
    ink = np.zeros((1800, 1300), np.uint8)
    cv2.rectangle(ink, (300, 360), (455, 435), 255, 5)
    for x in (352, 404):
        cv2.line(ink, (x, 360), (x, 435), 255, 5)
    cv2.line(ink, (330, 410), (380, 410), 255, 4)  # a stroke across the first divider
    kept, rules = split_rules(ink)
    assert rules[370:430, 350:355].any()
    assert kept[408:413, 330:381].any(axis=0).all()  # the stroke runs on through the divider
    assert not kept[370:400, 348:357].any() and not kept[420:430, 348:357].any()


def test_a_lines_thickness_is_the_ink_through_it_not_the_ink_beside_it() -> None:
    """A 2-pixel divider with a digit's 5-pixel stroke 5 pixels beside it, and a 2-pixel rule
    with a caption's letters 4 pixels over it: each line is 2 pixels thick (the ink within 8
    pixels of the divider was 7 wide, too thick for a hairline divider)."""
    ink = np.zeros((400, 400), np.uint8)
    ink[100:300, 200:202] = 255  # the divider
    ink[110:290, 191:196] = 255  # a stroke beside it
    ink[50:52, 100:300] = 255  # a rule
    ink[40:46, 110:290:12] = 255  # letters' feet over it
    assert _thickness(ink, 200, 100, 2, 200, horizontal=False) == 2.0
    assert _thickness(ink, 100, 50, 200, 2, horizontal=True) == 2.0
    ink[100:300, 202:204] = 255  # a digit's stroke along the divider: one ink, 4 wide
    assert _thickness(ink, 200, 100, 2, 200, horizontal=False) == 4.0
