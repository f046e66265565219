"""Fields of a blank (or filled) form found from its printed structure: the template designer's eyes.

``find_fields`` looks at a picture of a form and returns where a person is meant to write digits:
separate boxes, comb fields (with their cell count), lines or dotted lines to write on, and table
cells meant for numbers, each with the printed caption that labels it when one is near.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from digitize.types import Box


@dataclass(frozen=True)
class FoundField:
    kind: str  # "box" | "comb" | "line" (the kinds of docs/templates.md)
    box: Box  # the box a template uses; for "line" the space above the line, the line included
    cells: int | None = None  # a comb's cell count
    caption: Box | None = None  # the printed text labelling the field, when one is near


def find_fields(grey: npt.NDArray[np.uint8]) -> list[FoundField]:
    """The fields of the form in ``grey`` (any resolution), in reading order."""
    return []
