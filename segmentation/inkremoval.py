"""Remove the printed form from an aligned page, keeping the handwriting.

The aligned page is binarised with a local threshold (uneven light, grey paper), the template's own
printed ink, dilated to absorb small registration errors, is subtracted, and the gaps this cuts
into strokes that cross a printed line are bridged again: inside the printed mask, a pixel is kept
where handwriting continues on both sides of the line; handwriting that runs along a line inside
its tolerance band (a 0 resting on a box's lower edge) is grown back from the kept strokes.
Left-over pieces of long straight printed lines (a registration error larger than the
tolerance) are removed near the printed mask.

A hysteresis threshold and a second reading at other threshold offsets were no better on
validation pages: the confident errors stay the same (docs/experiments.md).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from segmentation.imageops import bridged, components_with_stats

Grey = npt.NDArray[np.uint8]


#: Handwriting is ink where the page is darker than its neighbourhood by this much; faint ink
#: (by ``FAINT_OFFSET``) counts within the registration tolerance and a pixel of clear ink. A
#: light pen's strokes binarise in pieces at the first; following faint ink further out would
#: follow a shaded field's soft edge too (docs/experiments.md).
INK_OFFSET, FAINT_OFFSET = 22, 16


def binarise(image: Grey, *, block: int | None = None, offset: int = INK_OFFSET) -> Grey:
    """Ink (255) where the page is clearly darker than its neighbourhood."""
    if block is None:
        block = max(15, (min(image.shape[:2]) // 50) | 1)
    return cv2.adaptiveThreshold(
        image, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block | 1, offset
    )


def printed_ink(template: Any) -> tuple[Grey, Grey]:
    """The reference's printed ink (255) without specks, and a clean picture drawn from it.

    A reference may itself be a scan of the blank form (grey paper, shading, dust); matching and
    form removal work from this cleaned version so the dust is neither a feature nor "print".
    """
    cache = template.cache
    if "printed" not in cache:
        ref = template.reference
        w = ref.shape[1]
        dark = cv2.threshold(ref, 109, 255, cv2.THRESH_BINARY_INV)[1]  # ref < 110
        printed = cv2.bitwise_or(binarise(ref), dark)
        _, labels, stats, _ = components_with_stats(printed)
        min_area = max(4, round(20 * (w / 1654) ** 2))
        speck = stats[:, cv2.CC_STAT_AREA] < min_area
        speck[0] = False  # the background
        if speck.any():
            printed[speck[labels]] = 0  # a lookup per pixel, not np.isin's sort
        clean = (255 - (printed > 0) * 225).astype(np.uint8)
        clean = cv2.GaussianBlur(clean, (0, 0), 0.6)
        cache["printed"] = (printed, clean)
    return cache["printed"]


def _masks(template: Any) -> dict[str, Grey]:
    cache = template.cache
    if "ink_masks" not in cache:
        w = template.reference.shape[1]
        tol = max(2, round(w / 550))  # ~3 px at A4/200 dpi: the registration tolerance
        printed = printed_ink(template)[0]
        near = cv2.dilate(
            printed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 1, 2 * tol + 1))
        )
        wide = cv2.dilate(printed, np.ones((6 * tol + 1, 6 * tol + 1), np.uint8))
        core = cv2.dilate(printed, np.ones((3, 3), np.uint8))  # the line itself, 1 px grown
        cache["ink_masks"] = {"near": near, "wide": wide, "core": core, "tol": np.array([tol])}
    return cache["ink_masks"]


def remove_form(
    aligned: Grey, template: Any, region: tuple[int, int, int, int] | None = None
) -> Grey:
    """Handwriting only (255 on 0) of ``aligned``: the template's ``region`` (default: all)."""
    masks = _masks(template)
    near, wide, core = masks["near"], masks["wide"], masks["core"]
    if region is not None:
        x, y, w, h = region
        near, wide, core = (m[y : y + h, x : x + w] for m in (near, wide, core))
    tol = int(masks["tol"][0])
    block = max(15, (min(template.reference.shape[:2]) // 50) | 1)
    ink = binarise(aligned, block=block)
    # Faint ink next to clear ink: the rest of a stroke that a light or skipping pen broke.
    faint = binarise(aligned, block=block, offset=FAINT_OFFSET)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 3, 2 * tol + 3))
    ink = cv2.bitwise_or(ink, cv2.bitwise_and(faint, cv2.dilate(ink, k)))
    kept = cv2.bitwise_and(ink, cv2.bitwise_not(near))
    # Long horizontal remains of printed lines that escaped the mask (only near printed ink);
    # vertical printed strokes are short (comb cells, box sides) and as tall as a "1", so the
    # mask alone deals with them.
    span = max(40, template.reference.shape[1] // 16)
    horiz = cv2.morphologyEx(kept, cv2.MORPH_OPEN, np.ones((1, span), np.uint8))
    lines = cv2.bitwise_and(horiz, wide)
    if np.any(lines):
        lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
        kept = cv2.bitwise_and(kept, cv2.bitwise_not(lines))
    # Bridge strokes across the mask: close along both axes, keep only what the page has as ink.
    kept = cv2.bitwise_or(kept, bridged(kept, near, ink, 4 * tol + 5))
    return cv2.bitwise_or(kept, _grazing(ink, kept, core, near, tol))


def _grazing(ink: Grey, kept: Grey, core: Grey, near: Grey, tol: int) -> Grey:
    """Handwriting that runs along a printed line inside its tolerance band (the bottom of a 0
    resting on the box's lower edge), which the bridging cannot restore: ink of the band
    outside the line's own pixels, not in long straight runs (left-overs of a line shifted by
    the registration), and touching handwriting that was kept."""
    extra = cv2.bitwise_and(cv2.bitwise_and(ink, near), cv2.bitwise_not(core))
    if not np.any(extra):
        return extra
    # A digit can rest on a box edge for most of its width, so horizontal left-overs count as
    # straight only when longer than a digit; vertical ones (comb cells) already when short.
    straight = cv2.bitwise_or(
        cv2.morphologyEx(extra, cv2.MORPH_OPEN, np.ones((1, 30 * tol + 1), np.uint8)),
        cv2.morphologyEx(extra, cv2.MORPH_OPEN, np.ones((8 * tol + 1, 1), np.uint8)),
    )
    extra = cv2.bitwise_and(extra, cv2.bitwise_not(cv2.dilate(straight, np.ones((3, 3), np.uint8))))
    touching = cv2.bitwise_and(extra, cv2.dilate(kept, np.ones((3, 3), np.uint8)))
    if not np.any(touching):
        return touching
    for _ in range(2 * tol):  # grow from the kept strokes, within the band's extra ink
        grown = cv2.bitwise_and(cv2.dilate(touching, np.ones((3, 3), np.uint8)), extra)
        if np.array_equal(grown, touching):
            break
        touching = grown
    return touching
