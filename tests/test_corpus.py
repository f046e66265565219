"""The evaluation corpus (bench/corpus): families build, pages are reproducible and truthful."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bench.corpus import fonts, layouts, pages, writers
from model.training.data import load_sample
from model.training.synthetic import DigitSource
from segmentation.templates import load_templates


@pytest.fixture(scope="module")
def writer() -> writers.Writer:
    images, labels = load_sample()
    return writers.source_writer(DigitSource(images, labels), "sample")


def test_at_least_twelve_families() -> None:
    assert len(layouts.FAMILIES) >= 12
    assert set(fonts.TRAIN_FONTS).isdisjoint(fonts.HELD_OUT_FONTS)
    assert set(fonts.VALIDATION_FONTS) | set(fonts.TEST_FONTS) == set(fonts.HELD_OUT_FONTS)


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(layouts.FAMILIES))
def test_family_builds_truthful_page(family: str, writer: writers.Writer) -> None:
    lay = layouts.FAMILIES[family](np.random.default_rng(3))
    assert lay.image.shape == (layouts.A4[1], layouts.A4[0], 3) and len(lay.fields) >= 3
    assert len({f.name for f in lay.fields}) == len(lay.fields)
    for f in lay.fields:
        x, y, w, h = f.box
        assert x >= 0 and y >= 0 and x + w <= layouts.A4[0] and y + h <= layouts.A4[1]
        assert f.kind in ("box", "comb", "line") and (f.kind == "comb") == bool(f.cells)
    page = pages.make_page(family, 3, writer, strength=0.0)  # a clean scan: paper == scan
    assert page.image.shape[:2] == (layouts.A4[1], layouts.A4[0])
    assert any(tf.value for tf in page.fields)
    for tf in page.fields:
        x, y, w, h = tf.box
        assert x >= 0 and y >= 0 and x + w <= page.image.shape[1] and y + h <= page.image.shape[0]
        if tf.value:
            assert tf.ink is not None
            ix, iy, iw, ih = tf.ink
            assert (page.image[iy : iy + ih, ix : ix + iw] < 128).mean() > 0.03  # holds ink
    (template,) = load_templates([page.template_path])
    assert [s.name for s in template.fields] == [tf.name for tf in page.fields]


@pytest.mark.slow
def test_same_seed_same_page(writer: writers.Writer) -> None:
    a = pages.make_page("comb_half", 11, writer)
    b = pages.make_page("comb_half", 11, writer)
    c = pages.make_page("comb_half", 12, writer)
    assert np.array_equal(a.image, b.image) and a.values == b.values
    assert [f.box for f in a.fields] == [f.box for f in b.fields] and a.effects == b.effects
    assert a.values != c.values


@pytest.mark.slow
def test_template_free_read_reports_every_family(writer: writers.Writer) -> None:
    from bench.bench_corpus import read_corpus_page, summarize
    from digitize.settings import Settings
    from worker.pipeline import default_classifier

    settings = Settings()
    classifier = default_classifier(settings)
    results = []
    for family in sorted(layouts.FAMILIES):
        page = pages.make_page(family, 0, writer, strength=0.3)
        r = read_corpus_page(page, classifier, settings, "free")
        assert {"fields", "found_exact", "spurious"} <= set(r["counts"])
        results.append(r)
    report = summarize(results, "free")
    assert {"pages", "fields", "found_and_exact", "spurious_per_page", "review_tradeoff"} <= set(
        report
    )
    assert [row["threshold"] for row in report["review_tradeoff"]] == [0.8, 0.9, 0.92, 0.95]
    assert 0.0 <= report["found_and_exact"]["value"] <= 1.0


@pytest.mark.slow
def test_template_read_scores_named_fields(writer: writers.Writer) -> None:
    from bench.bench_corpus import read_corpus_page
    from digitize.settings import Settings
    from worker.pipeline import default_classifier

    settings = Settings()
    page = pages.make_page("boxes", 1, writer, strength=0.0)
    r = read_corpus_page(page, default_classifier(settings), settings, "template")
    assert r["counts"]["fields"] == len(page.fields) and r["counts"]["registered"] == 1


@pytest.mark.slow
def test_font_writer_renders_held_out_fonts() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not available")
    try:
        w = writers.font_writer("validation")
    except fonts.FontUnavailableError as exc:
        pytest.skip(str(exc))
    pen = writers.Pen((150, 60, 20), 1, 0.9)
    rng = np.random.default_rng(0)
    for d in range(10):
        a = w.glyph(d, 60, pen, rng)
        assert a.shape[0] == 60 and a.max() > 0.5 and 10 < a.shape[1] < 120


def test_first_page_reads_a_later_slice(
    writer: writers.Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--first-page N`` reads pages N on (seeds SEED0 + N ...), each written by the writer its
    page number picks, so a slice reads as it would inside a longer run."""
    from collections import Counter

    import bench.bench_corpus as bc

    seen: list[tuple[int, str]] = []

    def fake_page(family: str, seed: int, w: writers.Writer, line_width: int | None) -> object:
        seen.append((seed, w.name))
        assert line_width == 6
        return object()

    def fake_read(page: object, classifier: object, settings: object, mode: str) -> dict:
        return {"counts": Counter(fields=1), "misses": [], "ms": 1.0, "fields": []}

    monkeypatch.setattr(bc, "make_page", fake_page)
    monkeypatch.setattr(bc, "read_corpus_page", fake_read)
    other = writers.source_writer(writer.source, "other")  # type: ignore[attr-defined]
    bc.run(["boxes"], 3, [writer, other], None, first_page=5, line_width=6)  # type: ignore[arg-type]
    assert seen == [(bc.SEED0 + 5, "other"), (bc.SEED0 + 6, "sample"), (bc.SEED0 + 7, "other")]


def test_a_line_width_prints_the_same_form_with_another_pen() -> None:
    """``--line-width``: the same form (fields, captions, the same random choices), its rules
    drawn with another pen: more printed ink for a broader one, nothing moved; its template
    is its own."""
    drawn = pages.layout("boxes", 5)
    thin, bold = pages.layout("boxes", 5, 1), pages.layout("boxes", 5, 7)
    assert (
        [f.box for f in thin.fields]
        == [f.box for f in bold.fields]
        == [f.box for f in drawn.fields]
    )
    assert (bold.grey < 128).sum() > 1.5 * (thin.grey < 128).sum()
    assert np.array_equal(pages.layout("boxes", 5).image, drawn.image)  # the pen is not left set
    path = pages.template_path("boxes", 5, line_width=7)
    assert path != pages.template_path("boxes", 5) and "lw7" in path.name
