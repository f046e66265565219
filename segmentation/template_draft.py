"""A draft template from a picture of a form: fields found, named from captions, rules proposed.

``draft_template`` returns the JSON object of docs/templates.md, valid as it stands, so the
designer (``digitize template new``, the web editor) only has to show and save it. The fields
come from ``segmentation.form_fields.find_fields``; a field is named after its printed caption
when a caption reader (Tesseract, optional) can read it, else ``field_<n>`` in reading order.
Rules are proposed only where the form makes them obvious: a comb's cell count, a caption that
says year, age, month, a date layout such as DDMMYYYY… A person confirms them with
``digitize template check``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from digitize.errors import ConfigError
from digitize.types import Box
from segmentation.form_fields import FoundField

#: Reads the printed caption in a crop of the form; None when nothing legible is there.
CaptionReader = Callable[[npt.NDArray[np.uint8]], str | None]

#: Caption words (whole words of the slugified caption, ``_`` joins phrases) and the rules they
#: make obvious. Singular on purpose ("hours worked" is no hour of the day); no "mm" (millimetres).
WORD_RULES: tuple[tuple[frozenset[str], dict[str, Any]], ...] = (
    (frozenset({"year", "yyyy"}), {"min_digits": 4, "max_digits": 4}),
    (frozenset({"age"}), {"range": [0, 130]}),
    (frozenset({"month"}), {"range": [1, 12]}),
    (frozenset({"day", "dd"}), {"range": [1, 31]}),
    (frozenset({"percent", "percentage", "pct", "%"}), {"range": [0, 100]}),
    (frozenset({"hour"}), {"range": [0, 23]}),
    (frozenset({"minute"}), {"range": [0, 59]}),
    (frozenset({"quarter"}), {"range": [1, 4]}),
    (frozenset({"week"}), {"range": [1, 53]}),
    (frozenset({"credit_card", "debit_card", "imei"}), {"checksum": "luhn"}),
)

_DAY, _MONTH, _YEAR = r"(0[1-9]|[12]\d|3[01])", r"(0[1-9]|1[0-2])", r"\d{4}"
#: Date layouts printed in a caption ("Date (DD/MM/YYYY)"): eight digits in that order.
DATE_PATTERNS: dict[str, str] = {
    "ddmmyyyy": _DAY + _MONTH + _YEAR,
    "mmddyyyy": _MONTH + _DAY + _YEAR,
    "yyyymmdd": _YEAR + _MONTH + _DAY,
}

#: Longest field name made from a caption (cut at a word).
MAX_NAME = 40


@dataclass
class Draft:
    """A drafted template and the fields it was drafted from (``found[i]`` is ``fields[i]``)."""

    template: dict[str, Any]
    found: list[FoundField]


def draft(
    grey: npt.NDArray[np.uint8],
    name: str,
    reference: str,
    *,
    read_caption: CaptionReader | None = None,
) -> Draft:
    """``draft_template`` with the found fields kept beside it (to blank the reference)."""
    from segmentation import form_fields

    h, w = grey.shape[:2]
    fields: list[dict[str, Any]] = []
    kept: list[FoundField] = []
    names: set[str] = set()
    found = form_fields.find_fields(grey)
    boxes = [f.box for f in found]
    for f in found:
        box = _clip(f.box, w, h)
        if box is None:
            continue
        if f.caption is not None and _inside_any(f.caption, boxes):
            f = replace(f, caption=None)  # ink inside a field is handwriting, not a caption
        caption = _caption_text(grey, f.caption, read_caption)
        base = slugify(caption) if caption else None
        field_name = _unique(base or f"field_{len(fields) + 1}", names)
        spec: dict[str, Any] = {"name": field_name, "box": list(box), "kind": f.kind}
        if f.kind == "comb" and f.cells:
            spec["cells"] = int(f.cells)
        spec.update(propose_rules(caption, f.kind, f.cells if f.kind == "comb" else None))
        if caption:
            spec["description"] = caption
        fields.append(spec)
        kept.append(f)
    template = {"name": name, "reference": reference, "size": [w, h], "fields": fields}
    return Draft(template, kept)


def draft_template(
    grey: npt.NDArray[np.uint8],
    name: str,
    reference: str,
    *,
    read_caption: CaptionReader | None = None,
) -> dict[str, Any]:
    """The template JSON of the form in ``grey`` (its reference picture saved as ``reference``).

    Valid under docs/templates.md as soon as it has a field; ``fields`` is empty when the
    detector found none (the caller says so: a template needs at least one).
    """
    return draft(grey, name, reference, read_caption=read_caption).template


def slugify(text: str) -> str | None:
    """``"1. Account number:"`` → ``account_number``; None when nothing name-like is left."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_.lower())
    while words and words[0].isdigit():  # list numbering: "1.", "2)"
        words.pop(0)
    slug = ""
    for word in words:
        longer = f"{slug}_{word}" if slug else word
        if len(longer) > MAX_NAME:
            break
        slug = longer
    if len(slug) < 2 or not re.search(r"[a-z]", slug):
        return None
    return slug


