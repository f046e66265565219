"""Page reader: segmentation of generated fields and the DP path choice.

The classifier here is a deterministic rule-based stand-in that knows two drawn shapes (a bar is
"1", a ring is "0", anything else is "not a digit"), so the segmentation and the path choice can
be checked without the real model; the end-to-end tests with the shipped model are in
test_predict.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from digitize.types import NOT_A_DIGIT, Page
from segmentation.assemble import best_comb_path, read_field
from segmentation.free_filters import INK_BESIDE
from segmentation.oversegment import components, plan
from segmentation.reader import (
    TOUCHES_PRINTED_LINES,
    FieldPlan,
    assemble_field,
    assemble_page,
    homography_box,
    segment_page,
)
from segmentation.templates import FieldSpec, Template

U8 = npt.NDArray[np.uint8]


class ShapeClassifier:
    """'1' = a narrow bar, '0' = a symmetric ring, otherwise not a digit (rules, no learning)."""

    def predict_proba(self, crops: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(crops), 11), np.float32)
        for k, c in enumerate(crops):
            ink = (c > 0.3).astype(np.uint8)
            cls, p = NOT_A_DIGIT, 0.95
            if ink.any():
                ys, xs = np.nonzero(ink)
                aspect = (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)
                contours, hier = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
                holes = sum(
                    1
                    for i, h in enumerate(hier[0])
                    if h[3] >= 0 and cv2.contourArea(contours[i]) > 6
                )
                cols = ink[:, xs.min() : xs.max() + 1].sum(axis=0).astype(float)
                half = len(cols) // 2
                lopsided = abs(cols[:half].sum() - cols[-half:].sum()) / max(cols.sum(), 1)
                if holes == 1 and 0.45 <= aspect <= 0.8 and lopsided < 0.15:
                    cls, p = 0, 0.97
                elif holes == 0 and aspect < 0.4:
                    cls, p = 1, 0.97
            out[k] = (1 - p) / 10
            out[k, cls] = p
        return out


def draw(spec: str, h: int = 60, gap: int = 14, touch: bool = False) -> U8:
    """Ink (255) of a string of '1' (bar) and '0' (ring) shapes, ``h`` pixels tall.

    ``touch``: neighbours nearly meet and a pen stroke joins them (one connected blob).
    """
    w0, w1, t = int(0.6 * h), max(6, h // 8), max(4, h // 10)
    width = sum(w0 if ch == "0" else w1 for ch in spec) + gap * (len(spec) + 1) + 20
    img = np.zeros((h + 40, width), np.uint8)
    x = gap + 10
    if touch:
        gap = 5
    for i, ch in enumerate(spec):
        if ch == "0":
            cv2.ellipse(
                img,
                (x + w0 // 2, 20 + h // 2),
                (w0 // 2 - t // 2, h // 2 - t // 2),
                0,
                0,
                360,
                255,
                t,
            )
            x += w0
        else:
            cv2.rectangle(img, (x, 20), (x + w1 - 1, 20 + h - 1), 255, -1)
            x += w1
        if touch and i < len(spec) - 1:
            y = 20 + h // 2 + (i % 2) * h // 5
            cv2.line(img, (x - t, y), (x + gap + t, y + 2), 255, max(3, t // 2))
        x += gap
    return img


def read_free(ink: U8, dark: bool = True, turns: int = 0) -> list[str]:
    image = np.rot90((255 - ink) if dark else ink, turns)
    page = Page(1, np.ascontiguousarray(image))
    seg = segment_page(page, None)
    return [f.value for f in assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))]


@pytest.mark.parametrize("text", ["1", "0", "10", "101", "0110", "1001101"])
def test_separate_shapes_read(text: str) -> None:
    assert read_free(draw(text)) == [text]


@pytest.mark.parametrize("text", ["10", "01", "100", "0101"])
def test_touching_digits_split(text: str) -> None:
    ink = draw(text, touch=True)
    n, _ = cv2.connectedComponents(ink)
    assert n - 1 == 1  # really one connected blob
    assert read_free(ink) == [text]


def test_a_band_of_specks_is_no_string() -> None:
    """Specks in a row (a grey scanner lid's edge binarises so) group like a string but are
    cut into far more segments than a number has: no field, and no time spent reading it."""
    ink = np.pad(draw("101"), ((0, 60), (0, 1300)))
    for k in range(90):
        cv2.rectangle(ink, (20 + 14 * k, 110), (27 + 14 * k, 122), 255, -1)
    seg = segment_page(Page(1, np.ascontiguousarray(255 - ink)), None)
    assert max(fp.box[1] for fp in seg.fields) < 100  # nothing planned down in the band
    assert [f.value for f in assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))] == [
        "101"
    ]
    # 40 specks: short enough to be a number, so read (the classifier says what it is)
    few = np.pad(draw("101"), ((0, 60), (0, 1300)))
    x = 20
    for k in range(40):
        cv2.rectangle(few, (x, 110), (x + 7, 122), 255, -1)
        x += 11 + 7 * (k % 3)  # uneven: not a printed dotted rule
    seg = segment_page(Page(1, np.ascontiguousarray(255 - few)), None)
    assert max(fp.box[1] for fp in seg.fields) >= 100
    # Evenly spaced, alike, standing clear: a dotted rule, removed as printed structure.
    dotted = np.pad(draw("101"), ((0, 60), (0, 1300)))
    for k in range(40):
        cv2.rectangle(dotted, (20 + 14 * k, 110), (27 + 14 * k, 122), 255, -1)
    seg = segment_page(Page(1, np.ascontiguousarray(255 - dotted)), None)
    assert max(fp.box[1] for fp in seg.fields) < 100


def lines(*texts: str) -> U8:
    rows = [draw(t) for t in texts]
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in rows])


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_page_turned_by_quarter_turns(turns: int) -> None:
    texts = ["1011", "0111", "0010"]
    got = read_free(lines(*texts), turns=turns)
    if turns == 1:  # a quarter turn either way is undone: it reads upright...
        assert got == texts
    else:  # ...or upside down, which a classifier blind to orientation cannot tell apart
        assert got == [t[::-1] for t in reversed(texts)]


def test_upside_down_reading_wins_when_it_scores_better() -> None:
    page = Page(1, np.ascontiguousarray(255 - lines("10", "110")))
    seg = segment_page(page, None)
    probs = ShapeClassifier().predict_proba(seg.crops)
    n = len(seg.crops) // 2
    upright = [f.value for f in assemble_page(seg, probs)]
    assert upright == ["10", "110"]
    probs[:n] = np.float32(1 / 11)  # the upright pieces now look like nothing
    assert [f.value for f in assemble_page(seg, probs)] == ["011", "01"]


def test_review_reasons_hold_when_the_page_reads_upside_down() -> None:
    """What was seen of a string's ink (a printed line through it) holds either way up."""
    ink = np.pad(lines("10", "110"), ((0, 0), (40, 160)))  # wider than high: a page
    ink[19:21, :] = 255  # a printed line along the first string's top
    seg = segment_page(Page(1, np.ascontiguousarray(255 - ink)), None)
    upright = {f.name: f.reasons for f in seg.fields}
    flipped = {f.name: f.reasons for f in seg.flipped}
    assert upright == {"free_1": [TOUCHES_PRINTED_LINES], "free_2": []} and flipped == upright


def test_a_stroke_beside_a_printed_line_is_marked() -> None:
    """A 1 standing a few pixels off a rule (what is left of a box's corner) is marked as
    beside a line; one well away is not."""
    ink = np.zeros((1200, 1000), np.uint8)
    cv2.line(ink, (50, 600), (950, 600), 255, 3)  # a printed rule across the page
    cv2.line(ink, (400, 530), (400, 592), 255, 6)  # a stroke standing just off it
    cv2.line(ink, (700, 200), (700, 262), 255, 6)  # a stroke well away
    seg = segment_page(Page(1, np.ascontiguousarray(255 - ink)), None)
    near = {f.box[0] // 100: f.beside_line for f in seg.fields}
    assert near == {3: True, 6: False}
    assert {f.box[0] // 100: f.beside_line for f in seg.flipped} == near


@pytest.mark.parametrize("dark", [True, False])
def test_polarity(dark: bool) -> None:
    assert read_free(draw("1010"), dark=dark) == ["1010"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_specks_ignored(seed: int) -> None:
    ink = draw("10")
    near = cv2.dilate(ink, np.ones((11, 11), np.uint8))
    rng = np.random.default_rng(seed)
    for _ in range(30):  # dust on the paper, not on the strokes
        x, y = int(rng.integers(0, ink.shape[1])), int(rng.integers(0, ink.shape[0]))
        if not near[y, x]:
            cv2.circle(ink, (x, y), int(rng.integers(1, 3)), 255, -1)
    segs, _ = components(ink, digit_height=60)
    assert len(segs) == 2
    assert read_free(ink) == ["10"]


def five(h: int, detached: bool) -> U8:
    """A 5 drawn with strokes; its top bar lifted off the body when ``detached``."""
    img = np.zeros((h + 40, h + 40), np.uint8)
    t = max(3, h // 10)
    x0, y0, w = 20, 20, int(0.55 * h)
    cv2.line(img, (x0 + 4 if detached else x0, y0), (x0 + w, y0), 255, t)  # bar
    top = y0 + (t + 3 if detached else 0)
    cv2.line(img, (x0, top), (x0, y0 + h // 2), 255, t)  # stem
    cv2.ellipse(
        img, (x0 + w // 2, y0 + int(0.72 * h)), (w // 2, int(0.25 * h)), 0, 200, 480, 255, t
    )
    return img


@pytest.mark.parametrize("h", [40, 70, 110])
def test_broken_five_rejoined(h: int) -> None:
    img = five(h, detached=True)
    n, _ = cv2.connectedComponents(img)
    assert n - 1 == 2  # bar and body are apart
    segs, _ = components(img, digit_height=h)
    assert len(segs) == 1
    assert segs[0].mask.shape[0] >= h - 2  # bar and body together


def test_a_lone_digit_broken_in_halves_is_one_piece() -> None:
    """Two half-height pieces alone in a field are one broken digit, not two short digits."""
    img = np.zeros((110, 100), np.uint8)
    cv2.ellipse(img, (50, 55), (25, 36), 0, 0, 360, 255, 5)
    img[53:57] = 0  # a pen lift across the middle
    assert cv2.connectedComponents(img)[0] - 1 == 2
    segs, href = components(img, digit_height=90)
    assert len(segs) == 1 and segs[0].mask.shape[0] >= 72
    assert href >= 0.6 * 90


def test_candidates_cover_spans_and_cap_width() -> None:
    segs, pieces, _ = plan(draw("1111"), digit_height=60)
    assert len(segs) == 4
    spans = {(p.start, p.end) for p in pieces}
    assert {(i, i + 1) for i in range(4)} <= spans
    assert all(p.end - p.start <= 3 for p in pieces)


@pytest.mark.parametrize(
    ("right", "spilled"),
    [
        (None, False),  # every digit inside the box
        (-1, True),  # the last ring lies past the box's right edge
        (-20, True),  # ... and the region's crop cuts it off
    ],
)
def test_writing_past_the_box_is_left_out_and_reported(right: int | None, spilled: bool) -> None:
    ink = draw("1010")
    h, w = ink.shape
    last = int(np.flatnonzero(ink.any(axis=0))[-1])
    box_right = w if right is None else last - 40  # the last ring's centre falls outside
    region = ink if right is None or right == -1 else ink[:, : last - 20]
    keep = (0, 10, box_right, h - 20)
    segs, _, found = plan(region, digit_height=60, keep=keep)
    assert found is spilled
    assert len(segs) == (4 if right is None else 3)


@pytest.mark.parametrize(
    ("in_other_field", "cut_off", "read", "reported"),
    [
        (False, False, 4, False),  # the digit past the box's end is read with the field, whole
        (False, True, 3, True),  # ... unless the region cuts it off (half a digit is not read)
        (True, False, 3, True),  # ... or it lies in another field's box: not ours to read, but
        # one number may run across the border (a table's cells), so a person checks
    ],
)
def test_writing_past_the_box_is_read_when_whole_and_nobody_elses(
    in_other_field: bool, cut_off: bool, read: int, reported: bool
) -> None:
    ink = draw("1010")
    h = ink.shape[0]
    last = int(np.flatnonzero(ink.any(axis=0))[-1])
    keep = (0, 10, last - 40, h - 20)
    region = ink[:, : last - 20] if cut_off else np.pad(ink, ((0, 0), (0, 30)))
    others = [(last - 50, 0, 80, h)] if in_other_field else []
    segs, _, spilled = plan(region, digit_height=60, keep=keep, avoid=others)
    assert spilled is reported  # a person checks what ran past the box unless read whole
    assert len(segs) == read


def test_a_string_running_on_into_the_next_field_sends_both_to_review() -> None:
    ink = np.pad(draw("1010"), ((0, 0), (0, 30)))
    h = ink.shape[0]
    cols = np.flatnonzero(ink.any(axis=0))
    last = int(cols[-1])
    border = last - 40  # the last ring's centre lies past the border, in the next field
    ours, theirs = (0, 10, border, h - 20), (border, 10, ink.shape[1] - border, h - 20)
    mine = plan(ink, digit_height=60, keep=ours, avoid=[theirs])
    assert len(mine.parts) == 3 and mine.spilled  # the ring is the neighbour's to read...
    other = plan(ink, digit_height=60, keep=theirs, avoid=[ours])
    assert len(other.parts) == 1 and other.spilled  # ...and it too is sent to review
    far = np.pad(draw("101"), ((0, 0), (0, 200)))
    far[10 : h - 10, -60:-40] = 255  # the neighbour's digit, well apart from our string
    end = int(np.flatnonzero(draw("101").any(axis=0))[-1])
    assert not plan(far, digit_height=60, keep=(0, 10, end + 60, h - 20),
                    avoid=[(end + 60, 10, 200, h - 20)]).spilled  # fmt: skip


@pytest.mark.parametrize(("away", "reported"), [(40, True), (100, False)])
def test_ink_apart_from_the_string_is_not_read_with_it(away: int, reported: bool) -> None:
    ink = np.pad(draw("101"), ((0, 0), (0, 160)))
    h, w = ink.shape
    end = w - 160
    ink[10 : h - 10, end + away : end + away + 10] = 255  # a bar level with the string
    keep = (0, 10, end, h - 20)
    segs, _, spilled = plan(ink, digit_height=60, keep=keep, avoid=[])
    assert len(segs) == 3  # too far from the last digit to continue the string...
    assert spilled is reported  # ...but close to the box: a person looks


def test_a_mark_above_the_box_is_not_a_spill() -> None:
    ink = np.pad(draw("101"), ((0, 0), (0, 60)))
    h, w = ink.shape
    ink[0:12, w - 40 :] = 255  # a stroke above the box's band, at the region's right edge
    keep = (0, 14, w - 60, h - 28)
    segs, _ = components(ink, digit_height=60)
    assert any(s.y == 0 for s in segs)  # it is ink, not dust...
    assert not plan(ink, digit_height=60, keep=keep).spilled  # ...but not writing past the end


def test_path_choice_prefers_the_whole_digit_over_its_parts() -> None:
    # Segments a, b: as two pieces they are weak guesses, together a confident 5.
    spans = [(0, 1), (1, 2), (0, 2)]
    probs = np.full((3, 11), 0.01, np.float32)
    probs[0, 7], probs[0, NOT_A_DIGIT] = 0.4, 0.5
    probs[1, 6] = 0.6
    probs[2, 5] = 0.9
    path = read_field(2, spans, probs).steps
    assert [(s.candidate, s.digit) for s in path] == [(2, 5)]


def test_path_choice_splits_when_parts_are_confident() -> None:
    spans = [(0, 1), (1, 2), (0, 2)]
    probs = np.full((3, 11), 0.001, np.float32)
    probs[0, 1], probs[1, 0] = 0.99, 0.99
    probs[2, NOT_A_DIGIT], probs[2, 8] = 0.7, 0.29
    assert [s.digit for s in read_field(2, spans, probs).steps] == [1, 0]


def test_path_choice_drops_noise() -> None:
    spans = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    probs = np.full((5, 11), 0.001, np.float32)
    probs[0, 4] = 0.98
    probs[1, NOT_A_DIGIT] = 0.98  # a stray mark between the digits
    probs[2, 2] = 0.98
    probs[3, NOT_A_DIGIT] = 0.9
    probs[4, NOT_A_DIGIT] = 0.9
    path = read_field(3, spans, probs).steps
    assert [s.digit for s in path if s.digit is not None] == [4, 2]


def test_length_confidence_doubts_a_sure_merge_that_splits_as_well() -> None:
    # One blob cut in two: whole it is a sure 9, cut it is a sure 9 and a sure 1 (the cut
    # costs LOG_CUT_PRIOR). The merge wins, but the field must not be sure of its length.
    spans = [(0, 1), (1, 2), (0, 2)]
    probs = np.full((3, 11), 1e-4, np.float32)
    probs[0, 9], probs[1, 1], probs[2, 9] = 0.999, 0.999, 0.999
    merged = read_field(2, spans, probs, cuts=[1])
    assert [s.digit for s in merged.steps] == [9]
    assert set(merged.length_scores) == {0, 1, 2}  # 0: both halves stray marks
    assert merged.length_confidence < 0.9
    # The cut half is no digit: the one reading left is sure of its length.
    probs[1, 1], probs[1, NOT_A_DIGIT] = 0.01, 0.98
    clear = read_field(2, spans, probs, cuts=[1])
    assert [s.digit for s in clear.steps] == [9]
    assert clear.length_confidence > 0.999


def test_read_field_scores_every_length_it_could_read() -> None:
    spans = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    probs = np.full((5, 11), 0.001, np.float32)
    probs[0, 4], probs[1, NOT_A_DIGIT], probs[2, 2] = 0.98, 0.98, 0.98
    probs[3, NOT_A_DIGIT] = probs[4, NOT_A_DIGIT] = 0.9
    reading = read_field(3, spans, probs)
    assert [s.digit for s in reading.steps] == [4, None, 2]
    best = max(reading.length_scores.values())
    assert reading.length_scores[2] == pytest.approx(best)
    assert set(reading.length_scores) == {0, 1, 2, 3}  # 3: the mark read as a digit


def test_string_confidence_doubts_a_reading_another_cut_nearly_matches() -> None:
    # A 5 touching a 1: cut early, the 5's tail hangs on the 1 and reads 7; cut late, 5 and 1.
    # Both are sure digit by digit and both read two digits, so only the string confidence sees
    # that the field reads "57" or "51" about equally well.
    spans = [(0, 1), (1, 3), (0, 2), (2, 3)]
    probs = np.full((4, 11), 1e-4, np.float32)
    probs[0, 5], probs[1, 7], probs[2, 5], probs[3, 1] = 0.999, 0.998, 0.999, 0.99
    reading = read_field(3, spans, probs, cuts=[1, 2])
    assert [s.digit for s in reading.steps] == [5, 7]
    assert reading.length_confidence > 0.99
    assert 0.4 < reading.string_confidence < 0.6
    assert set(reading.strings) >= {(5, 7), (5, 1)}
    assert reading.runners_up()[0] == (5, 1)  # for reading under a field's rules
    assert [(s.candidate, s.digit) for s in reading.path((5, 1))] == [(2, 5), (3, 1)]
    assert reading.confidence_of((5, 1)) == pytest.approx(1 - reading.string_confidence)
    # The late cut's 1 is a poor one: the early cut's reading is then sure.
    probs[3, 1], probs[3, NOT_A_DIGIT] = 0.3, 0.6
    assert read_field(3, spans, probs, cuts=[1, 2]).string_confidence > 0.99


def test_read_field_keeps_to_the_fields_length_rule() -> None:
    # The sure 9 + 1 split of one blob against the whole read as 9: unconstrained the merge
    # wins (see above); a field that must hold two digits reads the split, and is then sure of
    # its length, the one reading of an allowed length.
    spans = [(0, 1), (1, 2), (0, 2)]
    probs = np.full((3, 11), 1e-4, np.float32)
    probs[0, 9], probs[1, 1], probs[2, 9] = 0.999, 0.999, 0.999
    assert [s.digit for s in read_field(2, spans, probs, cuts=[1]).steps] == [9]
    two = read_field(2, spans, probs, cuts=[1], lengths=(2, 2))
    assert [s.digit for s in two.steps] == [9, 1]
    assert set(two.length_scores) == {2}
    assert two.length_confidence == pytest.approx(1.0)


def test_read_field_leaves_a_reading_that_plainly_breaks_the_length_rule() -> None:
    # Three sure, separate digits in a field for at most two: the writing breaks the rule
    # (the validator flags it), rather than a sure digit being read as a mark.
    spans = [(0, 1), (1, 2), (2, 3)]
    probs = np.full((3, 11), 1e-5, np.float32)
    probs[0, 3], probs[1, 1], probs[2, 6] = 0.9999, 0.9999, 0.9999
    reading = read_field(3, spans, probs, lengths=(0, 2))
    assert [s.digit for s in reading.steps] == [3, 1, 6]


def test_comb_path_reads_a_digit_in_an_inked_cell_the_field_needs() -> None:
    # Two cells; the second's ink reads a little more like a mark than a 7 (noise prior 0.5).
    spans = [(0, 1), (1, 2)]
    cells = [(0, 1), (1, 2)]
    probs = np.full((2, 11), 1e-3, np.float32)
    probs[0, 4] = 0.99
    probs[1, NOT_A_DIGIT], probs[1, 7] = 0.62, 0.28
    free = best_comb_path(cells, spans, probs)
    assert [s.digit for s in free] == [4, None]
    need = best_comb_path(cells, spans, probs, min_digits=2)
    assert [(s.digit, round(s.prob, 2)) for s in need] == [(4, 0.99), (7, 0.28)]
    # A cell whose ink is surely no digit stays a mark: the field is left short and flagged.
    probs[1, NOT_A_DIGIT], probs[1, 7] = 0.99999, 1e-6
    assert [s.digit for s in best_comb_path(cells, spans, probs, min_digits=2)] == [4, None]


@dataclass
class _Registration:
    """The fields of ``segmentation.registration.Registration`` the reader uses."""

    template: Template
    homography: npt.NDArray[np.float64]
    quality: float
    aligned: U8
    ink: U8


def comb_page(text: str, cells: int, spill: bool) -> tuple[Page, _Registration]:
    """A comb field on a blank 'aligned' page; the page is the template shifted by (30, 50)."""
    cw, h = 60, 80
    ink = np.zeros((300, 100 + cells * cw), np.uint8)
    for i, ch in enumerate(text):
        glyph = draw(ch, h=56, gap=0)
        ys, xs = np.nonzero(glyph)
        glyph = glyph[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        gx = 50 + i * cw + (cw - glyph.shape[1]) // 2 + (int(0.35 * cw) if spill and i == 0 else 0)
        sub = ink[110 : 110 + glyph.shape[0], gx : gx + glyph.shape[1]]
        np.maximum(sub, glyph, out=sub)
    spec = FieldSpec("acct", (50, 100, cells * cw, h), "comb", cells=cells)
    tpl = Template(
        "t", __import__("pathlib").Path("t.json"), 255 - ink, (ink.shape[1], 300), [spec]
    )
    hom = np.array([[1, 0, 30], [0, 1, 50], [0, 0, 1]], np.float64)
    page = np.full((400, ink.shape[1] + 60), 255, np.uint8)
    page[50:350, 30 : 30 + ink.shape[1]] = 255 - ink
    return Page(1, page), _Registration(tpl, hom, 1.0, 255 - ink, ink)


@pytest.mark.parametrize(("text", "spill"), [("1010", False), ("0110", True), ("00", False)])
def test_comb_one_digit_per_cell(text: str, spill: bool) -> None:
    page, reg = comb_page(text, cells=6, spill=spill)
    seg = segment_page(page, reg)  # type: ignore[arg-type]
    (f,) = assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))
    assert f.name == "acct" and f.value == text
    assert f.box == (80, 150, 360, 80)  # the template box moved by the homography
    for d in f.digits:  # digit boxes are page pixels: inside the field, crops as scanned
        assert d.box[0] >= 80 and d.box[0] + d.box[2] <= 80 + 360 + 25
        assert d.crop is not None and d.crop.shape == (d.box[3], d.box[2])
        assert d.crop.min() < 128  # dark ink in the scanned crop
        assert len(d.alternatives) == 3 and d.alternatives[0][0] == d.value
    assert 0 < f.confidence <= 1


def test_homography_box_maps_corners() -> None:
    hom = np.array([[2, 0, 10], [0, 2, 20], [0, 0, 1]], np.float64)
    assert homography_box(hom, (5, 5, 10, 4)) == (20, 30, 20, 8)


def test_one_classifier_batch_per_page() -> None:
    page = Page(1, 255 - draw("10 01".replace(" ", ""), touch=True))
    seg = segment_page(page, None)
    assert seg.crops.dtype == np.float32 and seg.crops.shape[1:] == (28, 28)
    plans = seg.fields + seg.flipped  # template-free: upright and upside-down readings
    assert sorted(i for f in plans for i in f.crop_index) == list(range(len(seg.crops)))
    with pytest.raises(ValueError):
        assemble_page(seg, np.zeros((len(seg.crops) + 1, 11), np.float32))


@pytest.mark.parametrize("stub", [30, 76])
def test_a_comb_digit_over_a_border_is_cut_only_when_two(stub: int) -> None:
    """A 0 whose side lay on a cell border keeps a short stub across it (what is left where its
    stroke and the border coincided): it stays whole, in its own cell. A tall stroke joined
    across the border is a 1 touching the 0: cut there, one digit per cell."""
    cw, h = 90, 80
    ink = np.zeros((h + 20, 3 * cw), np.uint8)
    cv2.ellipse(ink, (2 * cw + 40, 10 + h // 2), (36, h // 2 - 4), 0, 0, 360, 255, 6)
    top = 10 + (h - stub) // 2
    ink[top : top + stub, 2 * cw - 14 : 2 * cw - 8] = 255  # a stroke left of the border...
    ink[10 + h // 2 - 3 : 10 + h // 2 + 3, 2 * cw - 14 : 2 * cw + 8] = 255  # ...joined to the 0
    parts, pieces, _ = plan(ink, digit_height=h, cells=3, field=(0, 3 * cw))
    assert len(components(ink, h)[0]) == 1
    assert {p.cell for p in pieces} == ({2} if stub < 0.6 * h else {1, 2})
    assert len(parts) == (1 if stub < 0.6 * h else 2)


def test_comb_stray_mark_in_a_cell_is_dropped() -> None:
    page, reg = comb_page("101", cells=5, spill=False)
    # A short stroke beside the ring in cell 2, apart from it (too big for a speck).
    cv2.line(reg.ink, (160, 112), (168, 123), 255, 4)
    seg = segment_page(page, reg)  # type: ignore[arg-type]
    assert seg.fields[0].n_segments == 4  # the stroke is a segment of its own
    seg = segment_page(page, reg)  # type: ignore[arg-type]
    (f,) = assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))
    assert f.value == "101"


@pytest.fixture(scope="module")
def recognizer() -> object:
    from digitize.errors import DigitizeError
    from model.inference import get_recognizer

    try:
        return get_recognizer()
    except DigitizeError as exc:
        pytest.skip(f"no shipped model: {exc}")


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.mark.parametrize(("layout", "seed"), [("survey", 3), ("claim", 4)])
@pytest.mark.slow
def test_scanned_form_end_to_end(
    recognizer: object, tmp_path: object, layout: str, seed: int
) -> None:
    """A generated, scanned form with MNIST test digits read with the shipped model."""
    from pathlib import Path

    from model.training import synthetic
    from model.training.data import load_sample
    from segmentation.registration import identify
    from segmentation.templates import load_templates

    images, labels = load_sample()
    sp = synthetic.make_page(layout, synthetic.DigitSource(images, labels), seed, strength=0.5)
    templates = load_templates(synthetic.write_templates(Path(str(tmp_path)), [layout]))
    page = Page(1, sp.image)
    reg = identify(page, templates)
    assert reg is not None
    seg = segment_page(page, reg)
    fields = assemble_page(seg, recognizer.predict_proba(seg.crops))  # type: ignore[attr-defined]
    assert [f.name for f in fields] == list(sp.values)
    exact = [f for f in fields if f.value == sp.values[f.name]]
    assert len(exact) >= 0.75 * len(fields)
    for f in exact:  # digit boxes land on the digits of the scan, in page pixels
        truth = sp.digit_boxes[f.name]
        assert all(_iou(d.box, t) > 0.5 for d, t in zip(f.digits, truth, strict=True))
        assert _iou(f.box, sp.field_boxes[f.name]) > 0.6
        spec = next(s for s in templates[0].fields if s.name == f.name)
        assert f.image is not None and f.image.shape == (spec.box[3], spec.box[2])


@pytest.mark.parametrize("turns", [1, 2])
def test_review_pictures_are_upright_on_a_turned_scan(
    recognizer: object, tmp_path: object, turns: int
) -> None:
    """Fields and digit crops for people are cut from the aligned page, not the scan as fed."""
    from pathlib import Path

    from model.training import synthetic
    from model.training.data import load_sample
    from model.training.scanner import ScanEffects
    from segmentation.normalize import to_mnist
    from segmentation.registration import identify
    from segmentation.templates import load_templates

    images, labels = load_sample()
    fx = ScanEffects(quarter_turns=turns, skew_deg=2.0)
    sp = synthetic.make_page("claim", synthetic.DigitSource(images, labels), 7, effects=fx)
    templates = load_templates(synthetic.write_templates(Path(str(tmp_path)), ["claim"]))
    page = Page(1, sp.image)
    reg = identify(page, templates)
    assert reg is not None
    fields = assemble_page(
        (seg := segment_page(page, reg)),
        recognizer.predict_proba(seg.crops),  # type: ignore[attr-defined]
    )
    digits = [d for f in fields for d in f.digits if d.crop is not None and d.crop.size]
    assert len(digits) >= 20
    for f in fields:  # a field picture is as wide as the form's box, not as tall
        assert f.image is not None and f.image.shape[1] > f.image.shape[0]
    as_is = np.stack([to_mnist(255 - d.crop) for d in digits])  # type: ignore[operator]
    turned = as_is[:, ::-1, ::-1]
    values = np.array([d.value for d in digits])
    read = recognizer.predict_proba  # type: ignore[attr-defined]
    upright = float((read(as_is).argmax(1) == values).mean())
    assert upright >= 0.9
    assert upright > float((read(turned).argmax(1) == values).mean())


def test_a_free_page_gives_its_numbers_not_its_printed_captions(recognizer: object) -> None:
    """'Meter readings' and 'Reading 1:' read as unsure digits; only the handwriting comes back."""
    from model.training import synthetic
    from model.training.data import load_sample

    images, labels = load_sample()
    sp = synthetic.make_free_page(synthetic.DigitSource(images, labels), seed=5, strength=0.5)
    seg = segment_page(Page(1, sp.image), None)
    fields = assemble_page(seg, recognizer.predict_proba(seg.crops))  # type: ignore[attr-defined]
    truth = list(sp.field_boxes.values())
    found = [f for f in fields if any(_iou(f.box, b) > 0.3 for b in truth)]
    assert len(found) == len(truth)
    assert len(fields) - len(found) <= 2  # at most a speck or two, never the five captions


def test_a_number_in_a_comb_is_read_a_digit_a_cell_either_way_up() -> None:
    """Template-free: a string written in a comb of ticks is planned on the comb's cells, and
    the same cells, mirrored, serve its upside-down reading."""
    ink = np.zeros((900, 1100), np.uint8)
    cv2.line(ink, (100, 400), (100 + 6 * 70, 400), 255, 3)
    for i in range(7):
        cv2.line(ink, (100 + 70 * i, 400), (100 + 70 * i, 378), 255, 3)
    for i, ch in enumerate("10101"):  # reads alike either way up: the shapes have no top
        shape = draw(ch, h=50)[20:70]
        shape = shape[:, np.flatnonzero(shape.any(axis=0))]
        x = 100 + 70 * i + (70 - shape.shape[1]) // 2
        ink[330:380, x : x + shape.shape[1]] |= shape
    for turns in (0, 2):
        page = Page(1, np.ascontiguousarray(np.rot90(255 - ink, turns)))
        seg = segment_page(page, None)
        (comb,) = [fp for fp in seg.fields if fp.cells]
        assert comb.cells is not None and len(comb.cells) == 5  # a range of segments a cell
        (turned,) = [fp for fp in seg.flipped if fp.name == comb.name]
        n = comb.n_segments
        assert turned.cells == [(n - j, n - i) for i, j in reversed(comb.cells)]
        values = [f.value for f in assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))]
        assert values == ["10101"]


@pytest.mark.parametrize("turns", [0, 1, 3])
def test_a_comb_on_a_page_turned_sideways_is_found_the_right_way_round(turns: int) -> None:
    """A page fed a quarter turn is read turned upright, and its printed structure is looked
    for after the turn: a half-height comb's dividers rise from its floor across the writing,
    as the finders expect, and are not read as 1s between the digits (they were: 000 -> 01010)."""
    ink = np.zeros((1100, 900), np.uint8)
    texts = ["0000", "000", "00000", "0000"]
    for j, text in enumerate(texts):
        row, x0, cw = 200 + 220 * j, 200, 80
        cv2.rectangle(ink, (x0, row - 80), (x0 + len(text) * cw, row), 255, 3)
        for i in range(1, len(text)):
            cv2.line(ink, (x0 + cw * i, row), (x0 + cw * i, row - 40), 255, 3)
        for i, ch in enumerate(text):
            shape = draw(ch, h=50)[20:70]
            shape = shape[:, np.flatnonzero(shape.any(axis=0))]
            x = x0 + cw * i + (cw - shape.shape[1]) // 2
            ink[row - 65 : row - 15, x : x + shape.shape[1]] |= shape
    page = Page(1, np.ascontiguousarray(np.rot90(255 - ink, turns)))
    seg = segment_page(page, None)
    values = sorted(f.value for f in assemble_page(seg, ShapeClassifier().predict_proba(seg.crops)))
    assert values == sorted(texts)


@pytest.mark.parametrize("grey", [215, 120], ids=["faint-table", "dark-table"])
def test_numbers_either_side_of_a_tables_column_line_stay_apart(grey: int) -> None:
    """A table ruled in light grey binarises to nothing, yet its column line parts the numbers
    written close to it on either side (they had read as one: 101 | 010 -> 101010)."""
    img = np.full((1400, 1000), 250, np.uint8)
    for y in (300, 420, 540):
        cv2.line(img, (100, y), (900, y), grey, 2)
    for x in (100, 500, 900):
        cv2.line(img, (x, 300), (x, 540), grey, 2)
    for row, pair in enumerate((("101", "010"), ("0110", "00"))):
        y = 310 + 120 * row
        for text, left in zip(pair, (True, False), strict=True):
            ink = draw(text, h=60)
            cols = np.flatnonzero(ink.any(axis=0))
            ink = ink[:, cols[0] : cols[-1] + 1]
            x = 500 - 14 - ink.shape[1] if left else 514
            img[y : y + ink.shape[0], x : x + ink.shape[1]][ink > 0] = 30
    seg = segment_page(Page(1, img), None)
    values = [f.value for f in assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))]
    assert sorted(values) == sorted(["101", "010", "0110", "00"])


def test_a_speck_the_classifier_calls_a_sure_1_is_a_sure_stray_mark() -> None:
    # A speck beside a digit: enlarged to a digit's size it reads as a sure 1, but its size
    # (a harsh shape prior, a lenient noise prior) says stray mark. The field's confidence
    # weighs the speck by both, not by the classifier's "not a digit" alone.
    spans = [(0, 1), (1, 2)]
    probs = np.full((2, 11), 1e-4, np.float32)
    probs[0, 5] = 0.999
    probs[1, 1], probs[1, NOT_A_DIGIT] = 0.98, 0.01
    speck = read_field(2, spans, probs, priors=[0.0, -30.0], noise=[0.0, np.log(0.5)])
    assert [s.digit for s in speck.steps] == [5, None]
    assert speck.steps[1].prob > 0.999
    # A mild shape penalty: the mark is still dropped, but the field is not sure of it.
    doubt = read_field(2, spans, probs, priors=[0.0, -6.0], noise=[0.0, np.log(0.5)])
    assert doubt.steps[1].digit is None and doubt.steps[1].prob < 0.8


@pytest.mark.parametrize("column", [False, True], ids=["open", "column-line"])
def test_two_numbers_close_on_a_line_go_to_review_unless_a_line_parts_them(column: bool) -> None:
    """Two strings kept apart (their heights unlike) though close on a line may be one number
    read in two: both go to review. A printed column line between them says they are two."""
    img = np.full((900, 1200), 250, np.uint8)
    x, ends = 200, []
    for text, height in (("0110", 72), ("00", 28)):
        ink = draw(text, h=height)
        cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
        ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        y = 460 - ink.shape[0]
        img[y:460, x : x + ink.shape[1]][ink > 0] = 30
        ends.append(x + ink.shape[1])
        x += ink.shape[1] + 36
    if column:
        cv2.line(img, (ends[0] + 18, 200), (ends[0] + 18, 700), 30, 3)
    seg = segment_page(Page(1, img), None)
    fields = assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))
    assert sorted(f.value for f in fields) == ["00", "0110"]
    assert all((INK_BESIDE in f.reasons) is not column for f in fields)


@pytest.mark.parametrize("sideways", [False, True], ids=["upright", "sideways"])
@pytest.mark.parametrize("comb", [True, False], ids=["comb", "box"])
@pytest.mark.parametrize("mark", [(40, 24), (15, 15)], ids=["piece-of-a-digit", "speck"])
def test_a_mark_left_unread_between_digits_sends_the_field_to_review(
    comb: bool, mark: tuple[int, int], sideways: bool
) -> None:
    """A 7 written across two cells leaves its bar in one, read as a stray mark, and the
    number a digit short at full confidence: ink that big between the digits goes to review;
    a speck does not. On a page fed sideways (its boxes lying down) the same."""
    boxes = [(0, 0, 40, 60), (60, 10, *mark), (120, 0, 40, 60)]
    if sideways:
        boxes = [(y, x, h, w) for x, y, w, h in boxes]
    probs = np.full((3, 11), 1e-6, np.float32)
    probs[0, 5] = probs[2, 2] = 1.0
    probs[1, NOT_A_DIGIT] = 1.0
    plan = FieldPlan(
        "account",
        (0, 0, 160, 60),
        None,
        3,
        [(0, 1), (1, 2), (2, 3)],
        [0, 1, 2],
        boxes,
        cells=[(0, 1), (1, 2), (2, 3)] if comb else None,
        priors=[0.0, 0.0, 0.0],
        noise=[np.log(0.5)] * 3,
    )
    f = assemble_field(plan, probs, np.full((60, 160), 255, np.uint8))
    assert f.value == "52"
    assert (INK_BESIDE in f.reasons) is (mark == (40, 24))


def test_short_strings_are_read_upside_down_only_when_the_way_up_needs_them(
    recognizer: object,
) -> None:
    """The pipeline classifies the crops of ``first_rows`` first; ``assemble_page`` asks for
    the short strings' upside-down crops only on a page that may turn (here: one fed upside
    down), and reads the same fields either way."""
    from model.training import synthetic
    from model.training.data import load_sample

    images, labels = load_sample()
    sp = synthetic.make_free_page(synthetic.DigitSource(images, labels), seed=1, strength=0.5)
    read = recognizer.predict_proba  # type: ignore[attr-defined]
    for turns in (0, 2):
        seg = segment_page(Page(1, np.ascontiguousarray(np.rot90(sp.image, turns))), None)
        every = assemble_page(seg, read(seg.crops))
        first = seg.first_rows()
        assert len(first) < len(seg.crops)
        probs = np.full((len(seg.crops), 11), np.nan, np.float32)
        probs[first] = read(seg.crops[first])
        asked: list[int] = []

        def more(
            rows: npt.NDArray[np.intp],
            crops: npt.NDArray[np.float32] = seg.crops,
            log: list[int] = asked,
        ) -> npt.NDArray[np.float32]:
            log.extend(rows.tolist())
            return read(crops[rows])  # type: ignore[no-any-return]

        lazy = assemble_page(seg, probs, more)
        assert [(f.value, f.confidence, f.box, f.reasons) for f in lazy] == [
            (f.value, f.confidence, f.box, f.reasons) for f in every
        ]
        assert bool(asked) is (turns == 2)
        if turns == 2:
            with pytest.raises(ValueError, match="left NaN"):
                assemble_page(seg, probs)


@pytest.mark.parametrize(
    ("where", "size", "flagged"),
    [("middle", 1200, False), ("edge", 1200, True), ("edge", 600, False)],
    ids=["page-middle", "page-edge", "photo-edge"],
)
def test_a_number_at_the_scans_edge_goes_to_review_on_a_page(
    where: str, size: int, flagged: bool
) -> None:
    """A number touching the edge of a page-sized scan may be cut off by it, or be the scanner's
    edge read as digits: a person looks. A photo of one number is cropped tight, so there it is
    no sign of anything."""
    from segmentation.free_filters import AT_SCAN_EDGE

    img = np.full((size * 3 // 4, size), 250, np.uint8)
    ink = draw("0110", h=70)
    cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    y = 0 if where == "edge" else img.shape[0] // 2
    img[y : y + ink.shape[0], 100 : 100 + ink.shape[1]][ink > 0] = 30
    seg = segment_page(Page(1, img), None)
    fields = assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))
    assert [f.value for f in fields] == ["0110"]
    assert (AT_SCAN_EDGE in fields[0].reasons) is flagged


@pytest.mark.parametrize(
    ("text", "size", "reason", "flagged"),
    [
        ("0", 1200, "single_digit", True),
        ("00", 1200, "single_digit", False),
        ("0", 600, "single_digit", False),
        ("111", 1200, "only_ones", True),
        ("101", 1200, "only_ones", False),
        ("11", 600, "only_ones", False),
    ],
    ids=[
        "page-one-digit",
        "page-two-digits",
        "photo-one-digit",
        "page-only-ones",
        "page-ones-and-a-zero",
        "photo-only-ones",
    ],
)
def test_a_lone_digit_or_a_number_of_1s_found_on_a_page_goes_to_review(
    text: str, size: int, reason: str, flagged: bool
) -> None:
    """One digit alone on a page may be the piece of a longer number, or a mark; dividers, a
    line's pieces and hatching read as sure 1s: a person looks. A longer number, one with other
    digits in it, or a photo of one number is what it is."""
    from segmentation.free_filters import ONLY_ONES, SINGLE_DIGIT

    assert {SINGLE_DIGIT, ONLY_ONES} == {"single_digit", "only_ones"}
    img = np.full((size * 3 // 4, size), 250, np.uint8)
    ink = draw(text, h=70)
    img[200 : 200 + ink.shape[0], 100 : 100 + ink.shape[1]][ink > 0] = 30
    seg = segment_page(Page(1, img), None)
    fields = assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))
    assert [f.value for f in fields] == [text]
    assert (reason in fields[0].reasons) is flagged


def test_digits_far_apart_in_a_faint_box_are_one_number() -> None:
    """A field's box printed in light grey binarises to nothing, yet it is a drawn box: what is
    written in it, its digits far apart, is one number (its faint roof and floor count as
    well as its sides; the digits had read as three numbers)."""
    img = np.full((1400, 1000), 250, np.uint8)
    cv2.rectangle(img, (200, 300), (800, 400), 215, 2)
    for ch, x in (("1", 240), ("0", 460), ("1", 700)):
        ink = draw(ch, h=60)
        cols, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
        ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        img[320 : 320 + ink.shape[0], x : x + ink.shape[1]][ink > 0] = 30
    seg = segment_page(Page(1, img), None)
    values = [f.value for f in assemble_page(seg, ShapeClassifier().predict_proba(seg.crops))]
    assert values == ["101"]
