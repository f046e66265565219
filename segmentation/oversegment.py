"""Over-segmentation of one field's ink into segments and candidate digit pieces.

Recognition-driven segmentation (LeCun et al. 1998): rather than deciding up front where one digit
ends, propose more cuts than needed and let the classifier judge every plausible piece; a dynamic
programme (``assemble``) then picks the best path. This module does the image half: connected
components, speck removal, rejoining broken digits, cuts (``cuts``), and the candidate pieces:
every span of consecutive segments no wider than ``MAX_WIDTH`` digit heights, plus every blob
uncut, each with log-priors the path search adds (size next to its neighbours, side-by-side
blobs joined, being a stray mark).
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import Box
from segmentation.cuts import MIN_APART, between_loops, cut_positions, holes, seams
from segmentation.imageops import components_with_stats, grouped
from segmentation.priors import LOG_LOW_MARK_PRIOR, low_mark, noise_prior, piece_prior

Mask = npt.NDArray[np.bool_]

MAX_SPAN = 8  #: a digit is made of at most this many consecutive segments (and is not too wide)
MAX_WIDTH = 1.5  #: ... nor wider than this many digit heights
_K3 = np.ones((3, 3), np.uint8)
SPILL_GAP = 0.6  #: writing past a box is read on while each next digit is this close (heights)
SLIVER = 0.25  #: a short piece of a comb split narrower than this share of a cell rejoins its digit
HREF_FLOOR = 0.6  #: the measured digit height is at least this share of the expected one
#: Components smaller than this fraction of the digit height (both ways) are dust. Dust dropped
#: is sometimes a digit's own ink, but flagging fields beside dropped dust sent far more right
#: fields to review than wrong ones (docs/experiments.md).
SPECK = 0.18


@dataclass
class Segment:
    """A piece of ink in region coordinates: ``mask`` covers ``(x, y, w, h)``."""

    x: int
    y: int
    mask: Mask
    blob: int = -1  #: segments cut from one connected blob share this id
    parted: bool = False  #: its left side is a cut between two loops (``cuts.between_loops``)

    @property
    def box(self) -> Box:
        h, w = self.mask.shape
        return (self.x, self.y, w, h)


@dataclass
class Piece:
    """A candidate digit: segments ``[start, end)`` joined, with its ink and box (region coords)."""

    start: int
    end: int
    box: Box
    ink: Mask
    cell: int | None = None
    prior: float = 0.0  #: log-prior of the shape being one digit (its size next to its neighbours)
    noise: float = 0.0  #: log-prior of the piece being a stray mark rather than ink that matters
    separator: bool = False  #: a short mark low in the line (``priors.low_mark``): a , or a .


def _union_box(boxes: list[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def join(segments: list[Segment], box: Box | None = None) -> tuple[Box, Mask]:
    """The union of segments as one mask over their common box (``box``, when known)."""
    if box is None:
        box = _union_box([s.box for s in segments])
    out = np.zeros((box[3], box[2]), bool)
    for s in segments:
        h, w = s.mask.shape
        oy, ox = s.y - box[1], s.x - box[0]
        out[oy : oy + h, ox : ox + w] |= s.mask
    return box, out


def components(ink: npt.NDArray[np.uint8], digit_height: float) -> tuple[list[Segment], float]:
    """Connected components without specks, with broken digits rejoined; also the digit height.

    Pieces stacked over a bigger one and overlapping it horizontally (a 5's detached bar, a
    stroke broken across) are merged into it; digits side by side are not, however much one
    overhangs the other.
    """
    n, labels, stats, _ = components_with_stats((ink > 0).astype(np.uint8))
    if n <= 1:
        return [], digit_height
    st = stats[1:]
    hs = st[:, cv2.CC_STAT_HEIGHT].astype(float)
    big = hs >= 0.35 * digit_height
    href = _upper_quartile(hs[big].tolist()) if big.any() else digit_height
    # Not much below the expected height: a lone digit broken in two is two half-height pieces.
    href = max(href, HREF_FLOOR * digit_height, 4.0)
    # Plain ints: the same sums and comparisons as numpy's scalars, without their per-item cost.
    rows = st.tolist()
    keep = []
    for i, (_x, _y, w, h, a) in enumerate(rows):
        if max(w, h) < SPECK * href and a < 0.04 * href * href:
            continue  # dust
        if h < 0.15 * href and w > 1.1 * href:
            continue  # a thin horizontal remnant of a printed line
        keep.append(i)
    if not keep:
        return [], href
    pairs: list[tuple[int, int]] = []
    for ai in range(len(keep)):
        for bi in range(ai + 1, len(keep)):
            a, b = keep[ai], keep[bi]
            xa, ya, wa, ha, aa = rows[a]
            xb, yb, wb, hb, ab = rows[b]
            ov = min(xa + wa, xb + wb) - max(xa, xb)
            if ov <= 0:
                continue
            vgap = max(ya, yb) - min(ya + ha, yb + hb)
            if vgap > 0.35 * href or -vgap > 0.3 * min(ha, hb):
                continue  # too far apart, or side by side (a 1 under a neighbour's overhang)
            small, large = (a, b) if aa < ab else (b, a)
            ws, wl = rows[small][2], rows[large][2]
            if ws > 1.2 * wl:
                continue
            frac = ov / max(1, min(wa, wb))
            merged_h = max(ya + ha, yb + hb) - min(ya, yb)
            if merged_h > 1.6 * href:
                continue
            if frac >= 0.8 or (frac >= 0.4 and rows[small][4] < 0.35 * rows[large][4]):
                pairs.append((a, b))
    segs = []
    for members in grouped(keep, pairs):
        boxes: list[Box] = [tuple(int(v) for v in st[i, :4]) for i in members]  # type: ignore[misc]
        x, y, w, h = _union_box(boxes)
        sub = labels[y : y + h, x : x + w]
        mask = sub == members[0] + 1
        for i in members[1:]:
            mask |= sub == i + 1
        segs.append(Segment(x, y, mask))
    segs.sort(key=lambda s: s.x + s.mask.shape[1] / 2)
    return segs, href


def _upper_quartile(values: list[float]) -> float:
    """numpy's linear 75th percentile (the standard library's, a tenth of numpy's call cost)."""
    if len(values) < 2:
        return float(values[0])
    return float(statistics.quantiles(values, n=4, method="inclusive")[2])