def propose_rules(caption: str | None, kind: str, cells: int | None) -> dict[str, Any]:
    """The rules that a comb's cells and the caption's words make obvious (maybe none).

    A caption that names two things (``Day / month``) proposes nothing from its words: the
    field is a person's to judge. A word rule that cannot fit the comb's cells is dropped.
    """
    rules: dict[str, Any] = {}
    if cells:
        rules["max_digits"] = int(cells)
    if not caption:
        return rules
    compact = re.sub(r"[^a-z]", "", caption.lower())
    dates = [p for key, p in DATE_PATTERNS.items() if key in compact]
    if len(dates) == 1:
        if cells in (None, 8):
            rules.update({"pattern": dates[0], "min_digits": 8, "max_digits": 8})
        return rules
    slug = f"_{slugify(caption) or ''}_"
    matched = [
        r
        for words, r in WORD_RULES
        if any(f"_{word}_" in slug for word in words) or ("%" in words and "%" in caption)
    ]
    if len(matched) != 1:
        return rules
    word_rules = dict(matched[0])
    if cells and word_rules.get("max_digits", 0) > cells:
        return rules
    if "range" in word_rules and cells and len(str(word_rules["range"][0])) > cells:
        return rules
    rules.update(word_rules)
    return rules


def rules_text(spec: dict[str, Any]) -> str:
    """A field's rules in a few words, for tables: ``max_digits 10, range 0–130``."""
    parts = []
    for key in ("min_digits", "max_digits", "pattern", "checksum"):
        if spec.get(key) is not None:
            parts.append(f"{key} {spec[key]}")
    if spec.get("range") is not None:
        lo, hi = spec["range"]
        parts.append(f"range {lo:g}–{hi:g}")
    return ", ".join(parts)


#: Pixels at the bottom of a ``line`` field's box left alone: the printed line lies there.
LINE_KEEP = 30


