"""The digit strings of a photo or scan read template-free (``digitize predict``), and a picture.

For a photo the strings that matter are the big ones, so strings much smaller than the tallest
are left out (dust, printed captions).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from digitize.types import FieldResult

#: Strings shorter than this fraction of the tallest string on the image are ignored.
MIN_RELATIVE_HEIGHT = 0.45


@dataclass
class Prediction:
    """The digits read off one image: strings in reading order, joined by spaces in ``value``."""

    source: str
    strings: list[FieldResult]

    @property
    def value(self) -> str:
        return " ".join(s.value for s in self.strings)

    @property
    def confidence(self) -> float:
        return float(np.prod([s.confidence for s in self.strings])) if self.strings else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "value": self.value,
            "confidence": round(self.confidence, 4),
            "digits": [
                {"value": d.value, "confidence": round(d.confidence, 4), "box": list(d.box)}
                for s in self.strings
                for d in s.digits
            ],
        }


#: A string shorter than this share of a number's digits, under the number's middle and within
#: its length, is the tail of a decimal comma or a thousands separator written low: no number.
SEPARATOR_HEIGHT = 0.6


def _under(mark: FieldResult, number: FieldResult) -> bool:
    """Whether ``mark`` hangs from the lower half of ``number``'s line, within its length."""
    x, y, w, h = mark.box
    nx, ny, nw, nh = number.box
    if nw <= nh or not number.digits:  # a number lying down: no line to hang from
        return False
    tall = float(np.median([d.box[3] for d in number.digits]))
    return (
        nx <= x + w / 2 <= nx + nw
        and h < SEPARATOR_HEIGHT * tall
        and y >= ny + nh - tall / 2
        and y <= ny + nh
    )


def main_strings(fields: list[FieldResult], source: str) -> Prediction:
    """The strings of a template-free reading that are not much smaller than the tallest one,
    less the separators hanging under a number (``SEPARATOR_HEIGHT``)."""
    if fields:
        tallest = max(max(d.box[3] for d in f.digits) for f in fields)
        fields = [
            f for f in fields if max(d.box[3] for d in f.digits) >= MIN_RELATIVE_HEIGHT * tallest
        ]
        fields = [f for f in fields if not any(_under(f, g) for g in fields if g is not f)]
    return Prediction(source, fields)


def draw(image: npt.NDArray[np.uint8], prediction: Prediction) -> npt.NDArray[np.uint8]:
    """A colour copy of ``image`` with each digit boxed and labelled 'value confidence'."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    scale = max(0.4, min(out.shape[:2]) / 900)
    thick = max(1, round(2 * scale))
    for s in prediction.strings:
        x, y, w, h = s.box
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 128, 0), thick)
        for d in s.digits:
            dx, dy, dw, dh = d.box
            colour = (0, 170, 0) if d.confidence >= 0.9 else (0, 0, 230)
            cv2.rectangle(out, (dx, dy), (dx + dw, dy + dh), colour, thick)
            label = f"{d.value} {d.confidence:.2f}"
            org = (dx, max(12, dy - 4))
            cv2.putText(
                out,
                label,
                org,
                cv2.FONT_HERSHEY_SIMPLEX,
                0.6 * scale,
                (255, 255, 255),
                thick + 2,
                cv2.LINE_AA,
            )
            cv2.putText(
                out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, colour, thick, cv2.LINE_AA
            )
    return out
