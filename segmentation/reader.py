"""Read a page: fields (template mode) or digit strings (template-free) into digits with boxes.

Two calls around ONE classifier call per page::

    seg = segment_page(page, registration)          # every candidate piece of every field
    probs = classifier.predict_proba(seg.crops)     # (N, 11)
    fields = assemble_page(seg, probs)              # best path per field, boxes in page pixels

Template mode works on ``registration.ink`` (aligned, printed form removed) inside each field box
(comb cells: at most one digit per cell); boxes found there are mapped back to the page through
the registration's homography. Template-free mode finds the digit strings of the whole page
(``freeform``), turns the page a quarter turn when its text runs vertically, and reads every
string both upright and upside down from the same crops, keeping the likelier reading.
Segmentation is recognition-driven (``oversegment`` proposes, ``assemble`` decides).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import NOT_A_DIGIT, Box, DigitResult, FieldResult, Page
from segmentation.align import skew_angle
from segmentation.assemble import Step, best_comb_path, marks_inside, read_field, top3
from segmentation.binarize import dark_ink, darkness_bytes, threshold_darkness
from segmentation.comb_cells import comb_field
from segmentation.constrain import constrains
from segmentation.faint_rules import faint_rules
from segmentation.field_plans import FieldPlan, PageSegmentation, upside_down
from segmentation.free_filters import (
    AT_SCAN_EDGE,
    INK_BESIDE,
    LINE_PIECE_REACH,
    ONLY_ONES,
    SINGLE_DIGIT,
    all_ones,
    at_scan_edge,
    crowded,
    handwriting_only,
    ink_beside,
)
from segmentation.freeform import find_strings, touches, vertical_text
from segmentation.imageops import Components, components_with_stats, fit
from segmentation.oversegment import Piece, Segment, cut_nodes, plan
from segmentation.printed_rules import split_rules
from segmentation.review_flags import rule_reasons
from segmentation.strokes import mnist_crops
from segmentation.way_up import print_lean, settle_way_up

Mask = npt.NDArray[np.bool_]

if TYPE_CHECKING:
    from segmentation.registration import Registration
    from segmentation.templates import FieldSpec

#: Free mode works on pages no larger than this (longest side, pixels); boxes are scaled back.
#: Smaller sizes were faster but read fewer strings (docs/experiments.md).
FREE_MAX_SIDE = 1800
#: A template-free "string" cut into more segments than this is no number but a band of marks:
#: the specks a grey scanner lid leaves along the paper's edge, hatching, a dotted line.
#: Handwritten strings stay far below it; such bands are slow to classify and read
#: (docs/experiments.md).
MAX_STRING_SEGMENTS = 60
#: Review reason: handwriting ran past the field's box (read with the field where it is whole
#: and continues the string; a person checks either way).
INK_OUTSIDE_BOX = "ink_outside_box"
#: Template-free: the ink touches or crosses a printed rule (a digit may be cut): a person looks.
TOUCHES_PRINTED_LINES = "touches_printed_lines"
#: Template-free: pages turned 0.3-6° (two rules agreeing within a degree: a photo's perspective
#: turns a page's rules by different angles) are turned upright before reading. On an image
#: under ``DESKEW_PAGE_SIDE`` pixels (a photo of one number) the long lines are digit strokes:
#: four must agree within half a degree.
MIN_DESKEW_DEGREES, MAX_DESKEW_DEGREES, DESKEW_MIN_LINES, DESKEW_AGREE = 0.3, 6.0, 2, 1.0
DESKEW_PAGE_SIDE = 1000


def _page_sized(shape: tuple[int, ...]) -> bool:
    """A scan of a page, not a photo of one number: its long side ``DESKEW_PAGE_SIDE`` or more
    (the working image's too, which is shrunk to ``FREE_MAX_SIDE`` at most)."""
    return max(shape[:2]) >= DESKEW_PAGE_SIDE


SMALL_DESKEW_MIN_LINES, SMALL_DESKEW_AGREE = 4, 0.5
#: Template-free: a string under this share of the typical height, touching a rule, is a sliver.
DEBRIS_HEIGHT = 0.5


def _clip(box: Box, width: int, height: int) -> Box:
    x0, y0 = max(0, box[0]), max(0, box[1])
    x1, y1 = min(width, box[0] + box[2]), min(height, box[1] + box[3])
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def homography_box(h: npt.NDArray[np.floating], box: Box) -> Box:
    """The page-pixel bounding box of a template box mapped through homography ``h``."""
    x, y, w, hh = box
    pts = np.array([[[x, y]], [[x + w, y]], [[x + w, y + hh]], [[x, y + hh]]], np.float32)
    q = cv2.perspectiveTransform(pts, np.asarray(h, np.float64)).reshape(-1, 2)
    x0, y0 = np.floor(q.min(axis=0))
    x1, y1 = np.ceil(q.max(axis=0))
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _crop(image: npt.NDArray[np.uint8], box: Box) -> npt.NDArray[np.uint8]:
    x, y, w, h = box
    return np.ascontiguousarray(image[y : y + h, x : x + w])


def _add_field(
    plans: list[FieldPlan],
    inks: list[Mask],
    *,
    name: str,
    page_box: Box,
    spec: FieldSpec | None,
    segments: list[Segment],
    pieces: list[Piece],
    to_page: Callable[[Box], Box],
    picture: npt.NDArray[np.uint8],
    digit_height: float = 0.0,
    upright: tuple[npt.NDArray[np.uint8], int, int] | None = None,
    reasons: list[str] | None = None,
    beside_line: bool = False,
    crowded_by: frozenset[str] = frozenset(),
) -> None:
    spans, idx, boxes, upright_boxes = [], [], [], []
    for p in pieces:
        spans.append((p.start, p.end))
        idx.append(len(inks))
        inks.append(p.ink)
        boxes.append(to_page(p.box))
        if upright is not None:
            upright_boxes.append((p.box[0] + upright[1], p.box[1] + upright[2], p.box[2], p.box[3]))
    cells = None
    if pieces and pieces[0].cell is not None:
        ranges: dict[int, tuple[int, int]] = {}
        for p in pieces:
            assert p.cell is not None
            lo, hi = ranges.get(p.cell, (p.start, p.end))
            ranges[p.cell] = (min(lo, p.start), max(hi, p.end))
        cells = sorted(ranges.values())
    plans.append(
        FieldPlan(
            name,
            page_box,
            spec,
            len(segments),
            spans,
            idx,
            boxes,
            picture,
            cells,
            [p.prior for p in pieces],
            cut_nodes(segments),
            [p.noise for p in pieces],
            digit_height,
            upright[0] if upright is not None else None,
            upright_boxes,
            reasons or [],
            beside_line,
            crowded_by,
            [p.separator for p in pieces],
        )
    )


def _template_fields(
    page: Page, reg: Registration, plans: list[FieldPlan], inks: list[Mask]
) -> None:
    ink = reg.ink
    th, tw = ink.shape[:2]
    for spec in reg.template.fields:
        bx, by, bw, bh = (int(v) for v in spec.box)
        cells = spec.cells if spec.kind == "comb" and spec.cells else None
        px, py = spec.margins()
        region_box = _clip((bx - px, by - py, bw + 2 * px, bh + 2 * py), tw, th)
        rx, ry = region_box[0], region_box[1]
        region = _crop(ink, region_box)
        # Ink counts when its centre is in the box, a little grown: digits cross the borders.
        gx, gy = max(4, round(0.02 * bw)), round(0.15 * bh)
        keep = (bx - rx - gx, by - ry - gy, bw + 2 * gx, bh + 2 * gy)
        others = [
            (int(o.box[0]) - rx, int(o.box[1]) - ry, int(o.box[2]), int(o.box[3]))
            for o in reg.template.fields
            if o is not spec
        ]
        segs, pieces, spilled = plan(
            region,
            digit_height=0.7 * bh,
            cells=cells,
            keep=keep,
            field=(bx - rx, bw),
            avoid=others,
        )

        def to_page(b: Box, rx: int = rx, ry: int = ry) -> Box:
            pb = homography_box(reg.homography, (b[0] + rx, b[1] + ry, b[2], b[3]))
            return _clip(pb, page.width, page.height)

        page_box = _clip(homography_box(reg.homography, (bx, by, bw, bh)), page.width, page.height)
        _add_field(
            plans,
            inks,
            name=spec.name,
            page_box=page_box,
            spec=spec,
            segments=segs,
            pieces=pieces,
            to_page=to_page,
            # Review pictures come from the aligned page: upright whichever way the scan was fed.
            picture=_crop(reg.aligned, region_box if spilled else (bx, by, bw, bh)),
            upright=(reg.aligned, rx, ry),
            reasons=[INK_OUTSIDE_BOX] if spilled else [],
        )


def _free_fields(page: Page, plans: list[FieldPlan], inks: list[Mask]) -> float:
    """Plans and inks of every string of the page; returns its print's ``print_lean``."""
    image, scale = fit(page.image, FREE_MAX_SIDE)
    dark = dark_ink(image)  # the page's polarity, which turning it a few degrees keeps
    # The darkness is kept: a faint printed line is looked for in it (``faint_rules``).
    darkness = darkness_bytes(image, polarity=dark)
    raw = threshold_darkness(darkness)
    page_sized = _page_sized(raw.shape)
    unskew: npt.NDArray[np.float64] | None = None  # working image → before deskewing
    angle = skew_angle(
        raw > 0,
        min_agreeing=DESKEW_MIN_LINES if page_sized else SMALL_DESKEW_MIN_LINES,
        agree_degrees=DESKEW_AGREE if page_sized else SMALL_DESKEW_AGREE,
    )
    # Printed lines turned back along the axes, where the openings find them.
    if MIN_DESKEW_DEGREES <= abs(angle) <= MAX_DESKEW_DEGREES:
        hw = (image.shape[1] / 2, image.shape[0] / 2)
        turn = cv2.getRotationMatrix2D(hw, angle, 1.0)
        image = cv2.warpAffine(
            image, turn, image.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        unskew = cv2.invertAffineTransform(turn)
        darkness = darkness_bytes(image, polarity=dark)
        raw = threshold_darkness(darkness)
    faint = faint_rules(darkness, raw) if page_sized else None
    # Which way the lines run, judged on all the ink (on 120 corpus pages, as on the ink without
    # the rules): the rules are then split the right way round, once. Combs, ticks and a box's
    # inner sides are looked for across the writing, and would be missed along it.
    marks: Components | None = components_with_stats(raw)  # once, while the page stays as is
    turned = vertical_text(raw, marks)
    sh = image.shape[0]
    if turned:  # read the page a quarter turn clockwise; boxes are turned back below
        image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
        raw = cv2.rotate(raw, cv2.ROTATE_90_CLOCKWISE)
        marks = None
        if faint is not None:
            faint = faint.quarter_turned()
    ink, rules = split_rules(raw, photo=not page_sized, faint=faint and faint[:2], marks=marks)
    # Faint lines are structure even where they left no ink to remove: a column line parts
    # the cells' numbers, and a faint box's four sides make it a drawn box.
    walls = rules if faint is None else rules | faint.vertical_lines | faint.horizontal_lines
    strings = find_strings(image, ink=ink, rules=walls)
    lean = print_lean([(s.box, s.ink) for s in strings])
    tall = float(np.median([s.digit_height for s in strings])) if strings else 0.0
    close = crowded([s.box for s in strings], [s.digit_height for s in strings], walls)
    for k, s in enumerate(strings, start=1):
        sx, sy = s.box[0], s.box[1]
        on_rules = touches(s, rules)
        if on_rules and s.box[3] < DEBRIS_HEIGHT * tall:
            continue  # a sliver of a line or a digit cut by a rule's removal, not a number
        cells, field = comb_field(s.cells)  # written in a comb: one digit a cell
        segs, pieces, _ = plan(s.ink, digit_height=s.digit_height, cells=cells, field=field)
        if len(segs) > MAX_STRING_SEGMENTS:
            continue

        def to_page(b: Box, sx: int = sx, sy: int = sy) -> Box:
            bx, by, bw, bh = b[0] + sx, b[1] + sy, b[2], b[3]
            if turned:
                bx, by, bw, bh = by, sh - bx - bw, bh, bw
            if unskew is not None:
                corners = np.array(
                    [[bx, by, 1], [bx + bw, by, 1], [bx, by + bh, 1], [bx + bw, by + bh, 1]], float
                )
                # The corners turned back by numpy (its product), their box in plain floats (the
                # same minima, maxima and ceilings as numpy's, at a fifth of the cost a box).
                (ax, ay), (bx_, by_), (cx, cy), (dx, dy) = (corners @ unskew.T).tolist()
                x_lo, x_hi = min(ax, bx_, cx, dx), max(ax, bx_, cx, dx)
                y_lo, y_hi = min(ay, by_, cy, dy), max(ay, by_, cy, dy)
                bx, by = int(x_lo), int(y_lo)
                bw, bh = math.ceil(x_hi - x_lo), math.ceil(y_hi - y_lo)
            x0, y0 = bx / scale, by / scale
            x1, y1 = (bx + bw) / scale, (by + bh) / scale
            box = (int(x0), int(y0), math.ceil(x1) - int(x0), math.ceil(y1) - int(y0))
            return _clip(box, page.width, page.height)

        page_box = to_page((0, 0, s.box[2], s.box[3]))
        _add_field(
            plans,
            inks,
            name=f"free_{k}",
            page_box=page_box,
            spec=None,
            segments=segs,
            pieces=pieces,
            to_page=to_page,
            picture=_crop(page.image, page_box),
            digit_height=s.digit_height,
            reasons=[TOUCHES_PRINTED_LINES] * on_rules
            + [INK_OUTSIDE_BOX] * s.parted
            + [INK_BESIDE] * ink_beside(s.box, s.ink, ink, s.digit_height),
            beside_line=on_rules
            or touches(s, rules, max(2, round(LINE_PIECE_REACH * s.digit_height))),
            crowded_by=frozenset(f"free_{i + 1}" for i in close[k - 1]),
        )
    return lean


def segment_page(page: Page, registration: Registration | None) -> PageSegmentation:
    """All candidate pieces of a page: template fields, or every digit string when template-free."""
    plans: list[FieldPlan] = []
    inks: list[Mask] = []  # every candidate's ink, in crop order
    flipped: list[FieldPlan] = []
    lean = 0.0
    if registration is not None:
        _template_fields(page, registration, plans, inks)
    else:
        lean = _free_fields(page, plans, inks)
        # Which way up is decided by recognition: the same pieces turned half round.
        flipped = upside_down(plans, len(inks))
    arr = mnist_crops(inks)
    if registration is None:
        arr = np.concatenate([arr, arr[:, ::-1, ::-1]])
    return PageSegmentation(page, registration, plans, arr, flipped=flipped, print_lean=lean)


def assemble_field(
    fp: FieldPlan, probs: npt.NDArray[np.floating], image: npt.NDArray[np.uint8]
) -> FieldResult:
    """The best reading of one field from its candidates' class probabilities."""
    sub = probs[fp.crop_index] if fp.crop_index else np.zeros((0, probs.shape[1]))
    spec = fp.spec
    reading = None
    if fp.cells is not None:
        need = spec.min_digits if spec is not None else None
        path = best_comb_path(fp.cells, fp.spans, sub, fp.noise, min_digits=need)
        cut_confidence = 1.0  # comb fields: their cells settle how many digits there are
    else:
        lengths = None
        if spec is not None and (spec.min_digits is not None or spec.max_digits is not None):
            lengths = (spec.min_digits or 0, spec.max_digits or fp.n_segments)
        reading = read_field(
            fp.n_segments, fp.spans, sub, fp.priors, fp.cuts, fp.noise, lengths=lengths
        )
        path, cut_confidence = reading.steps, reading.string_confidence
    result = _result(fp, sub, image, path, cut_confidence)
    if marks_inside(path, fp.boxes, fp.separators):
        result.flag(INK_BESIDE)
    if reading is None:
        return result
    if spec is not None and constrains(spec) and result.value and rule_reasons(result.value, spec):
        # The best cuts read a string the rules refuse: other cuts that come close enough go
        # with it, for ``constrain`` to read under the rules too (a field with a length rule
        # only has been read under it already).
        result.others = [
            _result(fp, sub, image, reading.path(key), reading.confidence_of(key))
            for key in reading.runners_up()
        ]
    return result


def _result(
    fp: FieldPlan,
    sub: npt.NDArray[np.floating],
    image: npt.NDArray[np.uint8],
    path: list[Step],
    cut_confidence: float,
) -> FieldResult:
    """The field read along ``path``."""
    # Every chosen piece is what we say (a digit, or a stray mark), and there are as many digits
    # as we say: with calibrated class probabilities the product is a calibrated field
    # confidence (measured: ECE 1.5 % on the bench's test pages).
    conf = float(np.prod([s.prob for s in path])) * cut_confidence
    digits: list[DigitResult] = []
    for step in path:
        if step.digit is None:
            continue
        box = fp.boxes[step.candidate]
        digits.append(
            DigitResult(
                value=step.digit,
                confidence=step.prob,
                box=box,
                alternatives=top3(sub[step.candidate]),
                probs=np.asarray(sub[step.candidate][:NOT_A_DIGIT], np.float32),
                row=fp.crop_index[step.candidate],
                crop=_crop(image, box)
                if fp.upright is None
                else _crop(fp.upright, fp.upright_boxes[step.candidate]),
            )
        )
    value = "".join(str(d.value) for d in digits)
    return FieldResult(
        fp.name,
        value,
        float(conf),
        fp.box,
        digits,
        reasons=list(fp.reasons),
        image=fp.image,
        blank=fp.n_segments == 0,
    )


def assemble_page(
    seg: PageSegmentation,
    probs: npt.NDArray[np.floating],
    more: Callable[[npt.NDArray[np.intp]], npt.NDArray[np.floating]] | None = None,
) -> list[FieldResult]:
    """Best segmentation path per field; template-free strings without any digit are dropped.
    Rows of ``probs`` left NaN (crops not yet classified, see ``first_rows``) are asked of
    ``more`` (the classifier on those rows of ``seg.crops``) when the way up needs them."""
    probs = np.asarray(probs)
    if probs.shape[0] != seg.crops.shape[0]:
        raise ValueError(
            f"expected {seg.crops.shape[0]} rows of probabilities, got {probs.shape[0]}"
        )
    out = [assemble_field(fp, probs, seg.page.image) for fp in seg.fields]
    if seg.registration is None:
        plans = seg.fields
        if seg.flipped:

            def read_turned(ks: list[int]) -> list[FieldResult]:
                nonlocal probs
                rows = np.asarray([i for k in ks for i in seg.flipped[k].crop_index], np.intp)
                rows = rows[np.isnan(probs[rows, 0])]
                if rows.size:
                    if more is None:
                        raise ValueError(f"{rows.size} rows of probabilities left NaN")
                    probs = probs.copy()
                    probs[rows] = more(rows)
                return [assemble_field(seg.flipped[k], probs, seg.page.image) for k in ks]

            out, plans = settle_way_up(seg.fields, out, seg.flipped, read_turned, seg.print_lean)
        heights = [fp.digit_height for fp in plans]
        near = [fp.beside_line for fp in plans]
        page_sized = _page_sized(seg.page.image.shape)
        out = [f for f in handwriting_only(heights, out, near, not page_sized) if f.value]
        kept, by_name = {f.name for f in out}, {fp.name: fp for fp in plans}
        for f in out:
            if by_name[f.name].crowded_by & kept:  # a neighbour left as a caption parts nothing
                f.flag(INK_BESIDE)
            if page_sized and at_scan_edge(f.box, seg.page.image.shape):
                f.flag(AT_SCAN_EDGE)
            if page_sized and len(f.value) == 1:
                f.flag(SINGLE_DIGIT)
            elif page_sized and all_ones(f):
                f.flag(ONLY_ONES)
        for k, f in enumerate(out, start=1):
            f.name = f"free_{k}"
    return out
