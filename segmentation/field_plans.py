"""What the reader plans for a page before classifying: each field's candidate pieces, their
crops for the classifier, and the same candidates read upside down."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from digitize.types import Box, Page
from segmentation.way_up import read_first

if TYPE_CHECKING:
    from segmentation.registration import Registration
    from segmentation.templates import FieldSpec


@dataclass
class FieldPlan:
    """One field's candidates: ``spans[k]`` segments joined by crop ``crop_index[k]``."""

    name: str
    box: Box  # page pixels
    spec: FieldSpec | None
    n_segments: int
    spans: list[tuple[int, int]]
    crop_index: list[int]
    boxes: list[Box]  # page pixels, per candidate
    image: npt.NDArray[np.uint8] | None = None
    cells: list[tuple[int, int]] | None = None  # comb fields: segment range of each used cell
    priors: list[float] = field(default_factory=list)  # log shape prior per candidate
    cuts: list[int] = field(default_factory=list)  # path nodes that cut through connected ink
    noise: list[float] = field(default_factory=list)  # log-prior of each candidate being noise
    digit_height: float = 0.0  # template-free: height of the string's digits (reading direction)
    #: Where review crops are cut from, upright (a template page's aligned image), and each
    #: candidate's box there; None: cut from the page as scanned at ``boxes``.
    upright: npt.NDArray[np.uint8] | None = None
    upright_boxes: list[Box] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # for review, known before classifying
    #: Template-free: the ink comes near a printed line (``free_filters.LINE_PIECE_REACH``).
    beside_line: bool = False
    crowded_by: frozenset[str] = frozenset()  # template-free: strings close beside it on its line
    #: Per candidate: a short mark low in the line, a separator (``priors.low_mark``).
    separators: list[bool] = field(default_factory=list)


@dataclass
class PageSegmentation:
    """Every candidate piece of every field of a page, with their crops for the classifier: one
    call with a template; template-free, ``first_rows`` first and the rest only if asked."""

    page: Page
    registration: Registration | None
    fields: list[FieldPlan]
    crops: npt.NDArray[np.float32]
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: Template-free: the same candidates read upside down (crops turned 180°).
    flipped: list[FieldPlan] = field(default_factory=list)
    #: Template-free: how upright the page's print stands (``way_up.print_lean``).
    print_lean: float = 0.0

    def first_rows(self) -> npt.NDArray[np.intp]:
        """The crops to classify before ``assemble_page``: all but the upside-down readings of
        short strings, which it asks for only when the page's way up needs them."""
        first = read_first(self.fields) if self.flipped else []
        rows = [i for k in first for i in self.flipped[k].crop_index]
        upright = len(self.crops) // 2 if self.registration is None else len(self.crops)
        return np.concatenate([np.arange(upright), np.asarray(rows, np.intp)]).astype(np.intp)


def upside_down(plans: list[FieldPlan], offset: int) -> list[FieldPlan]:
    """The same candidates read as if the page were upside down (crops ``offset`` on, turned),
    with the review reasons found on their ink."""
    out = []
    for fp in reversed(plans):
        n = fp.n_segments
        out.append(
            FieldPlan(
                fp.name,
                fp.box,
                None,
                n,
                [(n - j, n - i) for i, j in fp.spans],
                [i + offset for i in fp.crop_index],
                fp.boxes,
                fp.image,
                [(n - j, n - i) for i, j in reversed(fp.cells)] if fp.cells else None,
                fp.priors,
                sorted(n - c for c in fp.cuts),
                fp.noise,
                fp.digit_height,
                # what was seen of the ink holds either way up
                reasons=list(fp.reasons),
                beside_line=fp.beside_line,
                crowded_by=fp.crowded_by,
                separators=fp.separators,
            )
        )
    return out