def split(seg: Segment, href: float, near: list[int] | None = None) -> list[Segment]:
    """Cut a segment along minimal-ink seams at the proposed columns; away from a comb's cell
    borders (``near``), the seams part loops side by side and keep out of loops."""
    inside, loops = holes(seg.mask, href) if near is None else (None, [])
    parting = between_loops(seg.mask, loops)
    cuts = cut_positions(seg.mask, href, near, parting)
    if not cuts:
        return [seg]
    h, w = seg.mask.shape
    half = max(2, round(0.14 * href))
    paths = seams(seg.mask, cuts, half, inside)
    xs = np.arange(w)[None, :]
    bounds = [np.zeros(h, np.int64), *paths, np.full(h, w, np.int64)]
    out: list[Segment] = []
    parted = False
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        parted = parted or (k > 0 and any(abs(cuts[k - 1] - x) <= MIN_APART for x in parting))
        part = seg.mask & (xs >= a[:, None]) & (xs < b[:, None])
        # Its ink's count and box by OpenCV (the same as numpy's nonzero, min and max, faster).
        if cv2.countNonZero(part.view(np.uint8)) < 3:
            continue
        x0, y0, pw, ph = cv2.boundingRect(part.view(np.uint8))
        out.append(Segment(seg.x + x0, seg.y + y0, part[y0 : y0 + ph, x0 : x0 + pw], parted=parted))
        parted = False
    return out or [seg]


