"""Filled-and-scanned forms with ground truth, for tests, benchmarks and the bundled examples.

Handwriting comes from a ``DigitSource`` the caller passes in (MNIST *test* digits for benchmarks,
a script font for quick tests); nothing here imports TensorFlow. Digits are scaled to pen-sized
strokes, sometimes touch their neighbours, cross the printed lines or are broken, and the page
then goes through ``scanner.apply_effects``. Everything is a function of the seed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from model.training import forms
from model.training.scanner import ScanEffects, apply_effects, map_box, random_effects
from segmentation.templates import Template, load_templates

Box = tuple[int, int, int, int]
Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class DigitSource:
    """Digit images ``(N, 28, 28)`` (ink bright, uint8 or float in [0, 1]) with labels ``(N,)``."""

    images: npt.NDArray[np.generic]
    labels: npt.NDArray[np.integer]

    def pick(self, digit: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
        return self.image(self.pick_index(digit, rng))

    def pick_index(self, digit: int, rng: np.random.Generator) -> int:
        """Which image of ``digit`` to write (its index, so benchmarks can trace errors back)."""
        idx = np.flatnonzero(self.labels == digit)
        if idx.size == 0:
            raise ValueError(f"the digit source has no {digit}")
        return int(rng.choice(idx))

    def image(self, index: int) -> npt.NDArray[np.float32]:
        a = np.asarray(self.images[index], dtype=np.float32)
        return a / 255.0 if a.max() > 1.0 else a


def font_digit_source(seed: int = 0, per_digit: int = 12) -> DigitSource:
    """Digits in OpenCV's script fonts, slanted and thickened at random (no dataset needed)."""
    rng = np.random.default_rng(seed)
    fonts = [
        cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
        cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
        cv2.FONT_HERSHEY_SIMPLEX,
    ]
    images, labels = [], []
    for d in range(10):
        for _ in range(per_digit):
            canvas = np.zeros((84, 84), np.uint8)
            font = fonts[int(rng.integers(0, len(fonts)))]
            cv2.putText(
                canvas, str(d), (18, 66), font, 2.0, 255, int(rng.integers(4, 8)), cv2.LINE_AA
            )
            shear = np.array([[1, rng.uniform(-0.3, 0.1), 10], [0, 1, 0]], dtype=np.float32)
            canvas = cv2.warpAffine(canvas, shear, (84, 84))
            ys, xs = np.nonzero(canvas > 30)
            crop = canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            scale = 20 / max(crop.shape)
            small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            out = np.zeros((28, 28), np.uint8)
            y0, x0 = (28 - small.shape[0]) // 2, (28 - small.shape[1]) // 2
            out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
            images.append(out)
            labels.append(d)
    return DigitSource(np.stack(images), np.array(labels))


def digit_source_from_npz(path: Path) -> DigitSource:
    """Load ``images``/``labels`` (or ``x``/``y``, ``x_test``/``y_test``) from an ``.npz`` file."""
    with np.load(path) as data:
        for xs, ys in (("images", "labels"), ("x_test", "y_test"), ("x", "y")):
            if xs in data and ys in data:
                images = np.asarray(data[xs])
                return DigitSource(images.reshape(-1, 28, 28), np.asarray(data[ys]).astype(int))
    raise ValueError(f"{path}: no images/labels arrays")


@dataclass
class SyntheticPage:
    image: Image
    template: str | None  # None: a page of no known form
    values: dict[str, str]
    field_boxes: dict[str, Box]  # in scan pixels
    digit_boxes: dict[str, list[Box]]  # in scan pixels, one per digit, left to right
    homography: npt.NDArray[np.float64]  # template (paper) pixels → scan pixels
    effects: ScanEffects
    notes: dict[str, list[str]] = field(default_factory=dict)  # per field: touching/crossing/broken
    #: 255 where the pen darkened blank paper, in template (paper) pixels; None for free pages.
    handwriting: Image | None = None
    #: per field: the index in the digit source of each digit written, left to right
    sources: dict[str, list[int]] = field(default_factory=dict)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def field_value(f: forms.FieldDef, rng: np.random.Generator) -> str:
    """A digit string that satisfies the field's constraints."""
    if f.name == "date":
        day, month, year = rng.integers(1, 29), rng.integers(1, 13), rng.integers(1950, 2027)
        return f"{day:02d}{month:02d}{year:04d}"
    if f.range is not None:
        lo, hi = int(f.range[0]), int(f.range[1])
        value = str(int(rng.integers(lo, hi + 1)))
        return value.zfill(f.cells) if f.cells and f.kind == "comb" else value
    if f.kind == "comb" and f.cells:
        n = f.cells
    else:
        lo_n = f.min_digits or 3
        hi_n = max(lo_n, min(f.max_digits or 8, 9))
        n = int(rng.integers(lo_n, hi_n + 1))
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, n))
    if f.kind != "comb" and n > 1 and digits[0] == "0":
        digits = str(int(rng.integers(1, 10))) + digits[1:]
    if f.checksum == "luhn":
        digits = _luhn_complete(digits[:-1])
    return digits


