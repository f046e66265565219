"""The bundled examples: every file loads, every page finds its form, the free page finds none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segmentation.loading import load_pages
from segmentation.registration import identify, to_page_box
from segmentation.templates import load_templates

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TRUTH = json.loads((EXAMPLES / "truth.json").read_text(encoding="utf-8"))


def test_examples_stay_small_and_varied() -> None:
    files = [p for p in EXAMPLES.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 3_000_000
    suffixes = {p.suffix for p in EXAMPLES.iterdir() if p.is_file()}
    assert {".pdf", ".tif", ".png", ".jpg"} <= suffixes
    assert any(len(pages) > 1 for pages in TRUTH.values())


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_every_example_page_registers_to_its_form(name: str) -> None:
    templates = load_templates([EXAMPLES / "templates"])
    pages = load_pages((EXAMPLES / name).read_bytes(), name)
    assert len(pages) == len(TRUTH[name])
    for page, truth in zip(pages, TRUTH[name], strict=True):
        reg = identify(page, templates)
        if truth["template"] is None:
            assert reg is None
            continue
        assert reg is not None and reg.template.name == truth["template"]
        assert reg.quality > 0.9
        for spec in reg.template.fields:
            got = to_page_box(reg, spec.box)
            want = truth["field_boxes"][spec.name]
            assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 4, spec.name