def _spills(s: Segment, box: Box, href: float, width: int) -> bool:
    """Left out, level with the box, beside its left or right edge, and either a digit's height
    or cut off by the region's side (the writing goes on beyond what was cropped)."""
    h, w = s.mask.shape
    cx, cy = s.x + w / 2, s.y + h / 2
    if not box[1] <= cy < box[1] + box[3] or box[0] <= cx < box[0] + box[2]:
        return False
    return h >= 0.5 * href or s.x <= 0 or s.x + w >= width


def adopt_spills(
    inside: list[Segment], ran_on: list[Segment], href: float, width: int
) -> list[Segment]:
    """``inside`` plus the digits that continue the string past either end of the box.

    People who run out of room write on past the box's edge. Of the ink that ran on (left out,
    level with the box, no nearer another field's box in the same row), a component is taken
    when it is a digit's height, whole (not cut by the region's side) and no further from the
    string's end than a wide gap between digits (taken one after another, outward).
    """
    if not inside:
        return inside
    lo = min(s.x for s in inside)
    hi = max(s.x + s.mask.shape[1] for s in inside)
    taken = list(inside)
    waiting = [
        s
        for s in ran_on
        if s.mask.shape[0] >= 0.5 * href and s.x > 0 and s.x + s.mask.shape[1] < width
    ]
    reach = SPILL_GAP * href
    grew = True
    while grew:
        grew = False
        for s in list(waiting):
            x0, x1 = s.x, s.x + s.mask.shape[1]
            if x1 > hi and x0 - hi <= reach:
                hi = x1
            elif x0 < lo and lo - x1 <= reach:
                lo = x0
            else:
                continue
            taken.append(s)
            waiting.remove(s)
            grew = True
    taken.sort(key=lambda s: s.x + s.mask.shape[1] / 2)
    return taken


def _left_out(near_end: list[Segment], read: list[Segment], width: int) -> bool:
    """Whether writing that ran on past the box may be missing from what is read: a piece
    beside the box's end left out (too small, too far, cut), or a piece read that the region's
    side cuts off. Writing taken in whole reads as the number's own end, and is no doubt."""
    taken = {id(s) for s in read}
    return any(id(s) not in taken for s in near_end) or any(
        s.x <= 0 or s.x + s.mask.shape[1] >= width for s in read
    )


def _runs_on_into(inside: list[Segment], elsewhere: list[Segment], href: float) -> bool:
    """A digit of another field's as close to this string's end as its own digits are.

    One number written across the border between two fields (a table's cells) is read in part
    by each; neither reading can be sure where the number ends, so both go to review.
    """
    if not inside:
        return False
    lo = min(s.x for s in inside)
    hi = max(s.x + s.mask.shape[1] for s in inside)
    reach = SPILL_GAP * href
    return any(
        0 <= s.x - hi <= reach or 0 <= lo - (s.x + s.mask.shape[1]) <= reach for s in elsewhere
    )


def _beside(s: Segment, box: Box) -> int:
    """The gap between ``s`` and the nearer end of ``box`` (where it straddles that end: how
    far it reaches across)."""
    return min(abs(s.x + s.mask.shape[1] - box[0]), abs(s.x - box[0] - box[2]))


def _nearer_elsewhere(s: Segment, keep: Box, others: list[Box]) -> bool:
    """Ink nearer another field's box of the same row than ``keep``: that field's to read."""
    h, w = s.mask.shape
    cx = s.x + w / 2

    def away(b: Box) -> float:
        return max(b[0] - cx, cx - b[0] - b[2], 0.0)

    own = away(keep)
    return any(
        away(b) < own and min(s.y + h, b[1] + b[3]) - max(s.y, b[1]) > 0.5 * h for b in others
    )


def _centre_in(s: Segment, box: Box) -> bool:
    cx, cy = s.x + s.mask.shape[1] / 2, s.y + s.mask.shape[0] / 2
    return box[0] <= cx < box[0] + box[2] and box[1] <= cy < box[1] + box[3]


