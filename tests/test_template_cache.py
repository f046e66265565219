"""Prepared templates on disk: registration as if computed; rebuilt when stale or damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitize.types import Page
from model.training import synthetic
from model.training.scanner import ScanEffects
from segmentation import template_cache as prepared
from segmentation.registration import identify
from segmentation.templates import Template, load_templates


def _fresh(form_templates: list[Path]) -> list[Template]:
    return load_templates(form_templates)


@pytest.mark.slow
def test_loaded_templates_register_exactly_like_computed_ones(
    form_templates: list[Path], font_digits: synthetic.DigitSource, tmp_path: Path
) -> None:
    computed = _fresh(form_templates)
    prepared.warm(computed, None)
    prepared.warm(_fresh(form_templates), tmp_path)  # writes the cache
    entries = sorted((tmp_path / "templates").glob("*.npz"))
    assert len(entries) == len(computed)
    loaded = _fresh(form_templates)
    prepared.warm(loaded, tmp_path)  # reads it
    assert set(loaded[0].cache) == set(computed[0].cache)
    fx = ScanEffects(dpi=180, quarter_turns=1, skew_deg=2.5, noise=6.0)
    page = Page(1, synthetic.make_page("survey", font_digits, seed=5, effects=fx).image)
    a, b = identify(page, computed), identify(page, loaded)
    assert a is not None and b is not None
    assert a.template.name == b.template.name == "survey"
    assert np.array_equal(a.homography, b.homography) and a.quality == b.quality
    assert np.array_equal(a.ink, b.ink)


def test_changed_template_gets_its_own_entry(form_templates: list[Path], tmp_path: Path) -> None:
    t = _fresh(form_templates)[0]
    before = prepared.key(t)
    t.fields[0].box = (t.fields[0].box[0] + 1, *t.fields[0].box[1:])
    assert prepared.key(t) != before
    t2 = _fresh(form_templates)[0]
    t2.reference = t2.reference.copy()
    t2.reference[0, 0] ^= 1
    assert prepared.key(t2) != before


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 not really a zip", None])
@pytest.mark.slow
def test_damaged_entry_is_rebuilt(
    form_templates: list[Path], tmp_path: Path, damage: bytes | None
) -> None:
    first = _fresh(form_templates)
    prepared.warm(first, tmp_path)
    (entry,) = (tmp_path / "templates").glob(f"{first[0].name}-*.npz")
    if damage is None:  # a valid archive missing arrays
        np.savez(entry, printed=np.zeros(3))
    else:
        entry.write_bytes(damage)
    again = _fresh(form_templates)
    prepared.warm(again, tmp_path)
    assert (
        "registration" in again[0].cache and again[0].cache["registration"].descriptors is not None
    )
    with np.load(entry) as data:  # and written back whole
        assert "registration/descriptors" in data.files


@pytest.mark.slow
def test_entries_of_older_code_are_removed(
    form_templates: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _fresh(form_templates)
    prepared.warm(first, tmp_path)
    other = first[1]
    monkeypatch.setattr(prepared, "_CODE_DIGEST", "f" * 64)  # the code changed
    prepared.warm(_fresh(form_templates), tmp_path)
    entries = sorted(p.name for p in (tmp_path / "templates").glob("*.npz"))
    assert len(entries) == len(first)  # one per template: the old ones are gone
    assert all(e.endswith("-ffffffffffff.npz") for e in entries)
    assert any(e.startswith(f"{other.name}-") for e in entries)
