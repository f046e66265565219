"""The typed values that flow between pipeline stages.

These are the contract between ``segmentation`` (produces them), ``model`` (scores crops) and
``worker``/``db`` (store them). Boxes are ``(x, y, w, h)`` in the pixels of the page as read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Box = tuple[int, int, int, int]

#: Index of the "not a digit" class in classifier outputs (classes 0-9 are the digits).
NOT_A_DIGIT = 10
NUM_CLASSES = 11


class DigitClassifier(Protocol):
    """What the page reader needs from the recognizer.

    ``crops``: float32 array ``(N, 28, 28)`` normalised the MNIST way (white ink on black,
    values in [0, 1]). Returns float32 ``(N, 11)`` calibrated probabilities; column 10 is
    "not a digit". ``N`` may be 0.
    """

    def predict_proba(self, crops: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class Page:
    """One decoded page: greyscale uint8 image (0 = black ink, 255 = white paper)."""

    number: int  # 1-based
    image: npt.NDArray[np.uint8]
    source: str = ""
    dpi: float | None = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass
class DigitResult:
    value: int | None  # None when the best class is "not a digit"
    confidence: float
    box: Box
    alternatives: list[tuple[int, float]] = field(default_factory=list)  # top-3 (digit, prob)
    needs_review: bool = False
    crop: npt.NDArray[np.uint8] | None = None  # the digit as scanned (for review), greyscale
    #: the classifier's probability of each digit 0-9 (for reading under a field's rules)
    probs: npt.NDArray[np.float32] | None = None
    #: the row of the page's classifier batch (``PageSegmentation.crops``) it was read from
    row: int | None = None


@dataclass
class FieldResult:
    name: str
    value: str
    confidence: float  # calibrated probability that the whole string is right
    box: Box
    digits: list[DigitResult] = field(default_factory=list)
    needs_review: bool = False
    reasons: list[str] = field(default_factory=list)
    image: npt.NDArray[np.uint8] | None = None  # the field as scanned (for review), greyscale
    #: Other cuts' readings, likeliest first, each with its own confidence: kept only for a
    #: field whose best reading breaks its template's rules, to be read under them.
    others: list[FieldResult] = field(default_factory=list)
    #: No handwriting at all was found in the field once the form's print was taken off: not
    #: even marks read as stray (a template field left blank).
    blank: bool = False

    def flag(self, reason: str) -> None:
        """Add the review reason ``reason``, once."""
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass
class PageResult:
    number: int
    width: int
    height: int
    template: str | None  # None: read template-free
    registration_quality: float | None
    fields: list[FieldResult] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: The classifier's inputs, one per ``DigitResult.row`` (kept only when asked for).
    crops: npt.NDArray[np.float32] | None = field(default=None, repr=False, compare=False)
    #: The registration's fit, template pixels → page pixels (None: read template-free); shows
    #: where each template box landed (``digitize template check``).
    homography: npt.NDArray[np.float64] | None = field(default=None, repr=False, compare=False)