def cut_nodes(parts: list[Segment]) -> list[int]:
    """Path nodes (boundaries between consecutive segments) that cut through connected ink."""
    return [j for j in range(1, len(parts)) if parts[j].blob == parts[j - 1].blob >= 0]


class Plan(NamedTuple):
    parts: list[Segment]
    pieces: list[Piece]
    #: Ink left out by ``keep`` beside the box, level with it, digit-sized or cut off by the
    #: region's side: writing that ran past the field's end (or start). Digits may be missing.
    spilled: bool = False


def plan(
    ink: npt.NDArray[np.uint8],
    *,
    digit_height: float,
    cells: int | None = None,
    keep: Box | None = None,
    field: tuple[int, int] | None = None,
    avoid: list[Box] | None = None,
) -> Plan:
    """Segments and candidate pieces of one region's ink (255 = ink).

    ``cells``: a comb field with that many equal cells across the region; each cell gets one
    candidate (the strong one-digit-per-cell prior). ``keep``: only components whose centre lies
    in this box count (the region may be padded around a field box). ``field``: the field's
    ``(x, width)`` in the region, where the comb cells are. ``avoid`` (other fields' boxes in
    region pixels): when given, writing that ran on past the box is read with the field
    (``adopt_spills``), except ink nearer one of those boxes.
    """
    segs, href = components(ink, digit_height)
    spilled = False
    if keep is not None:
        inside: list[Segment] = []
        outside: list[Segment] = []
        for s in segs:
            (inside if _centre_in(s, keep) else outside).append(s)
        width = ink.shape[1]
        if avoid is None or cells:
            spilled = any(_spills(s, keep, href, width) for s in outside)
        else:  # a wide region: only ink near the box's ends, of no other field, ran on
            spills = [s for s in outside if _spills(s, keep, href, width)]
            ran_on = [s for s in spills if not _nearer_elsewhere(s, keep, avoid)]
            elsewhere = [s for s in spills if s not in ran_on]
            near_end = [s for s in ran_on if _beside(s, keep) <= 2 * SPILL_GAP * href]
            if near_end:
                inside = adopt_spills(inside, ran_on, href, width)
                spilled = _left_out(near_end, inside, width)
            spilled = spilled or _runs_on_into(inside, elsewhere, href)
        segs = inside
    if cells:
        return Plan(*_plan_comb(segs, href, cells, field or (0, ink.shape[1])), spilled)
    tall = sorted(s.y for s in segs if s.mask.shape[0] >= 0.7 * href)
    top = float(tall[len(tall) // 2]) if len(tall) >= 2 else None  # the line's digits' tops
    parts: list[Segment] = []
    for k, s in enumerate(segs):
        for part in split(s, href) if s.mask.shape[1] > 0.7 * href else [s]:
            part.blob = k
            parts.append(part)
    pieces: list[Piece] = []
    for i in range(len(parts)):
        x0, y0, x1, y1 = parts[i].x, parts[i].y, parts[i].x, parts[i].y  # parts[i:j]'s box
        for j in range(i + 1, min(len(parts), i + MAX_SPAN) + 1):
            if j - i > 1:
                a, b = parts[j - 2], parts[j - 1]
                gap = b.x - (a.x + a.mask.shape[1])
                if gap > 0.15 * href:
                    break
            s = parts[j - 1]
            sh, sw = s.mask.shape
            x0, y0, x1, y1 = min(x0, s.x), min(y0, s.y), max(x1, s.x + sw), max(y1, s.y + sh)
            box = (x0, y0, x1 - x0, y1 - y0)
            if j - i > 1 and (box[2] > MAX_WIDTH * href or box[3] > 1.8 * href):
                break
            box, m = join(parts[i:j], box)
            pieces.append(_piece(i, j, box, m, href, top, segs, parts[i:j]))
    # The uncut hypothesis of every blob, however many segments it was cut into.
    spans = {(p.start, p.end) for p in pieces}
    for k in {s.blob for s in parts}:
        idx = [i for i, s in enumerate(parts) if s.blob == k]
        i, j = idx[0], idx[-1] + 1
        if (i, j) not in spans:
            box, m = join(parts[i:j])  # one blob: nothing joined
            pieces.append(_piece(i, j, box, m, href, top, segs, parts[i:j]))
    return Plan(parts, pieces, spilled)


def _piece(
    i: int,
    j: int,
    box: Box,
    mask: Mask,
    href: float,
    top: float | None,
    blobs: list[Segment],
    parts: list[Segment],
) -> Piece:
    """Candidate segments ``[i, j)`` with its priors; a separator (``priors.low_mark``) is all
    but ruled out as a digit."""
    prior = piece_prior(box, href, blobs, parts)
    low = low_mark(box, top, href)
    if low:
        prior += LOG_LOW_MARK_PRIOR
    return Piece(i, j, box, mask, None, prior, noise_prior(box, href), separator=low)


def _contact(a: Segment, b: Segment) -> int:
    """How many pixels of ``b`` lie next to ``a`` (within one pixel)."""

    def blank(s: Segment) -> Segment:
        return Segment(s.x, s.y, np.zeros_like(s.mask))

    _, ma = join([a, blank(b)])  # both on their common box
    _, mb = join([blank(a), b])
    return int(((cv2.dilate(ma.astype(np.uint8), _K3) > 0) & mb).sum())


def _absorb_slivers(parts: list[Segment], cw: float, href: float) -> list[Segment]:
    """Give each short, narrow piece of a comb split back to the neighbour it touches most.

    A digit whose side lay on a cell border keeps a stub across it (where its stroke and the
    printed border coincided, both were removed): cut off there it would sit in the wrong cell
    and leave the digit open. A 1 is narrow too, but tall.
    """
    parts = sorted(parts, key=lambda p: p.x)
    k = 0
    while len(parts) > 1 and k < len(parts):
        p = parts[k]
        if p.mask.shape[1] >= SLIVER * cw or p.mask.shape[0] >= 0.6 * href:
            k += 1
            continue
        near = [n for n in (k - 1, k + 1) if 0 <= n < len(parts)]
        best = max(near, key=lambda n: _contact(parts[k], parts[n]))
        box, mask = join([p, parts[best]])
        parts[min(k, best)] = Segment(box[0], box[1], mask)
        del parts[max(k, best)]
        k = 0
    return parts


def _plan_comb(
    segs: list[Segment], href: float, cells: int, field: tuple[int, int]
) -> tuple[list[Segment], list[Piece]]:
    x0, w = field
    cw = w / cells
    parts: list[Segment] = []
    for n, s in enumerate(segs):
        sw = s.mask.shape[1]
        new = [s]
        if sw > 0.95 * cw:  # wider than a cell: neighbours touching across a border
            borders = [round(x0 + k * cw) - s.x for k in range(1, cells)]
            new = _absorb_slivers(split(s, href, near=[b for b in borders if 0 < b < sw]), cw, href)
        for part in new:
            part.blob = n
            parts.append(part)

    def cell_of(s: Segment) -> int:
        cx = s.x + float(np.nonzero(s.mask)[1].mean())
        return int(min(cells - 1, max(0, (cx - x0) // cw)))

    keyed = sorted(((cell_of(s), s.x, k) for k, s in enumerate(parts)))
    parts = [parts[k] for _, _, k in keyed]
    cell_ids = [c for c, _, _ in keyed]
    pieces: list[Piece] = []
    i = 0
    while i < len(parts):
        j = i + 1
        while j < len(parts) and cell_ids[j] == cell_ids[i]:
            j += 1
        # Every span inside the cell (a digit plus stray marks), the whole cell included.
        for a in range(i, j):
            for b in range(a + 1, j + 1):
                if b - a <= MAX_SPAN or (a, b) == (i, j):
                    box, m = join(parts[a:b])
                    pieces.append(Piece(a, b, box, m, cell_ids[i], 0.0, noise_prior(box, href)))
        i = j
    return parts, pieces
