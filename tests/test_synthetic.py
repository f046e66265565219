"""The synthetic form generator: deterministic, truthful ground truth, effects as asked."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from model.training import forms, synthetic
from model.training.scanner import ScanEffects, random_effects
from segmentation.templates import load_templates


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


@pytest.mark.slow
def test_same_seed_same_page(font_digits: synthetic.DigitSource) -> None:
    a = synthetic.make_page("claim", font_digits, seed=5)
    b = synthetic.make_page("claim", font_digits, seed=5)
    c = synthetic.make_page("claim", font_digits, seed=6)
    assert np.array_equal(a.image, b.image) and a.values == b.values
    assert a.field_boxes == b.field_boxes and a.effects == b.effects
    assert a.values != c.values


@pytest.mark.parametrize("layout", sorted(forms.LAYOUTS))
def test_values_obey_their_field_constraints(
    layout: str, font_digits: synthetic.DigitSource
) -> None:
    spec = {f.name: f for f in forms.LAYOUTS[layout].fields}
    for seed in range(5):
        page = synthetic.make_page(layout, font_digits, seed=seed, strength=0.0)
        assert set(page.values) == set(spec)
        for name, value in page.values.items():
            f = spec[name]
            assert value.isdigit()
            if f.cells:
                assert len(value) == f.cells
            if f.pattern:
                assert re.fullmatch(f.pattern, value), (name, value)
            if f.checksum == "luhn":
                assert luhn_ok(value), (name, value)
            if f.range:
                assert f.range[0] <= int(value) <= f.range[1]
            if f.min_digits:
                assert len(value) >= f.min_digits
            if f.max_digits:
                assert len(value) <= f.max_digits
            assert len(page.digit_boxes[name]) == len(value)


def test_digit_boxes_hold_ink_and_sit_in_their_field(font_digits: synthetic.DigitSource) -> None:
    page = synthetic.make_page("survey", font_digits, seed=2, effects=ScanEffects())
    for name, boxes in page.digit_boxes.items():
        fx, fy, fw, fh = page.field_boxes[name]
        for x, y, w, h in boxes:
            assert page.image[y : y + h, x : x + w].min() < 100  # there is a pen stroke
            cx, cy = x + w / 2, y + h / 2
            assert fx - 0.3 * fh <= cx <= fx + fw + 0.3 * fh
            assert fy - 0.5 * fh <= cy <= fy + 1.5 * fh


def test_geometry_follows_the_effects(font_digits: synthetic.DigitSource) -> None:
    w, h = forms.A4_200DPI
    upright = synthetic.make_page("order", font_digits, seed=1, effects=ScanEffects(dpi=150))
    assert abs(upright.image.shape[1] - w * 0.75 - 20) < 3
    sideways = synthetic.make_page(
        "order", font_digits, seed=1, effects=ScanEffects(dpi=300, quarter_turns=1, margin=0)
    )
    assert abs(sideways.image.shape[1] - h * 1.5) < 3 and abs(sideways.image.shape[0] - w * 1.5) < 3
    fax = synthetic.make_page("order", font_digits, seed=1, effects=ScanEffects(fax=True))
    assert set(np.unique(fax.image)) <= {0, 255}


def test_random_effects_cover_the_promised_ranges() -> None:
    rng = np.random.default_rng(0)
    fx = [random_effects(rng) for _ in range(300)]
    dpis = [f.dpi for f in fx]
    assert 150 <= min(dpis) < 160 and 290 < max(dpis) <= 300
    assert {f.quarter_turns for f in fx} == {0, 1, 2, 3}
    assert max(abs(f.skew_deg) for f in fx) > 4.5
    assert any(f.fax for f in fx) and any(f.jpeg_quality for f in fx)
    clean = random_effects(rng, strength=0.0)
    assert clean.dpi == 200 and clean.skew_deg == 0 and clean.quarter_turns == 0


def test_written_templates_load_and_match_the_layouts(form_templates: list[Path]) -> None:
    loaded = {t.name: t for t in load_templates(form_templates)}
    assert set(loaded) == set(forms.LAYOUTS)
    for name, layout in forms.LAYOUTS.items():
        t = loaded[name]
        assert [f.name for f in t.fields] == [f.name for f in layout.fields]
        assert t.size == layout.size
        assert np.array_equal(t.reference, forms.draw_reference(layout))


def test_free_page_has_handwriting_and_no_template(font_digits: synthetic.DigitSource) -> None:
    page = synthetic.make_free_page(font_digits, seed=4, effects=ScanEffects())
    assert page.template is None and len(page.values) == 4
    for name, (x, y, w, h) in page.field_boxes.items():
        assert page.image[y : y + h, x : x + w].min() < 100, name


def test_digit_sources(tmp_path: Path) -> None:
    src = synthetic.font_digit_source(seed=1, per_digit=2)
    assert src.images.shape == (20, 28, 28) and sorted(set(src.labels.tolist())) == list(range(10))
    np.savez(tmp_path / "d.npz", images=src.images, labels=src.labels)
    again = synthetic.digit_source_from_npz(tmp_path / "d.npz")
    assert np.array_equal(again.images, src.images)
    with pytest.raises(ValueError, match="no 7"):
        synthetic.DigitSource(src.images[:1], np.array([0])).pick(7, np.random.default_rng())


def test_sources_name_the_image_behind_every_digit(font_digits: synthetic.DigitSource) -> None:
    sp = synthetic.make_page("claim", font_digits, seed=11)
    assert set(sp.sources) == set(sp.values)
    for name, value in sp.values.items():
        idx = sp.sources[name]
        assert len(idx) == len(value)
        assert [int(font_digits.labels[i]) for i in idx] == [int(c) for c in value]
    # picking by index draws the same stream as picking images: pages stay as they were
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    i = font_digits.pick_index(4, rng_a)
    assert np.array_equal(font_digits.image(i), font_digits.pick(4, rng_b))
