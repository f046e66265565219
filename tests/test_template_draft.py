"""Drafting a template from a picture of a form: names, rules, a clean reference, valid JSON.

The field detector (``segmentation.form_fields.find_fields``) is swapped for one that returns the
fields the test drew, so these tests check the drafting alone; the last test runs the real
detector on a drawn blank form.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from model.training.synthetic import DigitSource
from segmentation import form_fields, template_draft
from segmentation.form_fields import FoundField
from segmentation.template_draft import (
    blank_reference,
    draft_template,
    propose_rules,
    save_draft,
    slugify,
    tesseract_caption_reader,
)
from segmentation.templates import load_template

Grey = npt.NDArray[np.uint8]
FONT = cv2.FONT_HERSHEY_SIMPLEX

#: (caption, kind, box, cells) of the drawn form, in reading order.
FIELDS: list[tuple[str, str, tuple[int, int, int, int], int | None]] = [
    ("Account number", "comb", (480, 360, 480, 80), 8),
    ("Year of birth", "comb", (480, 520, 240, 80), 4),
    ("Age", "box", (480, 680, 220, 90), None),
    ("Meter reading", "line", (480, 840, 560, 90), None),
    ("Percent used", "box", (480, 1000, 220, 90), None),
]
#: What a filled copy of the form holds.
VALUES = ["40715268", "1961", "63", "81734", "45"]


def draw_form() -> tuple[Grey, list[FoundField]]:
    """A blank form (1240×1500, about 150 dpi) and the fields a perfect detector would find."""
    im = np.full((1500, 1240), 255, np.uint8)
    cv2.rectangle(im, (40, 40), (1200, 1460), 20, 3)
    cv2.putText(im, "WATER METER READING", (90, 150), cv2.FONT_HERSHEY_DUPLEX, 1.8, 20, 4)
    cv2.putText(im, "Write one digit per box in dark ink.", (90, 215), FONT, 0.9, 20, 2)
    cv2.line(im, (90, 250), (1150, 250), 20, 3)
    cv2.rectangle(im, (960, 80), (1150, 180), 20, -1)
    found = []
    for caption, kind, (x, y, w, h), cells in FIELDS:
        (tw, th), base = cv2.getTextSize(caption, FONT, 1.0, 2)
        ty = y + h // 2 + th // 2
        cv2.putText(im, caption, (90, ty), FONT, 1.0, 20, 2)
        if kind == "line":
            cv2.line(im, (x, y + h - 8), (x + w, y + h - 8), 20, 3)
        else:
            cv2.rectangle(im, (x, y), (x + w, y + h), 20, 3)
        for i in range(1, cells or 0):
            cx = x + round(i * w / cells)  # type: ignore[operator]
            cv2.line(im, (cx, y + h // 3), (cx, y + h), 20, 2)
        found.append(FoundField(kind, (x, y, w, h), cells, (90, ty - th, tw, th + base)))
    for i, line in enumerate(
        [
            "Readings are checked against the meter on the next visit.",
            "Keep this form for your records.  WM-7 / rev 3",
        ]
    ):
        cv2.putText(im, line, (90, 1250 + 50 * i), FONT, 0.8, 20, 2)
    cv2.putText(im, "Signature", (90, 1400), FONT, 1.0, 20, 2)
    cv2.line(im, (280, 1400), (800, 1400), 20, 2)
    return im, found


def fill_form(blank: Grey, source: DigitSource, values: list[str] = VALUES) -> Grey:
    """``blank`` with ``values`` handwritten (script-font digits) in the fields."""
    im = blank.copy()
    rng = np.random.default_rng(3)
    for (_, kind, (x, y, w, h), cells), text in zip(FIELDS, values, strict=True):
        size = int(0.7 * h)
        step = w / cells if cells else 0.8 * size
        for i, ch in enumerate(text):
            digit = source.pick(int(ch), rng)
            ink = cv2.resize(digit, (size, size), interpolation=cv2.INTER_LINEAR)
            dx = int(x + i * step + (step - size) / 2) if cells else int(x + 20 + i * step)
            dy = y + (h - size) // 2 - (6 if kind == "line" else 0)
            region = im[dy : dy + size, dx : dx + size].astype(np.float32)
            im[dy : dy + size, dx : dx + size] = (region * (1 - 0.8 * ink)).astype(np.uint8)
    return im


def fake_detector(monkeypatch: pytest.MonkeyPatch, found: list[FoundField]) -> None:
    """Fault injection: the detector answers ``found``, whatever the picture."""
    monkeypatch.setattr(form_fields, "find_fields", lambda grey: list(found))


class Captions:
    """A caption reader that reads the drawn captions in order (None for an illegible one)."""

    def __init__(self, texts: list[str | None]) -> None:
        self.texts = list(texts)
        self.crops: list[Grey] = []

    def __call__(self, crop: Grey) -> str | None:
        self.crops.append(crop)
        return self.texts.pop(0)


def test_slugify() -> None:
    assert slugify("1. Account number:") == "account_number"
    assert slugify("Année de naissance") == "annee_de_naissance"
    assert slugify("  —|  ") is None
    assert slugify("7") is None
    assert len(slugify("a very long caption " * 5) or "") <= template_draft.MAX_NAME


@pytest.mark.parametrize(
    ("caption", "kind", "cells", "rules"),
    [
        (None, "comb", 10, {"max_digits": 10}),
        ("Year of birth", "comb", 4, {"min_digits": 4, "max_digits": 4}),
        ("Year", "box", None, {"min_digits": 4, "max_digits": 4}),
        ("Year (YY)", "comb", 2, {"max_digits": 2}),  # four digits cannot fit two cells
        ("Age", "box", None, {"range": [0, 130]}),
        ("Month", "comb", 2, {"max_digits": 2, "range": [1, 12]}),
        ("Day of visit", "box", None, {"range": [1, 31]}),
        ("Discount %", "box", None, {"range": [0, 100]}),
        ("Percentage", "line", None, {"range": [0, 100]}),
        ("Hour", "box", None, {"range": [0, 23]}),
        ("Credit card", "comb", 16, {"max_digits": 16, "checksum": "luhn"}),
        ("Hours worked", "box", None, {}),
        ("Birthday", "box", None, {}),
        ("Day / month", "box", None, {}),  # two things named: a person decides
        ("Date (DD/MM/YYYY)", "comb", 8, {"max_digits": 8, "min_digits": 8, "pattern": "x"}),
        ("Date (DD/MM/YYYY)", "comb", 6, {"max_digits": 6}),
    ],
)
def test_rules_proposed(
    caption: str | None, kind: str, cells: int | None, rules: dict[str, Any]
) -> None:
    got = propose_rules(caption, kind, cells)
    if "pattern" in rules:
        assert got.pop("pattern") == template_draft.DATE_PATTERNS["ddmmyyyy"]
        rules = {k: v for k, v in rules.items() if k != "pattern"}
    assert got == rules


def test_date_pattern_keeps_real_dates_only() -> None:
    import re

    pattern = propose_rules("Date (DDMMYYYY)", "comb", 8)["pattern"]
    assert re.fullmatch(pattern, "31122024")
    assert not re.fullmatch(pattern, "32122024")
    assert not re.fullmatch(pattern, "01132024")


def test_without_captions_fields_are_numbered_in_reading_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blank, found = draw_form()
    fake_detector(monkeypatch, found)
    template = draft_template(blank, "meter", "meter.png")
    names = [f["name"] for f in template["fields"]]
    assert names == [f"field_{i}" for i in range(1, len(FIELDS) + 1)]
    assert template["size"] == [blank.shape[1], blank.shape[0]]
    account, year = template["fields"][0], template["fields"][1]
    assert account == {
        "name": "field_1",
        "box": [480, 360, 480, 80],
        "kind": "comb",
        "cells": 8,
        "max_digits": 8,
    }
    assert year["max_digits"] == 4 and "min_digits" not in year  # no caption: only the comb
    loaded = load_template(save_draft(tmp_path, template, blank))
    assert [f.name for f in loaded.fields] == names
    assert loaded.fields[0].cells == 8


def test_captions_name_fields_and_propose_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    blank, found = draw_form()
    fake_detector(monkeypatch, found)
    reader = Captions(["Account number:", "Year of birth", "Age", None, "Percent used"])
    template = draft_template(blank, "meter", "meter.png", read_caption=reader)
    fields = {f["name"]: f for f in template["fields"]}
    assert list(fields) == ["account_number", "year_of_birth", "age", "field_4", "percent_used"]
    assert fields["year_of_birth"]["min_digits"] == 4
    assert fields["age"]["range"] == [0, 130]
    assert "description" not in fields["field_4"]
    assert fields["percent_used"]["range"] == [0, 100]
    assert fields["account_number"]["description"] == "Account number"
    # the reader saw each caption's crop: dark text on paper, a little wider than the text
    assert len(reader.crops) == len(FIELDS)
    assert all(c.min() < 100 and c.max() > 200 for c in reader.crops)


def test_names_are_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    blank, found = draw_form()
    fake_detector(monkeypatch, found[:3])
    template = draft_template(blank, "t", "t.png", read_caption=Captions(["Age", "Age", "field 1"]))
    assert [f["name"] for f in template["fields"]] == ["age", "age_2", "field_1"]


def test_a_caption_inside_a_field_is_handwriting(monkeypatch: pytest.MonkeyPatch) -> None:
    blank, found = draw_form()
    x, y = found[2].box[:2]
    fake_detector(monkeypatch, [replace(found[2], caption=(x + 20, y + 10, 60, 40))])
    reader = Captions(["63"])
    result = template_draft.draft(blank, "t", "t.png", read_caption=reader)
    assert reader.crops == [] and result.template["fields"][0]["name"] == "field_1"
    assert result.found[0].caption is None  # not kept out of the whitening either


def test_boxes_are_kept_on_the_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blank, _ = draw_form()
    w = blank.shape[1]
    fake_detector(
        monkeypatch,
        [FoundField("box", (w - 100, 50, 300, 80)), FoundField("box", (w + 5, 10, 50, 50))],
    )
    template = draft_template(blank, "edge", "edge.png")
    assert [f["box"] for f in template["fields"]] == [[w - 100, 50, 100, 80]]
    load_template(save_draft(tmp_path, template, blank))


def test_reference_of_a_filled_form_loses_the_handwriting(font_digits: DigitSource) -> None:
    blank, found = draw_form()
    filled = fill_form(blank, font_digits)
    cleaned = blank_reference(filled, found)
    for f in found:
        x, y, w, h = f.box
        written = np.count_nonzero(filled[y : y + h, x : x + w] < 128)
        printed = np.count_nonzero(blank[y : y + h, x : x + w] < 128)
        left = np.count_nonzero(
            (cleaned[y : y + h, x : x + w] < 128) & (blank[y : y + h, x : x + w] >= 128)
        )
        assert written > printed  # there was handwriting
        assert left <= 0.03 * (written - printed), f.box
        # the printed lines stay
        kept = np.count_nonzero(
            (cleaned < 128)[y : y + h, x : x + w] & (blank < 128)[y : y + h, x : x + w]
        )
        assert kept >= 0.9 * printed, f.box
    # outside the fields nothing changed
    assert np.array_equal(cleaned[:300], filled[:300])


@pytest.mark.slow
def test_a_skewed_filled_scan_keeps_its_boxes_in_the_reference(font_digits: DigitSource) -> None:
    """A scan's thin, noisy rules tilt across rows (here 2.7°), where a page-wide search for
    rules finds none; the reference must keep the boxes (registration and form removal need
    them)."""
    from bench.corpus import pages, writers

    page = pages.make_page("boxes", 1, writers.source_writer(font_digits, "fonts"))
    grey = page.image
    cleaned = blank_reference(grey, [FoundField("box", tf.box) for tf in page.fields])
    before = after = 0
    for tf in page.fields:
        x, y, w, h = tf.box
        band = np.zeros(grey.shape, bool)
        band[y - 4 : y + h + 4, x - 4 : x + w + 4] = True
        band[y + 4 : y + h - 4, x + 4 : x + w - 4] = False
        before += np.count_nonzero((grey < 128) & band)
        after += np.count_nonzero((cleaned < 128) & band)
    assert after >= 0.98 * before


def test_tesseract_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_draft.shutil, "which", lambda name: None)
    assert tesseract_caption_reader() is None


def test_tesseract_reads_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        assert Path(cmd[1]).exists()
        return subprocess.CompletedProcess(cmd, 0, " Account\n number \n", "")

    monkeypatch.setattr(template_draft.shutil, "which", lambda name: "/opt/bin/tesseract")
    monkeypatch.setattr(template_draft.subprocess, "run", run)
    reader = tesseract_caption_reader()
    assert reader is not None
    assert reader(np.full((30, 120), 255, np.uint8)) == "Account number"
    assert calls[0][0] == "/opt/bin/tesseract" and calls[0][2:] == ["-", "--psm", "7"]
    assert calls[0][1].endswith(".png")

    def fails(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        raise OSError("exec format error")

    monkeypatch.setattr(template_draft.subprocess, "run", fails)
    assert reader(np.full((30, 120), 255, np.uint8)) is None


def test_draft_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    blank, found = draw_form()
    fake_detector(monkeypatch, found)
    template = draft_template(blank, "meter", "meter.png", read_caption=Captions(["Age"] * 5))
    assert json.loads(json.dumps(template)) == template


def _overlap(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.mark.slow
def test_the_detector_finds_the_fields_of_a_drawn_form(tmp_path: Path) -> None:
    """End to end with the real detector: each drawn field found once, with its kind and cells;
    nothing found in the printed text (the signature line may count as a field)."""
    blank, found = draw_form()
    template = draft_template(blank, "meter", "meter.png")
    got = template["fields"]
    for f in found:
        best = max(got, key=lambda spec: _overlap(spec["box"], f.box), default=None)
        assert best is not None and _overlap(best["box"], f.box) > 0.6, f
        assert best["kind"] == f.kind and best.get("cells") == f.cells, (best, f)
    assert len(got) <= len(found) + 1, [spec["box"] for spec in got]
    load_template(save_draft(tmp_path, template, blank))
