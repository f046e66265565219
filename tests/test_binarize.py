"""Binarisation of small pictures: a close-up's wide, blurred strokes stay whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import segmentation.binarize as binarize_module
from segmentation.binarize import binarize


def _blurred_zero(side: int = 90) -> np.ndarray:
    """A close-up of a 0 in a broad blue pen, out of focus: strokes a sixth of the picture."""
    img = np.full((side, side), 200, np.uint8)
    cv2.ellipse(img, (side // 2, side // 2), (side // 3, side * 2 // 5), 0, 0, 360, 90, side // 7)
    img = cv2.GaussianBlur(img, (0, 0), side / 40)
    return img


def _pieces(mask: np.ndarray) -> int:
    return cv2.connectedComponents((mask > 0).astype(np.uint8))[0] - 1


def test_a_close_ups_broad_blurred_ring_binarises_whole() -> None:
    mask = binarize(_blurred_zero())
    assert _pieces(mask) == 1
    h, w = mask.shape
    assert not mask[h // 2 - 5 : h // 2 + 5, w // 2 - 5 : w // 2 + 5].any()  # the hole stays


def test_with_a_closing_narrower_than_the_stroke_the_ring_breaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the closing is not a tenth of a small picture: the paper estimate takes the stroke."""
    monkeypatch.setattr(binarize_module, "PAPER_CLOSING", 9)
    mask = binarize(_blurred_zero())
    ring = cv2.ellipse(np.zeros((90, 90), np.uint8), (45, 45), (30, 36), 0, 0, 360, 255, 12)
    assert (mask & ring).sum() < 0.8 * ring.sum() or _pieces(mask) > 1


@pytest.mark.parametrize("shape", [(100, 321), (16, 330), (3, 400), (321, 100)])
def test_a_picture_just_over_the_working_size_binarises(shape: tuple[int, int]) -> None:
    """The paper is estimated on the picture shrunk to 320 pixels at most. A strip a little
    longer than that keeps its short side's length when shrunk (100 × 321 → 100 × 320), and the
    paper came back the wrong size: `digitize predict` failed on such an amount."""
    img = np.full(shape, 235, np.uint8)
    h, w = shape
    img[h // 3 : h // 3 + max(1, h // 3), w // 3 : w // 3 + max(1, w // 10)] = 30
    ink = binarize(img)
    assert ink.shape == shape
    assert ink[h // 3, w // 3] == 255 and ink[0, 0] == 0
