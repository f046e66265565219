"""The printed lines of a form at a working scale: the raw material of ``form_fields``.

A page is brought to A4 at about 200 dpi and turned straight (``align.skew_angle``), so lengths
in pixels mean the same on every input; then its thin straight lines are taken apart into
horizontal rules (dashed and dotted ones joined), vertical rules and short upright stubs (comb
dividers, ticks), and its light shaded areas. Only long thin straight print is kept:
handwriting strokes are short, curved or thick, so they neither make nor break a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.align import skew_angle
from segmentation.binarize import ink_darkness
from segmentation.imageops import components_with_stats

U8 = npt.NDArray[np.uint8]
#: The working scale: A4's long side at 200 dpi.
WORK_LONG = 2339
#: Thickest pen taken for a printed rule (working pixels; 5 px lines, blurred, pass).
MAX_PEN = 9
#: Shortest horizontal rule (a narrow box side), vertical rule and upright stub.
H_MIN, V_MIN, STUB_MIN = 40, 24, 6


def _rect(w: int, h: int) -> U8:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (w, h))


@dataclass
class Segment:
    """A horizontal rule at working scale: from ``x0`` to ``x1`` (exclusive), rows ``y0..y1``;
    ``top`` and ``bottom`` its first and last row in each column (a rule may slope a little)."""

    x0: int
    x1: int
    y0: int
    y1: int
    dotted: bool = False
    top: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    bottom: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def y(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def length(self) -> int:
        return self.x1 - self.x0


@dataclass
class Sheet:
    """A page at working scale with its printed structure taken apart."""

    ink: U8  # binary ink (255)
    horiz: U8  # horizontal rules (thin, long, straight), dashed ones joined
    vert: U8  # vertical rules at least V_MIN long
    stubs: U8  # thin upright strokes at least STUB_MIN long (dividers, ticks, and some letters)
    rules: list[Segment]
    pen: float  # median thickness of the horizontal rules
    darkness: npt.NDArray[np.float32]
    to_input: npt.NDArray[np.float64]  # 2x3 affine: working pixels -> input pixels

    def box_to_input(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """The axis-aligned input box covering a working box (turned back and rescaled)."""
        x, y, w, h = box
        pts = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], np.float64)
        q = pts @ self.to_input.T
        x0, y0 = q.min(axis=0)
        x1, y1 = q.max(axis=0)
        return round(x0), round(y0), round(x1 - x0), round(y1 - y0)


def _grey(image: npt.NDArray[np.generic]) -> U8:
    a = np.asarray(image)
    if a.ndim == 3:
        a = cv2.cvtColor(a, cv2.COLOR_BGRA2GRAY if a.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return a.astype(np.uint8)


def _thin(ink: U8, mask: U8, horizontal: bool) -> U8:
    """The components of an opened ``mask`` that are thin in ``ink`` across their length."""
    out = np.zeros_like(mask)
    n, lab, st, _ = components_with_stats(mask)
    for i in range(1, n):
        x, y, w, h, _ = st[i]
        if horizontal:
            band = ink[max(0, y - 6) : y + h + 6, x : x + w] > 0
            thick = float(np.median(band.sum(axis=0)))
        else:
            band = ink[y : y + h, max(0, x - 6) : x + w + 6] > 0
            thick = float(np.median(band.sum(axis=1)))
        across, along = (h, w) if horizontal else (w, h)
        # Straight along the axis (the page is straightened): a slanted pen stroke drifts.
        if thick <= MAX_PEN and across <= MAX_PEN + 2 + 0.025 * along:
            sub = out[y : y + h, x : x + w]
            sub[lab[y : y + h, x : x + w] == i] = 255
    return out


def sheet(image: npt.NDArray[np.generic]) -> Sheet:
    """``image`` (grey or BGR, any resolution) at working scale, straightened, taken apart."""
    grey = _grey(image)
    h0, w0 = grey.shape
    s = WORK_LONG / max(h0, w0)
    size = (max(1, round(w0 * s)), max(1, round(h0 * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    work = cv2.resize(grey, size, interpolation=interp) if abs(s - 1) > 1e-3 else grey
    ink = _binary(work)
    angle = skew_angle(ink > 0, min_agreeing=3)
    fwd = np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], np.float64)  # input -> scaled
    if abs(angle) > 0.1:
        rot = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), angle, 1.0)
        work = cv2.warpAffine(work, rot, size, flags=cv2.INTER_LINEAR, borderValue=255)
        ink = _binary(work)
        fwd = np.vstack([rot, [0, 0, 1]]) @ fwd
    if _sideways(ink):
        hh = work.shape[0]
        work = cv2.rotate(work, cv2.ROTATE_90_CLOCKWISE)
        ink = cv2.rotate(ink, cv2.ROTATE_90_CLOCKWISE)
        fwd = np.array([[0, -1, hh - 1], [1, 0, 0], [0, 0, 1]], np.float64) @ fwd
    to_input = np.linalg.inv(fwd)[:2].astype(np.float64)
    horiz = _thin(ink, _open_h(ink, 7), True)
    # Dashed and dotted rules with gaps too wide for the first closing; whether a row of marks
    # is evenly broken (a printed dashed rule) or a row of letters is judged per rule later.
    dotted = _thin(ink, _open_h(ink, 17), True) & ~cv2.dilate(horiz, _rect(9, 9))
    vclosed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, _rect(1, 5))
    vert = _thin(ink, cv2.morphologyEx(vclosed, cv2.MORPH_OPEN, _rect(1, V_MIN)), False)

    stubs = cv2.morphologyEx(ink & ~horiz, cv2.MORPH_OPEN, _rect(1, STUB_MIN))
    rules = _segments(horiz, False) + _segments(dotted, True)
    pen = float(np.median([r.y1 - r.y0 for r in rules])) if rules else 2.0
    return Sheet(
        ink,
        horiz | dotted,
        vert,
        stubs,
        rules,
        pen,
        ink_darkness(work, polarity=True),
        to_input,
    )


#: Ink is this much darker than its paper: light enough for grey or coloured print in thin
#: lines blurred by a scan (Otsu's split of dark handwriting from paper would lose them).
INK_DARKNESS = 0.2


def _binary(work: U8) -> U8:
    return (ink_darkness(work, polarity=True) > INK_DARKNESS).astype(np.uint8) * 255


def _sideways(ink: U8) -> bool:
    """A page turned a quarter: its long printed rules run mostly up and down.

    A form's writing lines, box tops and floors run along its text; box sides are shorter.
    """
    k = WORK_LONG // 20
    along = int(np.count_nonzero(cv2.morphologyEx(ink, cv2.MORPH_OPEN, _rect(k, 1))))
    across = int(np.count_nonzero(cv2.morphologyEx(ink, cv2.MORPH_OPEN, _rect(1, k))))
    return across > 1.5 * along + 1000


def _open_h(ink: U8, gap: int) -> U8:
    """Horizontal runs at least H_MIN long once gaps under ``gap`` pixels are bridged."""
    closed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, _rect(gap, 1))
    return cv2.morphologyEx(closed, cv2.MORPH_OPEN, _rect(H_MIN, 1))


def _segments(mask: U8, dotted: bool) -> list[Segment]:
    """The rules of ``mask``: thin in every column, sloping at most a degree or so."""
    n, lab, st, _ = components_with_stats(mask)
    out = []
    for i in range(1, n):
        x, y, w, h, _ = (int(v) for v in st[i])
        if w < H_MIN or h > MAX_PEN + 3 + 0.025 * w:
            continue
        sub = lab[y : y + h, x : x + w] == i
        top = np.argmax(sub, axis=0)
        bottom = h - 1 - np.argmax(sub[::-1], axis=0)
        if float(np.median(bottom - top + 1)) > MAX_PEN:
            continue
        out.append(Segment(x, x + w, y, y + h, dotted, y + top, y + bottom))
    return out


def shaded_areas(sh: Sheet) -> list[tuple[int, int, int, int]]:
    """Light, evenly shaded rectangles (a box printed as a tint, maybe without a border).

    The tint is what is a little darker than the paper, with the strokes on it (print,
    handwriting) closed over; solid dark print (logos, filled bars) is not a tint.
    """
    tint = (sh.darkness > 0.035).astype(np.uint8) * 255
    tint = cv2.morphologyEx(tint, cv2.MORPH_CLOSE, _rect(9, 9))
    tint = cv2.morphologyEx(tint, cv2.MORPH_OPEN, _rect(25, 25))
    out = []
    n, lab, st, _ = components_with_stats(tint)
    for i in range(1, n):
        x, y, w, h, area = st[i]
        if w < 40 or h < 40 or area < 0.9 * w * h:
            continue
        inside = sh.darkness[y : y + h, x : x + w][lab[y : y + h, x : x + w] == i]
        if float(np.median(inside)) < 0.3:
            out.append((int(x), int(y), int(w), int(h)))
    return out