def _stroke(
    digit: npt.NDArray[np.float32], height: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """A 28×28 digit as pen ink ``height`` pixels tall (float alpha in [0, 1])."""
    ys, xs = np.nonzero(digit > 0.1)
    crop = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = height / crop.shape[0]
    width = max(2, round(crop.shape[1] * scale))
    big = cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC)
    # MNIST strokes scaled up are too fat for a pen at 200 dpi: thin them a little.
    big = np.clip((big - rng.uniform(0.25, 0.45)) * 2.5, 0, 1)
    return big.astype(np.float32)


def _break(alpha: npt.NDArray[np.float32], rng: np.random.Generator) -> None:
    """Cut a thin gap through the digit, like a pen lifted or a dry stroke."""
    h, w = alpha.shape
    y = int(rng.integers(h // 4, 3 * h // 4))
    cv2.line(alpha, (0, y), (w, y + int(rng.integers(-h // 6, h // 6 + 1))), 0.0, max(2, h // 25))


class Filled(NamedTuple):
    """A filled form before scanning: values, digit boxes (paper pixels), notes, source indices."""

    paper: Image
    values: dict[str, str]
    boxes: dict[str, list[Box]]
    notes: dict[str, list[str]]
    sources: dict[str, list[int]]


def fill(
    layout: forms.Layout, source: DigitSource, rng: np.random.Generator, *, difficulty: float = 1.0
) -> Filled:
    """The blank form with handwriting in every field; values and digit boxes in paper pixels."""
    paper = forms.draw_reference(layout).astype(np.float32) / 255.0
    values: dict[str, str] = {}
    boxes: dict[str, list[Box]] = {}
    notes: dict[str, list[str]] = {}
    sources: dict[str, list[int]] = {}
    for f in layout.fields:
        text = field_value(f, rng)
        values[f.name] = text
        x, y, w, h = f.box
        pen = float(rng.uniform(0.75, 0.95))
        cells = f.cells if f.kind == "comb" and f.cells else None
        height = int(h * rng.uniform(0.55, 0.78))
        if cells is None:  # keep the string inside the field: ~0.75 h wide per digit plus gaps
            height = min(height, int(0.85 * w / (0.95 * max(len(text), 1))))
        cursor = x + int(rng.uniform(0.04, 0.12) * w) if cells is None else x
        digit_boxes: list[Box] = []
        flags: list[str] = []
        picked = sources.setdefault(f.name, [])
        for i, ch in enumerate(text):
            picked.append(source.pick_index(int(ch), rng))
            alpha = _stroke(source.image(picked[-1]), int(height * rng.uniform(0.9, 1.1)), rng)
            if rng.random() < 0.08 * difficulty:
                _break(alpha, rng)
                flags.append(f"broken:{i}")
            ah, aw = alpha.shape
            if cells is not None:
                cw = w / cells
                dx = x + int(i * cw + (cw - aw) / 2 + rng.uniform(-0.1, 0.1) * cw)
                dy = y + int((h - ah) * rng.uniform(0.35, 0.75))
                if rng.random() < 0.06 * difficulty:
                    dy = y + h - ah + int(rng.uniform(0.1, 0.25) * ah)
                    flags.append(f"crosses:{i}")
            else:
                dx = cursor
                base = y + h - 14 if f.kind == "line" else y + h - int(0.15 * h)
                dy = base - ah - int(rng.uniform(0, 0.12) * h)
                if rng.random() < 0.08 * difficulty:
                    dy = base - ah + int(rng.uniform(0.12, 0.25) * ah)
                    flags.append(f"crosses:{i}")
                gap = rng.uniform(0.08, 0.35) * aw
                if rng.random() < 0.12 * difficulty and i < len(text) - 1:
                    gap = -rng.uniform(0.02, 0.12) * aw
                    flags.append(f"touches:{i}")
                cursor = dx + aw + int(gap)
            region = paper[dy : dy + ah, dx : dx + aw]
            a = alpha[: region.shape[0], : region.shape[1]]
            region *= 1.0 - pen * a
            ys, xs = np.nonzero(a > 0.3)
            if ys.size:
                digit_boxes.append(
                    (
                        dx + int(xs.min()),
                        dy + int(ys.min()),
                        int(xs.max() - xs.min() + 1),
                        int(ys.max() - ys.min() + 1),
                    )
                )
        boxes[f.name] = digit_boxes
        notes[f.name] = flags
    return Filled(np.clip(paper * 255, 0, 255).astype(np.uint8), values, boxes, notes, sources)


def make_page(
    layout_name: str,
    source: DigitSource,
    seed: int,
    *,
    effects: ScanEffects | None = None,
    strength: float = 1.0,
    difficulty: float = 1.0,
) -> SyntheticPage:
    """One filled form, scanned; ``effects`` None draws them at random with ``strength``."""
    rng = np.random.default_rng(seed)
    layout = forms.ALL_LAYOUTS[layout_name]
    paper, values, digit_boxes, notes, sources = fill(layout, source, rng, difficulty=difficulty)
    blank = forms.draw_reference(layout)
    pen = ((blank.astype(np.int16) - paper.astype(np.int16)) > 40).astype(np.uint8) * 255
    fx = effects if effects is not None else random_effects(rng, strength=strength)
    image, hom = apply_effects(paper, fx, rng, base_dpi=forms.DPI)
    return SyntheticPage(
        image=image,
        template=layout.name,
        values=values,
        field_boxes={f.name: map_box(hom, f.box) for f in layout.fields},
        digit_boxes={k: [map_box(hom, b) for b in v] for k, v in digit_boxes.items()},
        homography=hom,
        effects=fx,
        notes=notes,
        handwriting=pen,
        sources=sources,
    )


def make_free_page(
    source: DigitSource, seed: int, *, effects: ScanEffects | None = None, strength: float = 1.0
) -> SyntheticPage:
    """A page of no known form: a few printed notes and handwritten numbers anywhere."""
    rng = np.random.default_rng(seed)
    w, h = forms.A4_200DPI
    page = np.full((h, w), 255, np.uint8)
    cv2.putText(
        page, "Meter readings", (140, 200), cv2.FONT_HERSHEY_DUPLEX, 1.6, 20, 3, cv2.LINE_AA
    )
    for i in range(4):
        cv2.putText(
            page,
            f"Reading {i + 1}:",
            (140, 420 + 380 * i),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.0,
            20,
            2,
            cv2.LINE_AA,
        )
    fields = [
        forms.FieldDef(
            f"reading{i + 1}",
            "",
            "line",
            (520 + int(rng.integers(-60, 120)), 330 + 380 * i, 800, 130),
            max_digits=7,
        )
        for i in range(4)
    ]
    page2, values, digit_boxes = _free_handwriting(page, fields, source, rng)
    fx = effects if effects is not None else random_effects(rng, strength=strength)
    image, hom = apply_effects(page2, fx, rng, base_dpi=forms.DPI)
    return SyntheticPage(
        image=image,
        template=None,
        values=values,
        field_boxes={k: map_box(hom, _union(v)) for k, v in digit_boxes.items() if v},
        digit_boxes={k: [map_box(hom, b) for b in v] for k, v in digit_boxes.items()},
        homography=hom,
        effects=fx,
    )


def _union(boxes: list[Box]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _free_handwriting(
    page: Image, fields: list[forms.FieldDef], source: DigitSource, rng: np.random.Generator
) -> tuple[Image, dict[str, str], dict[str, list[Box]]]:
    layout = forms.Layout("free", "", "", fields)
    filled, values, boxes, _, _ = fill(layout, source, rng, difficulty=0.0)
    blank = forms.draw_reference(layout)
    ink = blank.astype(np.int16) - filled.astype(np.int16)  # what the pen added
    out = np.clip(page.astype(np.int16) - np.clip(ink, 0, 255), 0, 255).astype(np.uint8)
    return out, values, boxes


def write_templates(directory: Path, names: Iterable[str] | None = None) -> list[Path]:
    """Template JSON + reference PNG for each layout (the default three); the JSON paths."""
    return [forms.write_template(forms.ALL_LAYOUTS[n], directory) for n in (names or forms.LAYOUTS)]


def generated_forms(
    source: DigitSource, pages: int, seeds: Sequence[int]
) -> Iterator[tuple[int, SyntheticPage, list[Template]]]:
    """``(k, page, templates)`` for ``pages`` forms per seed (page ``k`` from seed ``seed + k``)
    written with ``source``, the layouts in turn; ``templates`` are the forms' own."""
    with tempfile.TemporaryDirectory() as tmp:
        templates = load_templates(write_templates(Path(tmp)))
        names = sorted(forms.LAYOUTS)
        for seed in seeds:
            for k in range(pages):
                yield k, make_page(names[k % len(names)], source, seed + k), templates
