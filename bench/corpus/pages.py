"""Filled and scanned corpus pages with their truth, and the template of each blank form.

``make_page(family, seed, writer)`` is a pure function of its arguments: the blank form comes
from ``layouts.FAMILIES[family]`` with a generator seeded by (family, seed), the handwriting,
ticks and stamps from a second one, the scan from ``model.training.scanner``. Digits sometimes
touch each other, cross the printed lines or stick out of their cells, as people write.
"""

from __future__ import annotations

import json
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from bench.corpus.layouts import (
    A4,
    DPI,
    FAMILIES,
    LINE_WIDTH,
    Box,
    CorpusField,
    FormLayout,
    draw_stamp,
)
from bench.corpus.writers import Pen, Writer, random_pen
from model.training.scanner import ScanEffects, apply_effects, map_box, random_effects

Image = npt.NDArray[np.uint8]
#: Share of fields left empty (their truth value is "").
EMPTY = 0.08


@dataclass
class TruthField:
    name: str
    kind: str
    value: str  # "" for a field left empty
    box: Box  # the field's box in scan pixels
    ink: Box | None  # the written digits' bounding box in scan pixels (None when empty)
    notes: list[str] = field(default_factory=list)  # touches:i, crosses:i, out_of_cell:i


@dataclass
class CorpusPage:
    family: str
    seed: int
    writer: str
    image: Image  # the scan, grey
    fields: list[TruthField]
    distractors: list[tuple[str, Box]]  # (kind, box in scan pixels): not fields
    template_path: Path  # JSON of the blank form's template
    effects: ScanEffects
    homography: npt.NDArray[np.float64]  # paper pixels -> scan pixels

    @property
    def values(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields}


def _seed(family: str, seed: int, part: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(family.encode()), seed, part])


@contextmanager
def drawn_with(line_width: int | None) -> Iterator[None]:
    """Forms drawn inside have their boxes, combs and rules printed with a ``line_width`` pen
    (bold print or hairlines, a stress test); all else as drawn, the same random choices."""
    token = LINE_WIDTH.set(line_width)
    try:
        yield
    finally:
        LINE_WIDTH.reset(token)


@lru_cache(maxsize=256)
def layout(family: str, seed: int, line_width: int | None = None) -> FormLayout:
    """The blank form (family, seed); ``line_width``: its structure printed with that pen."""
    with drawn_with(line_width):
        return FAMILIES[family](_seed(family, seed, 0))


def _template_json(lay: FormLayout, name: str, reference: str) -> dict[str, object]:
    fields = []
    for f in lay.fields:
        spec: dict[str, object] = {"name": f.name, "box": list(f.box), "kind": f.kind}
        if f.kind == "comb":
            spec["cells"] = len(f.cells)
        elif f.kind == "box":
            spec["max_digits"] = f.max_digits
        fields.append(spec)
    return {"name": name, "reference": reference, "size": list(A4), "fields": fields}


_TEMPLATE_DIR: list[Path] = []


def template_dir() -> Path:
    if not _TEMPLATE_DIR:
        _TEMPLATE_DIR.append(Path(tempfile.mkdtemp(prefix="digitize-corpus-")))
    return _TEMPLATE_DIR[0]


@lru_cache(maxsize=512)
def template_path(
    family: str, seed: int, directory: Path | None = None, line_width: int | None = None
) -> Path:
    """The template (JSON + reference PNG) of the blank form of (family, seed), written once."""
    folder = directory or template_dir()
    folder.mkdir(parents=True, exist_ok=True)
    lay = layout(family, seed, line_width)
    name = f"{family}_{seed}" + (f"_lw{line_width}" if line_width else "")
    png = folder / f"{name}.png"
    cv2.imwrite(str(png), lay.grey, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    path = folder / f"{name}.json"
    path.write_text(json.dumps(_template_json(lay, name, png.name)))
    return path


def field_value(f: CorpusField, rng: np.random.Generator) -> str:
    if rng.random() < EMPTY:
        return ""
    if f.kind == "comb":
        return "".join(str(int(d)) for d in rng.integers(0, 10, len(f.cells)))
    hi = 3 if f.value == "small" else max(1, f.max_digits)
    n = (
        int(rng.integers(1, hi + 1))
        if rng.random() < 0.25
        else int(rng.integers(min(3, hi), hi + 1))
    )
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, n))
    if n > 1 and digits[0] == "0":
        digits = str(int(rng.integers(1, 10))) + digits[1:]
    return digits


def _paste(paper: npt.NDArray[np.float32], alpha: npt.NDArray[np.float32], x: int, y: int,
           pen: Pen) -> Box | None:  # fmt: skip
    """Multiply-blend pen ink onto the paper at (x, y); the inked box (paper pixels)."""
    h, w = paper.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + alpha.shape[1]), min(h, y + alpha.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None] * pen.pressure
    tint = np.array(pen.colour, np.float32) / 255.0
    paper[y0:y1, x0:x1] *= 1.0 - a * (1.0 - tint)
    ys, xs = np.nonzero(a[..., 0] > 0.3 * pen.pressure)
    if ys.size == 0:
        return None
    return x0 + int(xs.min()), y0 + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1