def blank_reference(
    grey: npt.NDArray[np.uint8], found: Sequence[FoundField]
) -> npt.NDArray[np.uint8]:
    """``grey`` with the inside of each field (a little grown) whitened but its printed lines.

    Registration matches a page's printed ink against the reference, so a reference made from
    a filled form must not keep the handwriting. What stays is what ``split_rules`` judges
    printed structure (box sides, comb dividers, rules, dashed lines) and the captions; the
    rest of each field becomes the paper's own shade.
    """
    from segmentation.inkremoval import binarise
    from segmentation.printed_rules import split_rules

    ink = binarise(grey)
    h, w = grey.shape[:2]
    keep = np.zeros((h, w), bool)
    for f in found:
        if f.caption is not None:
            cx, cy, cw, ch = f.caption
            keep[max(cy, 0) : cy + ch, max(cx, 0) : cx + cw] = True
    out = grey.copy()
    for f in found:
        x, y, bw, bh = f.box
        m = max(2, round(0.15 * min(bw, bh)))
        x0, y0, x1, y1 = max(x - m, 0), max(y - m, 0), min(x + bw + m, w), min(y + bh + m, h)
        if x0 >= x1 or y0 >= y1:
            continue
        # Rules found around this field alone: a page-wide search misses lines a skewed scan
        # tilts across rows, and whitening them would leave a reference without its boxes.
        _, rules = split_rules(np.ascontiguousarray(ink[y0:y1, x0:x1]))
        printed = (rules > 0) | keep[y0:y1, x0:x1]
        # Only the inside is whitened: the box's own sides stay, whatever their tilt.
        s = max(3, round(0.08 * min(bw, bh)))
        bottom = LINE_KEEP if f.kind == "line" else s
        ix0, iy0 = max(x + s, 0) - x0, max(y + s, 0) - y0
        ix1, iy1 = min(x + bw - s, w) - x0, min(y + bh - bottom, h) - y0
        if ix0 >= ix1 or iy0 >= iy1:
            continue
        region = out[y0:y1, x0:x1]
        paper_px = region[ink[y0:y1, x0:x1] == 0]
        paper = int(np.median(paper_px)) if paper_px.size else 255
        inner = np.zeros(region.shape, bool)
        inner[iy0:iy1, ix0:ix1] = True
        region[inner & ~printed] = paper
    return out


def save_draft(directory: Path, template: dict[str, Any], reference: npt.NDArray[np.uint8]) -> Path:
    """Write ``<directory>/<template["reference"]>`` and ``<name>.json``; the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / str(template["reference"])
    if not cv2.imwrite(str(png), reference, [cv2.IMWRITE_PNG_COMPRESSION, 6]):
        raise ConfigError(f"cannot write the reference picture to {png}")
    path = directory / f"{template['name']}.json"
    try:
        path.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the template: {exc.strerror}", source=str(path)) from exc
    return path


def tesseract_caption_reader() -> CaptionReader | None:
    """A caption reader that runs ``tesseract crop.png - --psm 7`` (one line of text), or None
    when Tesseract is not installed (it is an optional system tool)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None

    def read(crop: npt.NDArray[np.uint8]) -> str | None:
        with tempfile.TemporaryDirectory() as tmp:
            png = Path(tmp) / "crop.png"
            cv2.imwrite(str(png), crop)
            try:
                proc = subprocess.run(
                    [exe, str(png), "-", "--psm", "7"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return None
        text = " ".join(proc.stdout.split())
        return text if proc.returncode == 0 and text else None

    return read


def _caption_text(
    grey: npt.NDArray[np.uint8], caption: Box | None, read_caption: CaptionReader | None
) -> str | None:
    if caption is None or read_caption is None:
        return None
    h, w = grey.shape[:2]
    x, y, cw, ch = caption
    pad = max(2, round(0.15 * ch))
    crop = grey[max(y - pad, 0) : min(y + ch + pad, h), max(x - pad, 0) : min(x + cw + pad, w)]
    if crop.size == 0:
        return None
    text = read_caption(np.ascontiguousarray(crop))
    text = " ".join(text.split()).strip(" :.-_|") if text else ""
    return text or None


def _inside_any(caption: Box, boxes: Sequence[Box]) -> bool:
    """True when most of ``caption`` lies inside one of ``boxes``."""
    x, y, w, h = caption
    for bx, by, bw, bh in boxes:
        ix = max(0, min(x + w, bx + bw) - max(x, bx))
        iy = max(0, min(y + h, by + bh) - max(y, by))
        if ix * iy > 0.5 * w * h:
            return True
    return False


def _clip(box: Box, w: int, h: int) -> Box | None:
    x, y, bw, bh = (int(v) for v in box)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1 - x0, y1 - y0


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}_{n}"
    taken.add(out)
    return out
