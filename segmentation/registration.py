"""Form identification and registration: which template is this page, and where is everything?

ORB features of the page at a fixed working resolution (~560 px long side, whatever the scan's
dpi) are matched to each template's (brute force, so results are reproducible); a few hundred of
the strongest rank the templates, which are then tried in that order: ratio test, RANSAC affine
fit, coarse-to-fine refinement by patch correlation (working resolution, then ~100 dpi) into a
full homography, and verification. Features are rotation-invariant, so any quarter turn plus skew
is covered. Quality is the harmonic mean of the share of the template's printed ink found where
the fit puts it and the share of the page's ink outside the fields that the print explains, so a
look-alike form scores low. When features fail, a fallback maps the form's ink box onto the
page's deskewed ink box for each quarter turn and refines the best guesses the same way. A page
that no template explains gives None.

To keep within the page budget, ``aligned`` and ``ink`` are computed inside the template's field
regions only (each field box plus a margin, listed in ``regions``); elsewhere ``aligned`` is white
and ``ink`` is 0. ``align_page`` warps the whole page when something needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import Box, Page
from segmentation import align, inkremoval
from segmentation.align import Mat, scale_mat, shift_mat
from segmentation.templates import Template

Grey = npt.NDArray[np.uint8]

MIN_QUALITY = 0.72  # below this no template explains the page (look-alikes score <= 0.65)
FALLBACK_QUALITY = 0.9  # right fallback fits score >= 0.99, wrong ones <= 0.75
GOOD_QUALITY = 0.85  # good enough to stop trying other templates
EDGE_MARGIN = 0.01  # the picture's rim the fallback's ink box leaves out (a share of its side)
PAGE_FEATURES = 600
RECALL_OFFSET = 10  # the binarisation offset for the form's ink found on the page (18 elsewhere)
RECALL_REACH = 1  # px at the working size: print found this near where the fit puts it counts
RECALL_SHARE = 0.2  # print faint on the form counts as found at this share of its own contrast
RECALL_FLOOR = 4  # ... but never under this contrast (the paper's grain)
RETRY_FEATURES = 1500
TEMPLATE_FEATURES = 700


@dataclass
class Registration:
    template: Template
    homography: Mat  # template pixels -> page pixels
    quality: float  # in [0, 1]: share of the form's printed ink found where expected
    aligned: Grey  # page warped into template coordinates (inside ``regions``)
    ink: Grey  # 255 = handwriting, printed lines/boxes/cells removed (inside ``regions``)
    method: str = "features"  # "features" or "fallback"
    regions: list[Box] = field(default_factory=list)  # template boxes where aligned/ink are valid
    details: dict[str, float] = field(default_factory=dict)


@dataclass
class _Prep:
    """Per-template data computed once and kept in ``Template.cache``."""

    work: Grey
    work_scale: float
    keypoints: npt.NDArray[np.float32]
    descriptors: npt.NDArray[np.uint8] | None
    ink: npt.NDArray[np.bool_]
    ink_count: int
    #: Per pixel of ``ink``: the contrast at which the page shows it (``verify``'s recall).
    ink_need: npt.NDArray[np.float32]
    other: npt.NDArray[np.bool_]  # neither printed ink (dilated) nor a field: ink here is foreign
    refine_img: Grey
    refine_scale: float
    refine_pts: npt.NDArray[np.float32]


def _binarise_small(image: Grey, offset: int = 18) -> npt.NDArray[np.bool_]:
    return cv2.adaptiveThreshold(
        image, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, offset
    ).astype(bool)


def _contrast(image: Grey) -> Grey:
    """How much darker each pixel is than its neighbourhood's mean (``_binarise_small``'s test:
    ink at ``offset`` is contrast above it), 0 where lighter."""
    mean = cv2.blur(image, (15, 15), borderType=cv2.BORDER_REPLICATE)
    return cv2.subtract(mean, image)


def _recall_need(work: Grey, ink: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """The contrast each pixel of the form's print must show on a page to count as found:
    ``RECALL_OFFSET``, or ``RECALL_SHARE`` of its own contrast on the form where that is
    less (print faint on the form itself: light grey combs, dropout colours), never under
    ``RECALL_FLOOR``."""
    own = _contrast(work)[ink].astype(np.float32)
    return np.minimum(RECALL_OFFSET, np.maximum(RECALL_FLOOR, RECALL_SHARE * own))


def prepare(t: Template) -> _Prep:
    """Features, ink mask and refinement patches of a template (cached on it)."""
    prep = t.cache.get("registration")
    if prep is None:
        reference = inkremoval.printed_ink(t)[1]  # despeckled: a scanned blank form works too
        pyr = align.pyramid(reference, align.WORK_LONG)
        work, ws = align.shrink(pyr, align.WORK_LONG)
        kps, desc = align.orb_features(work, TEMPLATE_FEATURES)
        ink = _binarise_small(work)
        fields = np.zeros(work.shape, np.uint8)
        for fx, fy, fw, fh in field_regions(t):
            x0, y0 = int(fx * ws), int(fy * ws)
            fields[y0 : y0 + int(np.ceil(fh * ws)) + 1, x0 : x0 + int(np.ceil(fw * ws)) + 1] = 1
        near = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8))
        other = (near == 0) & (fields == 0)
        rs = min(1.0, align.REFINE_LONG / max(reference.shape))
        ref_img = cv2.resize(reference, None, fx=rs, fy=rs, interpolation=cv2.INTER_AREA)
        prep = _Prep(
            work,
            ws,
            kps,
            desc,
            ink,
            max(int(ink.sum()), 1),
            _recall_need(work, ink),
            other,
            ref_img,
            rs,
            align.refine_points(ref_img),
        )
        t.cache["registration"] = prep
    return prep


_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING)
VOTE_FEATURES = 200  # strongest page features used to rank the templates


def _good_matches(
    desc: npt.NDArray[np.uint8], t: Template, limit: int | None = None, start: int = 0
) -> list[tuple[int, int]]:
    """(template keypoint, page keypoint) pairs passing Lowe's ratio test, for the page's
    descriptors ``start`` to ``limit``.

    Brute force, not LSH: LSH hashes are random per process, and the same page must always give
    the same result. Each page descriptor is matched on its own, so a range's pairs are exactly
    those the whole set would give there.
    """
    tdesc = prepare(t).descriptors
    if tdesc is None or len(tdesc) < 2:
        return []
    query = desc[start:limit] if limit else desc[start:]
    if len(query) == 0:
        return []
    return [
        (p[0].trainIdx, p[0].queryIdx + start)
        for p in _MATCHER.knnMatch(query, tdesc, k=2)
        if len(p) == 2 and p[0].distance < 0.8 * p[1].distance
    ]


def verify(work: Grey, t: Template, h_work: Mat) -> float:
    """How well the template explains the page under ``h_work``, in [0, 1].

    The harmonic mean of recall (the share of the template's printed ink found on the page) and
    precision (the share of the page's ink outside the fields that the template's print explains):
    a look-alike form sharing the frame and some boxes misses on precision.
    """
    prep = prepare(t)
    hgt, wid = prep.work.shape
    aligned = cv2.warpPerspective(
        work,
        h_work,
        (wid, hgt),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    raw = _binarise_small(aligned)
    # Found where expected: fainter ink counts (thin grey rules fade at the working size), and
    # print faint on the form itself is looked for in proportion to its own contrast there.
    reach = 2 * RECALL_REACH + 1
    found = cv2.dilate(_contrast(aligned), np.ones((reach, reach), np.uint8))[prep.ink]
    recall = int(np.count_nonzero(found > prep.ink_need)) / prep.ink_count
    inside = cv2.warpPerspective(
        np.ones(work.shape, np.uint8),
        h_work,
        (wid, hgt),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
    ).astype(bool)
    raw &= inside
    total = int(np.count_nonzero(raw))
    foreign = int(np.count_nonzero(raw & prep.other))
    precision = 1.0 - foreign / max(total, 1)
    return 2 * recall * precision / max(recall + precision, 1e-9)


def _homography(src: npt.NDArray[np.float32], dst: npt.NDArray[np.float32]) -> Mat | None:
    """Coarse fit: an affine map (stable even when matches cluster in one part of the form).

    Perspective is left to the patch refinement, whose points are spread over the whole form.
    """
    if len(src) < 10:
        return None
    a, mask = cv2.estimateAffine2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=2.5,
        maxIters=3000,
        confidence=0.999,
        refineIters=10,
    )
    if a is None or mask is None or int(mask.sum()) < 10:
        return None
    return np.vstack([a.astype(np.float64), [0.0, 0.0, 1.0]])


def _feature_candidates(
    pyr: align.Pyramid,
    work: Grey,
    ws: float,
    kps: npt.NDArray[np.float32],
    desc: npt.NDArray[np.uint8] | None,
    templates: Sequence[Template],
) -> list[tuple[float, int, Mat]]:
    """(quality, template index, homography work→work) in vote order, stopping at a good one."""
    if desc is None or len(desc) < 10:
        return []
    # ORB returns its keypoints strongest first: a few hundred rank the templates cheaply.
    voted: list[list[tuple[int, int]]] = []
    if len(templates) > 1:
        voted = [_good_matches(desc, t, VOTE_FEATURES) for t in templates]
    votes = [len(v) for v in voted] or [1]
    order = sorted(range(len(templates)), key=lambda i: -votes[i])
    out: list[tuple[float, int, Mat]] = []
    p_size = (work.shape[1], work.shape[0])
    for ti in order:
        if voted:  # the strongest features were matched for the vote already
            good = voted[ti] + _good_matches(desc, templates[ti], start=VOTE_FEATURES)
        else:
            good = _good_matches(desc, templates[ti])
        if len(good) < 10:
            continue
        prep = prepare(templates[ti])
        idx = np.array(good)
        h = _homography(prep.keypoints[idx[:, 0]], kps[idx[:, 1]])
        if h is None or not align.plausible(h, (prep.work.shape[1], prep.work.shape[0]), p_size):
            continue
        h = _refined(h, templates[ti], pyr, ws)
        q = verify(work, templates[ti], h)
        out.append((q, ti, h))
        if q >= GOOD_QUALITY:
            break
    return out


def _refined(h_work: Mat, t: Template, pyr: align.Pyramid, ws: float) -> Mat:
    """Patch-refined homography (work → work), or the input when refinement finds too little.

    Coarse to fine: a wide search at working resolution (fixes an affine fit extrapolated from
    matches bunched in one part of the form, under perspective), then at ~100 dpi, then narrow.
    """
    prep = prepare(t)
    h_full = scale_mat(1.0 / ws) @ h_work @ scale_mat(prep.work_scale)
    coarse_pts = prep.refine_pts * (prep.work_scale / prep.refine_scale)
    h0, n0 = align.refine(
        h_full, prep.work, prep.work_scale, coarse_pts, pyr, search=24, patch_size=24
    )
    if n0:
        h_full = h0
    h_ref, inliers = align.refine(h_full, prep.refine_img, prep.refine_scale, prep.refine_pts, pyr)
    if not inliers:
        return scale_mat(ws) @ h_full @ scale_mat(1.0 / prep.work_scale)
    # A second, narrow pass: patches now line up in rotation and scale too.
    h_ref2, inliers2 = align.refine(
        h_ref, prep.refine_img, prep.refine_scale, prep.refine_pts, pyr, search=5
    )
    if inliers2 >= max(8, inliers // 2):
        h_ref = h_ref2
    return scale_mat(ws) @ h_ref @ scale_mat(1.0 / prep.work_scale)


LID_STEP = 12.0  # grey levels across the paper's edge: a lid is a step, uneven light a slope
LID_INK = 0.01  # share of a lid's pixels that may read as ink (noise, dust), not print


def _edge_step(blur: Grey, mask: npt.NDArray[np.uint8]) -> float:
    """Mean grey step across the border between ``mask`` (paper) and the rest (lid).

    Rings a few pixels inside and outside the border: a scanner lid ends at the paper's edge,
    while light falling off across the page splits it smoothly, with no step at the border.
    """
    k = np.ones((3, 3), np.uint8)
    inner = cv2.erode(mask, k, iterations=2) & ~cv2.erode(mask, k, iterations=4) & 1
    outer = cv2.dilate(mask, k, iterations=4) & ~cv2.dilate(mask, k, iterations=2) & 1
    if not inner.any() or not outer.any():
        return 0.0
    return float(blur[inner > 0].mean()) - float(blur[outer > 0].mean())


def _lid_at_border(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``mask`` (1 = paper) with dark parts that do not touch the picture's border made paper:
    a lid surrounds the sheet, so a shaded box or a dark logo inside it is not lid."""
    _n, labels, stats, _ = cv2.connectedComponentsWithStats((mask == 0).astype(np.uint8), 4)
    h, w = mask.shape
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    at_border = (x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)
    at_border[0] = False  # label 0 is the paper itself
    return np.where(at_border[labels], 0, 1).astype(np.uint8)


def _paper(work: Grey, ink: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.bool_]:
    """Where the paper is, when a darker scanner lid shows around it (else everywhere);
    ``ink``: ``_binarise_small(work)`` when the caller has it."""
    blur = cv2.morphologyEx(
        cv2.medianBlur(cv2.pyrDown(work), 5), cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8)
    )  # the paper's shade without the ink on it
    _, mask = cv2.threshold(blur, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = _lid_at_border(mask)
    if mask.mean() < 0.4 or mask.all():
        return np.ones(work.shape, bool)
    lid, paper = float(blur[mask == 0].mean()), float(blur[mask > 0].mean())
    if paper - lid < 25 or _edge_step(blur, mask) < LID_STEP:
        return np.ones(work.shape, bool)
    mask = cv2.erode(mask, np.ones((4, 4), np.uint8))
    mask = cv2.resize(mask, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    # A lid is bare: a "lid" with print on it is paper in the shade of uneven light.
    near = cv2.dilate(mask.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    ink = (_binarise_small(work) if ink is None else ink) & ~near
    if np.count_nonzero(ink) > LID_INK * max(int(np.count_nonzero(~near)), 1):
        return np.ones(work.shape, bool)
    return mask


def without_rim(ink: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """``ink`` less the picture's rim (``EDGE_MARGIN`` of its long side): a scan's own edge (the
    page's dark border, dust on the glass's rim) is not the form's print, and along a faint
    form's little ink it stretches the ink's box to the whole picture."""
    m = max(2, round(EDGE_MARGIN * max(ink.shape)))
    out = ink.copy()
    out[:m], out[-m:], out[:, :m], out[:, -m:] = False, False, False, False
    return out


def _fallback_candidates(
    pyr: align.Pyramid, work: Grey, ws: float, templates: Sequence[Template], keep: int = 2
) -> list[tuple[float, int, Mat]]:
    """When features fail: the form's ink box mapped onto the page's deskewed ink box, for each
    quarter turn and template; the best few guesses (by correlation) refined coarse to fine and
    verified. Only results above ``FALLBACK_QUALITY`` are returned: without feature consensus a
    repetitive form shifted by one row can look half right."""
    raw = _binarise_small(work)
    p_frame = align.ink_frame(without_rim(raw & _paper(work, raw)))
    if p_frame is None:
        return []
    guesses: list[tuple[float, int, Mat]] = []
    for ti, t in enumerate(templates):
        prep = prepare(t)
        th, tw = prep.work.shape
        t_frame = align.ink_frame(prep.ink, deskew=False)
        if t_frame is None:
            continue
        small = cv2.resize(prep.work, (tw // 4, th // 4), interpolation=cv2.INTER_AREA)
        for init in align.frame_guesses(t_frame, p_frame):
            warped = cv2.warpPerspective(
                work,
                init @ scale_mat(4.0),
                (tw // 4, th // 4),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderValue=255,
            )
            guesses.append((align.ncc(warped, small), ti, init))
    out: list[tuple[float, int, Mat]] = []
    p_size = (work.shape[1], work.shape[0])
    for _, ti, init in sorted(guesses, key=lambda g: -g[0])[:keep]:
        t = templates[ti]
        prep = prepare(t)
        if align.plausible(init, (prep.work.shape[1], prep.work.shape[0]), p_size):
            h = _refined(init, t, pyr, ws)
            q = verify(work, t, h)
            if q >= FALLBACK_QUALITY:
                out.append((q, ti, h))
    return out


def warm(templates: Sequence[Template]) -> None:
    """Compute every template's cached features and masks now (e.g. at worker start-up)."""
    for t in templates:
        prepare(t)
        inkremoval.remove_form(np.full((8, 8), 255, np.uint8), t, (0, 0, 8, 8))


def identify(page: Page, templates: Sequence[Template]) -> Registration | None:
    """Register ``page`` to the best-fitting template; None when none fits."""
    if not templates or min(page.image.shape[:2]) < 32:
        return None
    pyr = align.pyramid(page.image, align.WORK_LONG)
    work, ws = align.shrink(pyr, align.WORK_LONG)
    kps, desc = align.orb_features(work, PAGE_FEATURES)
    cands = _feature_candidates(pyr, work, ws, kps, desc, templates)
    method = "features"
    if not cands or max(c[0] for c in cands) < GOOD_QUALITY:
        fb = _fallback_candidates(pyr, work, ws, templates)
        if fb and max(c[0] for c in fb) > max((c[0] for c in cands), default=0.0):
            cands, method = fb, "fallback"
    if not cands or max(c[0] for c in cands) < MIN_QUALITY:
        # Handwriting crowds a sparse or repetitive form's own features out of the strongest
        # few hundred: look again with more (only pages that found no fit pay for it).
        kps, desc = align.orb_features(work, RETRY_FEATURES)
        cands, method = _feature_candidates(pyr, work, ws, kps, desc, templates), "features"
    if not cands:
        return None
    q, ti, h_work = max(cands, key=lambda c: c[0])
    if q < MIN_QUALITY:
        return None
    t = templates[ti]
    h_full = scale_mat(1.0 / ws) @ h_work @ scale_mat(prepare(t).work_scale)
    regions = field_regions(t)
    aligned = align_page(page.image, h_full, t.size, regions)
    ink = np.zeros_like(aligned)
    for box in regions:
        x, y, w, h = box
        ink[y : y + h, x : x + w] = inkremoval.remove_form(aligned[y : y + h, x : x + w], t, box)
    return Registration(t, h_full, float(np.clip(q, 0.0, 1.0)), aligned, ink, method, regions)


def field_regions(t: Template) -> list[Box]:
    """Each field box grown by its margins (``FieldSpec.margins``: ink crossing the box or
    written on past its end is still seen), clipped."""
    if "regions" not in t.cache:
        W, H = t.size
        out = []
        for f in t.fields:
            x, y, w, h = f.box
            m = max(12, int(0.25 * min(h, 200)))
            mx, my = (max(m, v) for v in f.margins())
            x0, y0 = max(0, x - mx), max(0, y - my)
            x1, y1 = min(W, x + w + mx), min(H, y + h + my)
            out.append((x0, y0, x1 - x0, y1 - y0))
        t.cache["regions"] = out
    return list(t.cache["regions"])


def align_page(
    image: Grey, h_full: Mat, size: tuple[int, int], regions: list[Box] | None = None
) -> Grey:
    """The page warped into template coordinates: whole, or only inside ``regions``."""
    if regions is None:
        return cv2.warpPerspective(
            image,
            h_full,
            size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )
    out = np.full((size[1], size[0]), 255, np.uint8)
    for x, y, w, h in regions:
        out[y : y + h, x : x + w] = cv2.warpPerspective(
            image,
            h_full @ shift_mat(x, y),
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )
    return out


def to_page_box(reg: Registration, box: Box) -> Box:
    """A template box's axis-aligned bounding box in page pixels."""
    x, y, w, h = box
    pts = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], dtype=np.float64)
    out = cv2.perspectiveTransform(pts, reg.homography)[0]
    x0, y0 = np.floor(out.min(axis=0))
    x1, y1 = np.ceil(out.max(axis=0))
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    return x0, y0, max(int(x1) - x0, 1), max(int(y1) - y0, 1)
