"""Handwritten amounts as people write them: separators, currency signs and closing dashes.

Cheque amounts and form totals are written ``3.975,00``, ``$ 1.000.-``, ``1,250.50`` or
``45,-``: digits with marks between, before and after them that are not digits and are no part
of the number's value. ``make_amount`` draws one such amount on a strip of paper (a cheque's
amount box, a photo of a total), seeded, with its truth: the text written and the value, its
digits only.

Digits come from a corpus writer (MNIST digits or handwriting fonts, ``bench.corpus.writers``).
Marks are drawn as a pen draws them: a dot, a comma's short hooked stroke, a dash, and the
currency signs in one of the held-out handwriting fonts of the writer's split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from bench.corpus import fonts
from bench.corpus.writers import Pen, Writer, random_pen
from model.training.fonts import crop_to_ink, draw_glyph
from model.training.scanner import ScanEffects, apply_effects

Alpha = npt.NDArray[np.float32]

#: How an amount's text is laid out: name → (digits of the integer part) → text.
Style = Callable[[np.random.Generator], str]


def _int(rng: np.random.Generator, lo: int, hi: int) -> str:
    n = int(rng.integers(lo, hi + 1))
    return str(int(rng.integers(1, 10))) + "".join(str(int(d)) for d in rng.integers(0, 10, n - 1))


def _grouped(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def _cents(rng: np.random.Generator) -> str:
    return "00" if rng.random() < 0.5 else f"{int(rng.integers(0, 100)):02d}"


STYLES: dict[str, Style] = {
    "plain": lambda rng: _int(rng, 2, 7),
    "thousands_dot": lambda rng: _grouped(_int(rng, 4, 7), "."),
    "thousands_comma": lambda rng: _grouped(_int(rng, 4, 7), ","),
    "decimal_comma": lambda rng: _int(rng, 1, 4) + "," + _cents(rng),
    "decimal_point": lambda rng: _int(rng, 1, 4) + "." + _cents(rng),
    "continental": lambda rng: _grouped(_int(rng, 4, 7), ".") + "," + _cents(rng),
    "english": lambda rng: _grouped(_int(rng, 4, 7), ",") + "." + _cents(rng),
    "currency": lambda rng: str(rng.choice(["$", "€", "£"])) + _grouped(_int(rng, 2, 6), "."),
    "closing_dash": lambda rng: _grouped(_int(rng, 2, 6), ".") + str(rng.choice([".-", ",-", "-"])),
    "cheque": lambda rng: "$" + _grouped(_int(rng, 4, 6), ".") + ".-",
}


@dataclass(frozen=True)
class Amount:
    image: npt.NDArray[np.uint8]  # grey, dark ink on light paper
    text: str  # as written, marks included
    value: str  # its digits only: what the reader should store
    style: str


def _mark(ch: str, height: int, pen: Pen, rng: np.random.Generator, font: str | None) -> Alpha:
    """A non-digit mark drawn by hand: ``.``, ``,``, ``-`` as pen strokes, signs from ``font``
    (OpenCV's printed ``$`` where there is none)."""
    t = max(2, round(height / 12) + pen.width)
    if ch == ".":
        r = max(2, round(t * rng.uniform(0.6, 0.9)))
        a = np.zeros((2 * r + 4, 2 * r + 4), np.float32)
        axes = (r, max(1, round(r * rng.uniform(0.7, 1.0))))
        cv2.ellipse(a, (r + 2, r + 2), axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        return a
    if ch == ",":
        n = round(height * rng.uniform(0.2, 0.32))
        a = np.zeros((n + 2 * t, n // 2 + 3 * t), np.float32)
        pts = np.array([[n // 2 + t, t], [n // 2 + t, n // 3 + t], [t, n + t]], np.int32)
        cv2.polylines(a, [pts], False, 1.0, t, cv2.LINE_AA)
        cv2.circle(a, (n // 2 + t, t + 1), t, 1.0, -1)
        return a
    if ch == "-":
        n = round(height * rng.uniform(0.35, 0.7))
        a = np.zeros((4 * t, n + 2 * t), np.float32)
        y0, y1 = 2 * t + int(rng.integers(-t, t + 1)), 2 * t + int(rng.integers(-t, t + 1))
        cv2.line(a, (t, y0), (n + t, y1), 1.0, t, cv2.LINE_AA)
        return a
    if font is None:
        printed = np.zeros((3 * height, 3 * height), np.float32)
        cv2.putText(
            printed, "$", (height, 2 * height), cv2.FONT_HERSHEY_SIMPLEX, height / 25, 1.0, t
        )
        return crop_to_ink(printed, 0.05)
    a = crop_to_ink(draw_glyph(font, ch, 2 * height), 0.05)
    scale = height * rng.uniform(0.95, 1.2) / a.shape[0]
    return np.clip(cv2.resize(a, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), 0, 1)


def _rule(
    grey: npt.NDArray[np.uint8], base: int, height: int, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """The amount cut tight, on the printed line it is written on (the digits stand on it or
    cross it) or in a box (their feet on its floor), drawn thin in a print grey."""
    h, w = grey.shape
    ink = int(rng.integers(40, 150))
    t = int(rng.integers(1, 3))
    floor = base + int(rng.integers(-2, 5))
    tilt = int(rng.integers(-3, 4))
    out = grey.copy()
    cv2.line(out, (0, floor), (w - 1, floor + tilt), ink, t)
    top = max(0, base - int(1.45 * height))
    if rng.random() < 0.5:  # a box: its sides and lid too
        left, right = int(rng.integers(0, height // 3)), w - 1 - int(rng.integers(0, height // 3))
        cv2.line(out, (left, top + 2), (left, floor), ink, t)
        cv2.line(out, (right, top + 2), (right, floor + tilt), ink, t)
        cv2.line(out, (left, top + 2), (right, top + 2), ink, t)
    bottom = min(h, floor + int(rng.uniform(0.1, 0.3) * height))
    return out[top:bottom]


def sign_fonts(split: str) -> list[str]:
    """The held-out handwriting fonts of ``split`` ("validation" or "test") the signs are
    written in: never those the network is trained on."""
    names = fonts.VALIDATION_FONTS if split == "validation" else fonts.TEST_FONTS
    return [str(p) for p in fonts.font_paths(names)]


def make_amount(
    seed: int, writer: Writer, style: str, signs: list[str] | None = None, ruled: bool = False
) -> Amount:
    """Amount ``seed`` in ``style`` (a ``STYLES`` name) by ``writer``, scanned; currency signs
    in one of the font files ``signs`` (``sign_fonts``; none: a printed ``$``). ``ruled``: as a
    cheque's amount is cut out of it, tight around the writing, with the printed line it is
    written on or the box it is written in (``_rule``)."""
    rng = np.random.default_rng(seed)
    text = STYLES[style](rng)
    if not signs:
        text = text.replace("€", "$").replace("£", "$")
    pen = random_pen(rng)
    font = signs[int(rng.integers(0, len(signs)))] if signs else None
    height = int(rng.integers(40, 70))
    glyphs: list[tuple[str, Alpha]] = []
    for ch in text:
        if ch.isdigit():
            glyphs.append(
                (ch, writer.glyph(int(ch), int(height * rng.uniform(0.9, 1.1)), pen, rng))
            )
        else:
            glyphs.append((ch, _mark(ch, height, pen, rng, font)))
    width = sum(a.shape[1] for _, a in glyphs) + height * (len(glyphs) + 2)
    paper = np.zeros((3 * height, width), np.float32)
    base = 2 * height + int(rng.integers(-4, 5))  # the writing's baseline
    x = height // 2 + int(rng.integers(0, height // 2))
    for i, (ch, a) in enumerate(glyphs):
        ah, aw = a.shape
        if ch in ".,":
            y = base - ah // 3 if ch == "," else base - ah
        elif ch == "-":
            y = base - height // 2 - ah // 2
        else:
            y = base - ah - int(rng.integers(-3, 4))
        gap = rng.uniform(0.1, 0.35) * height
        if ch in ".,-" or (i and glyphs[i - 1][0] in "$€£"):
            gap *= rng.uniform(0.3, 1.0)
        region = paper[y : y + ah, x : x + aw]
        np.maximum(region, a[: region.shape[0], : region.shape[1]] * pen.pressure, out=region)
        x += aw + int(gap)
    paper = paper[:, : x + height // 2]
    colour = np.array(pen.colour, np.float32) / 255.0
    grey = 255.0 * (1.0 - paper[..., None] * (1.0 - colour))
    grey = cv2.cvtColor(np.clip(grey, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    if ruled:
        grey = _rule(grey, base, height, rng)
    fx = ScanEffects(
        skew_deg=float(rng.uniform(-2, 2)),
        margin=0,
        lid=255,
        noise=float(rng.uniform(0, 6)),
        blur=float(rng.uniform(0, 0.8)),
        jpeg_quality=int(rng.integers(50, 95)) if rng.random() < 0.5 else None,
    )
    image, _ = apply_effects(grey, fx, rng)
    return Amount(image, text, "".join(c for c in text if c.isdigit()), style)