def _union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _write_field(paper: npt.NDArray[np.float32], f: CorpusField, text: str, writer: Writer,
                 pen: Pen, rng: np.random.Generator) -> tuple[list[Box], list[str]]:  # fmt: skip
    x, y, w, h = f.box
    boxes: list[Box] = []
    notes: list[str] = []
    if f.kind == "comb":
        cw = f.cells[0][2]
        height = int(min(h * rng.uniform(0.55, 0.8), cw * rng.uniform(0.95, 1.25)))
    else:
        height = int(h * rng.uniform(0.5, 0.75))
        height = min(height, int(0.85 * w / (0.75 * max(len(text), 1))))
    height = max(height, 24)
    cursor = x + int(rng.uniform(0.04, 0.15) * w)
    for i, ch in enumerate(text):
        alpha = writer.glyph(int(ch), int(height * rng.uniform(0.9, 1.1)), pen, rng)
        ah, aw = alpha.shape
        if f.kind == "comb":
            cx, cy, cw, chh = f.cells[i]
            dx = cx + int((cw - aw) / 2 + rng.uniform(-0.12, 0.12) * cw)
            dy = cy + int((chh - ah) * rng.uniform(0.3, 0.8))
            if rng.random() < 0.07:  # crosses the bottom line or sticks out of its cell
                dy = cy + chh - ah + int(rng.uniform(0.1, 0.25) * ah)
                notes.append(f"crosses:{i}")
            elif rng.random() < 0.07:
                dx += int(rng.choice([-1, 1]) * rng.uniform(0.2, 0.35) * cw)
                notes.append(f"out_of_cell:{i}")
        else:
            base = y + h - 14 if f.kind == "line" else y + h - int(0.14 * h)
            dx = cursor
            dy = base - ah - int(rng.uniform(0, 0.1) * h)
            if rng.random() < 0.08:
                dy = base - ah + int(rng.uniform(0.12, 0.3) * ah)
                notes.append(f"crosses:{i}")
            gap = rng.uniform(0.08, 0.35) * aw
            if rng.random() < 0.12 and i < len(text) - 1:
                gap = -rng.uniform(0.02, 0.12) * aw
                notes.append(f"touches:{i}")
            cursor = dx + aw + int(gap)
        b = _paste(paper, alpha, dx, dy, pen)
        if b is not None:
            boxes.append(b)
    return boxes, notes


def _tick(paper: npt.NDArray[np.float32], box: Box, pen: Pen, rng: np.random.Generator) -> None:
    x, y, s, _ = box
    mark = np.zeros((s + 20, s + 20), np.float32)
    t = int(rng.integers(3, 6))
    if rng.random() < 0.5:  # a check mark
        pts = np.array([[8, s // 2 + 8], [s // 2 + 4, s + 10], [s + 14, 2]], np.int32)
        cv2.polylines(mark, [pts], False, 1.0, t, cv2.LINE_AA)
    else:  # a cross
        cv2.line(mark, (6, 6), (s + 12, s + 12), 1.0, t, cv2.LINE_AA)
        cv2.line(mark, (s + 12, 6), (6, s + 12), 1.0, t, cv2.LINE_AA)
    _paste(paper, mark, x - 10 + int(rng.integers(-4, 5)), y - 10 + int(rng.integers(-4, 5)), pen)


def make_page(
    family: str,
    seed: int,
    writer: Writer,
    *,
    strength: float = 1.0,
    fill: int = 0,
    dpi: float | None = None,
    line_width: int | None = None,
) -> CorpusPage:
    """One filled, scanned page of ``family``: the scan, truth fields, distractors, template.

    ``seed`` chooses the form; ``fill`` another filling and scan of the same form; ``dpi``
    scans it at that resolution instead of the one drawn (the other effects as drawn);
    ``line_width`` prints the form's structure with that pen (its template too).
    """
    lay = layout(family, seed, line_width)
    rng = _seed(family, seed, 1 + zlib.crc32(writer.name.encode()) + 7919 * fill)
    paper = lay.image.astype(np.float32) / 255.0
    pen = random_pen(rng)
    written: list[tuple[CorpusField, str, list[Box], list[str]]] = []
    for f in lay.fields:
        text = field_value(f, rng)
        boxes, notes = _write_field(paper, f, text, writer, pen, rng) if text else ([], [])
        written.append((f, text, boxes, notes))
    for d in lay.distractors:
        if d.kind == "checkbox" and rng.random() < 0.5:
            _tick(paper, d.box, pen, rng)
    filled = np.clip(paper * 255, 0, 255).astype(np.uint8)
    for d in lay.distractors:
        if d.kind == "stamp":
            draw_stamp(filled, rng, d.box)
    grey = cv2.cvtColor(filled, cv2.COLOR_BGR2GRAY)
    fx = random_effects(rng, strength=strength)
    if dpi is not None:
        fx = replace(fx, dpi=dpi)
    image, hom = apply_effects(grey, fx, rng, base_dpi=DPI)
    truth = []
    for f, text, boxes, notes in written:
        ink = _union(boxes)
        truth.append(
            TruthField(
                f.name,
                f.kind,
                text,
                map_box(hom, f.box),
                map_box(hom, ink) if ink is not None else None,
                notes,
            )
        )
    return CorpusPage(
        family=family,
        seed=seed,
        writer=writer.name,
        image=image,
        fields=truth,
        distractors=[(d.kind, map_box(hom, d.box)) for d in lay.distractors],
        template_path=template_path(family, seed, line_width=line_width),
        effects=fx,
        homography=hom,
    )
