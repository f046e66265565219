"""Geometry helpers for registration: page pyramids, ORB features, patch refinement, fallback.

Coarse alignment works on a small image (~560 px long side); precision comes from refining the
homography with normalised cross-correlation of small patches of the reference around printed
corners, matched at about 100 dpi in a window around where the coarse fit puts them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Mat = npt.NDArray[np.float64]
Grey = npt.NDArray[np.uint8]

WORK_LONG = 560  # coarse working resolution: long side in pixels
REFINE_LONG = 1200  # refinement resolution: long side in pixels (~100 dpi for A4)
PATCH = 36  # refinement patch side at refinement resolution
SEARCH = 16  # refinement search radius at refinement resolution


def scale_mat(s: float) -> Mat:
    return np.diag([s, s, 1.0])


def shift_mat(dx: float, dy: float) -> Mat:
    return np.array([[1.0, 0, dx], [0, 1.0, dy], [0, 0, 1.0]])


@dataclass
class Pyramid:
    """A page at decreasing resolutions; ``levels[i]`` has ``scales[i]`` pixels per page pixel."""

    levels: list[Grey]
    scales: list[float]

    def at_least(self, scale: float) -> tuple[Grey, float]:
        """The smallest level with at least ``scale`` pixels per original pixel."""
        for img, s in zip(reversed(self.levels), reversed(self.scales), strict=True):
            if s >= scale * 0.999:
                return img, s
        return self.levels[0], self.scales[0]


def pyramid(image: Grey, smallest_long: int) -> Pyramid:
    levels, scales = [image], [1.0]
    while max(levels[-1].shape[:2]) >= 2 * smallest_long:
        levels.append(cv2.pyrDown(levels[-1]))
        scales.append(levels[-1].shape[1] / image.shape[1])
    return Pyramid(levels, scales)


def shrink(pyr: Pyramid, long_side: int) -> tuple[Grey, float]:
    """The page resized so its long side is ``long_side`` (area interpolation from the pyramid)."""
    base = pyr.levels[-1]
    s_total = long_side / max(pyr.levels[0].shape[:2])
    f = s_total / pyr.scales[-1]
    if abs(f - 1) < 1e-3:
        return base, pyr.scales[-1]
    # The pyramid already smoothed the page: linear is enough for the last step (f > 0.5).
    interp = cv2.INTER_LINEAR if f > 0.5 else cv2.INTER_AREA
    out = cv2.resize(base, None, fx=f, fy=f, interpolation=interp)
    return out, out.shape[1] / pyr.levels[0].shape[1]


def orb_features(
    image: Grey, n: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8] | None]:
    orb = cv2.ORB.create(
        nfeatures=n, scaleFactor=1.25, nlevels=5, edgeThreshold=15, patchSize=31, fastThreshold=12
    )
    kps, desc = orb.detectAndCompute(image, None)
    if desc is not None and len(kps):
        order = np.argsort([-k.response for k in kps], kind="stable")  # strongest first
        kps = [kps[i] for i in order]
        desc = desc[order]
    return np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2), desc


def refine_points(reference: Grey, count: int = 28) -> npt.NDArray[np.float32]:
    """Well-spread corner points of the reference (refinement resolution coordinates)."""
    h, w = reference.shape
    pts = cv2.goodFeaturesToTrack(
        reference, maxCorners=count * 3, qualityLevel=0.02, minDistance=max(h, w) / 14, blockSize=7
    )
    if pts is None:
        return np.zeros((0, 2), np.float32)
    pts = pts.reshape(-1, 2)
    margin = PATCH / 2 + SEARCH + 2
    inside = (
        (pts[:, 0] > margin)
        & (pts[:, 0] < w - margin)
        & (pts[:, 1] > margin)
        & (pts[:, 1] < h - margin)
    )
    keep = []
    half = PATCH // 2
    for x, y in pts[inside]:
        x0, y0 = round(x) - half, round(y) - half
        if float(cv2.meanStdDev(reference[y0 : y0 + PATCH, x0 : x0 + PATCH])[1][0, 0]) >= 12:
            keep.append((x, y))
    return np.array(keep[:count], dtype=np.float32).reshape(-1, 2)


def refine(
    h_full: Mat,
    ref_small: Grey,
    ref_scale: float,
    points: npt.NDArray[np.float32],
    pyr: Pyramid,
    search: int = SEARCH,
    patch_size: int = PATCH,
) -> tuple[Mat, int]:
    """Refine a template→page homography by matching reference patches on the page.

    ``ref_small`` is the reference at ``ref_scale``; ``points`` are patch centres in it. Returns the
    refined homography (or the input when too few patches agree) and the number of inliers.
    """
    half = patch_size // 2
    win = patch_size + 2 * search
    rh, rw = ref_small.shape
    # Page level whose resolution is at least the refinement resolution at the page's scale.
    page_per_tmpl = np.sqrt(abs(np.linalg.det(h_full[:2, :2])))
    level, lscale = pyr.at_least(min(1.0, ref_scale / max(page_per_tmpl, 1e-6)))
    to_level = scale_mat(lscale) @ h_full @ scale_mat(1.0 / ref_scale)  # ref_small -> level
    src, dst = [], []
    for cx, cy in points:
        x0, y0 = round(cx) - half, round(cy) - half
        if x0 < 0 or y0 < 0 or x0 + patch_size > rw or y0 + patch_size > rh:
            continue
        patch = ref_small[y0 : y0 + patch_size, x0 : x0 + patch_size]
        m = to_level @ shift_mat(x0 - search, y0 - search)
        region = cv2.warpPerspective(
            level,
            m,
            (win, win),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        if float(cv2.meanStdDev(region)[1][0, 0]) < 8:
            continue
        score = cv2.matchTemplate(region, patch, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(score)
        if best < 0.55:
            continue
        dx, dy = _subpixel(score, bx, by)
        # Reference point (x0 + half, y0 + half) sits at region (bx + dx + half, by + dy + half).
        src.append(((x0 + half) / ref_scale, (y0 + half) / ref_scale))
        dst.append((x0 - search + bx + dx + half, y0 - search + by + dy + half))
    if len(src) < 8:
        return h_full, 0
    pts = np.array(dst, dtype=np.float64).reshape(1, -1, 2)
    dst = list(cv2.perspectiveTransform(pts, to_level)[0] / lscale)
    thr = 1.5 / max(lscale, 1e-6)
    h_new, mask = cv2.findHomography(
        np.array(src, dtype=np.float64),
        np.array(dst, dtype=np.float64),
        cv2.RANSAC,
        thr,
        maxIters=500,
        confidence=0.995,
    )
    if h_new is None or mask is None or int(mask.sum()) < 8:
        return h_full, 0
    return h_new.astype(np.float64), int(mask.sum())


def _subpixel(score: npt.NDArray[np.float32], x: int, y: int) -> tuple[float, float]:
    def peak(a: float, b: float, c: float) -> float:
        d = a - 2 * b + c
        return 0.0 if abs(d) < 1e-9 else float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))

    h, w = score.shape
    dx = peak(score[y, x - 1], score[y, x], score[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = peak(score[y - 1, x], score[y, x], score[y + 1, x]) if 0 < y < h - 1 else 0.0
    return dx, dy


def plausible(h: Mat | None, t_size: tuple[int, int], p_size: tuple[int, int]) -> bool:
    """The template outline maps to a convex quad of sensible size and shape on the page."""
    if h is None or not np.all(np.isfinite(h)):
        return False
    w, hh = t_size
    quad = cv2.perspectiveTransform(
        np.array([[[0, 0], [w, 0], [w, hh], [0, hh]]], dtype=np.float64), h
    )[0]
    if not cv2.isContourConvex(quad.astype(np.float32)):
        return False
    area = cv2.contourArea(quad.astype(np.float32))
    page_area = p_size[0] * p_size[1]
    if not 0.25 * page_area < area < 1.6 * page_area:
        return False
    sides = np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)
    return bool(sides.min() > 0.5 * sides.max() * min(w, hh) / max(w, hh))


def skew_angle(
    ink: npt.NDArray[np.bool_], *, min_agreeing: int = 1, agree_degrees: float = 0.5
) -> float:
    """The page's skew in degrees, from the long straight lines a form is full of (Hough), folded
    into ±45° and weighted by length; 0 unless ``min_agreeing`` lines lie within
    ``agree_degrees`` of it (one stroke of a large digit is no form's rule)."""
    # Hough at half size: long lines survive, the cost drops fourfold
    half = cv2.resize(
        ink.astype(np.uint8) * 255, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA
    )
    _, half = cv2.threshold(half, 60, 255, cv2.THRESH_BINARY)
    lines = cv2.HoughLinesP(
        half,
        1,
        np.pi / 360,
        threshold=40,
        minLineLength=max(15, min(half.shape) // 5),
        maxLineGap=2,
    )
    # OpenCV 4 answers None when it finds no line, OpenCV 5 an empty (0, 4) array.
    if lines is None or not len(lines):
        return 0.0
    seg = lines.reshape(-1, 4).astype(np.float64)
    dx, dy = seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    folded = (np.degrees(np.arctan2(dy, dx)) + 45.0) % 90.0 - 45.0
    order = np.argsort(folded)
    weight = np.hypot(dx, dy)[order]
    angle = float(folded[order][np.searchsorted(np.cumsum(weight), weight.sum() / 2)])
    agreeing = np.count_nonzero(np.abs(folded - angle) <= agree_degrees)
    return angle if agreeing >= min_agreeing else 0.0


def ink_frame(ink: npt.NDArray[np.bool_], *, deskew: bool = True) -> Mat | None:
    """Corners (TL, TR, BR, BL) of the ink's robust bounding box, turned with the page's skew.

    Percentiles rather than extremes keep dust and specks from stretching the box.
    """
    ys, xs = np.nonzero(ink)
    if xs.size < 50:
        return None
    angle = skew_angle(ink) if deskew else 0.0
    theta = np.deg2rad(angle)
    c, s = np.cos(theta), np.sin(theta)
    cx, cy = float(xs.mean()), float(ys.mean())
    px, py = xs - cx, ys - cy
    u, v = c * px + s * py, -s * px + c * py  # coordinates along the skewed axes
    u0, u1 = np.percentile(u, [0.3, 99.7])
    v0, v1 = np.percentile(v, [0.3, 99.7])
    box = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
    back = np.array([[c, -s], [s, c]])
    return box @ back.T + [cx, cy]


def frame_guesses(t_frame: Mat, p_frame: Mat) -> list[Mat]:
    """Template→page homographies mapping the form's ink box onto the page's, per quarter turn."""
    src = t_frame.astype(np.float32)
    return [
        cv2.getPerspectiveTransform(src, np.roll(p_frame, -q, axis=0).astype(np.float32)).astype(
            np.float64
        )
        for q in range(4)
    ]


def ncc(a: Grey, b: Grey) -> float:
    """Normalised cross-correlation of two equally sized images."""
    af = a.astype(np.float32) - float(a.mean())
    bf = b.astype(np.float32) - float(b.mean())
    den = float(np.sqrt((af * af).sum() * (bf * bf).sum()))
    return float((af * bf).sum() / den) if den > 0 else 0.0
