"""Registration: the recovered homography puts every field where the generator drew it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from digitize.types import Page
from model.training import synthetic
from model.training.scanner import ScanEffects, apply_effects
from segmentation import align, registration
from segmentation.registration import identify, to_page_box
from segmentation.templates import Template, load_templates


@pytest.fixture(scope="module")
def templates(form_templates: list[Path]) -> list[Template]:
    return load_templates(form_templates)


def field_corner_error(true_h: np.ndarray, est_h: np.ndarray, template: Template) -> float:
    pts = np.array(
        [
            [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]
            for x, y, w, h in (f.box for f in template.fields)
        ],
        dtype=np.float64,
    ).reshape(1, -1, 2)
    a = cv2.perspectiveTransform(pts, true_h)[0]
    b = cv2.perspectiveTransform(pts, est_h)[0]
    return float(np.linalg.norm(a - b, axis=1).max())


CASES = [
    # layout, dpi, quarter turns, skew, perspective, extra effects
    ("claim", 200, 0, 0.0, 0.0, {}),
    ("survey", 150, 1, 4.5, 0.008, {"noise": 8.0, "jpeg_quality": 40}),
    ("order", 300, 2, -3.0, 0.01, {"blur": 1.0, "light": 0.3}),
    ("claim", 240, 3, 2.0, 0.006, {"specks": 100, "noise": 5.0}),
    ("survey", 200, 2, -5.0, 0.0, {"fax": True}),
    ("order", 170, 1, -1.5, 0.012, {"lid": 200, "margin": 60}),
]


@pytest.mark.parametrize(("layout", "dpi", "turns", "skew", "persp", "extra"), CASES)
@pytest.mark.slow
def test_fields_land_within_a_few_pixels(
    templates: list[Template],
    font_digits: synthetic.DigitSource,
    layout: str,
    dpi: int,
    turns: int,
    skew: float,
    persp: float,
    extra: dict[str, object],
) -> None:
    fx = ScanEffects(dpi=dpi, quarter_turns=turns, skew_deg=skew, perspective=persp, **extra)  # type: ignore[arg-type]
    sp = synthetic.make_page(layout, font_digits, seed=dpi + turns, effects=fx)
    reg = identify(Page(1, sp.image), templates)
    assert reg is not None
    assert reg.template.name == layout  # identification among all three layouts
    assert 0.6 < reg.quality <= 1.0
    assert field_corner_error(sp.homography, reg.homography, reg.template) < 4.0 * dpi / 200
    for spec in reg.template.fields:
        got, want = to_page_box(reg, spec.box), sp.field_boxes[spec.name]
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 5 * dpi / 200


@pytest.mark.slow
def test_600_dpi_scan(templates: list[Template], font_digits: synthetic.DigitSource) -> None:
    fx = ScanEffects(dpi=600, quarter_turns=1, skew_deg=1.0)
    sp = synthetic.make_page("claim", font_digits, seed=6, effects=fx)
    reg = identify(Page(1, sp.image), templates)
    assert reg is not None and reg.template.name == "claim"
    assert field_corner_error(sp.homography, reg.homography, reg.template) < 12.0


@pytest.mark.slow
def test_handwriting_from_mnist_does_not_confuse_it(
    templates: list[Template], mnist_digits: synthetic.DigitSource
) -> None:
    for seed, layout in enumerate(("claim", "survey", "order")):
        sp = synthetic.make_page(layout, mnist_digits, seed=100 + seed)
        reg = identify(Page(1, sp.image), templates)
        assert reg is not None and reg.template.name == layout
        assert field_corner_error(sp.homography, reg.homography, reg.template) < 6.0


@pytest.fixture(scope="module")
def mnist_digits() -> synthetic.DigitSource:
    path = Path(__file__).parent / "data" / "mnist_sample.npz"
    if not path.exists():
        pytest.skip("tests/data/mnist_sample.npz not committed yet")
    return synthetic.digit_source_from_npz(path)


def test_pages_of_no_known_form_give_none(
    templates: list[Template], font_digits: synthetic.DigitSource
) -> None:
    blank = np.full((2339, 1654), 255, np.uint8)
    assert identify(Page(1, blank), templates) is None
    free = synthetic.make_free_page(font_digits, seed=3)
    assert identify(Page(1, free.image), templates) is None
    rng = np.random.default_rng(0)
    text = np.full((2200, 1700), 250, np.uint8)
    for i in range(40):  # a letter: lines of printed text unlike any of the forms
        words = "".join(chr(int(c)) for c in rng.integers(97, 123, 40))
        cv2.putText(text, words, (100, 120 + 50 * i), cv2.FONT_HERSHEY_COMPLEX, 1.0, 0, 2)
    assert identify(Page(1, text), templates) is None
    assert identify(Page(1, np.zeros((1, 1), np.uint8)), templates) is None
    assert identify(Page(1, blank), []) is None


def test_only_the_matching_template_among_others_is_chosen(
    form_templates: list[Path], font_digits: synthetic.DigitSource
) -> None:
    others = load_templates([p for p in form_templates if p.stem != "survey"])
    sp = synthetic.make_page("survey", font_digits, seed=9, strength=0.5)
    assert identify(Page(1, sp.image), others) is None


def test_fallback_aligns_when_features_are_unavailable(
    templates: list[Template], font_digits: synthetic.DigitSource
) -> None:
    fx = ScanEffects(dpi=180, quarter_turns=2, skew_deg=2.0, fax=True)
    sp = synthetic.make_page("order", font_digits, seed=4, effects=fx)
    pyr = align.pyramid(sp.image, align.WORK_LONG)
    work, ws = align.shrink(pyr, align.WORK_LONG)
    cands = registration._fallback_candidates(pyr, work, ws, templates)
    q, ti, h_work = max(cands, key=lambda c: c[0])
    assert templates[ti].name == "order" and q > 0.6
    prep = registration.prepare(templates[ti])
    h_full = align.scale_mat(1 / ws) @ h_work @ align.scale_mat(prep.work_scale)
    assert field_corner_error(sp.homography, h_full, templates[ti]) < 6.0


def test_the_fallbacks_ink_box_leaves_the_pictures_rim_out() -> None:
    """A faint form's little ink, and the page's dark edge and dust along the picture's rim:
    the box the fallback maps the form onto is the form's, not the whole picture."""
    ink = np.zeros((560, 400), bool)
    ink[60:501:40, 40:360] = True  # a faint form's thin rules
    ink[60:501, 40] = ink[60:501, 359] = True
    ink[:, -2:] = ink[-2:, :] = True  # the page's edge on the glass
    ink[0, ::6] = ink[::5, 0] = True  # dust on the rim
    frame = align.ink_frame(registration.without_rim(ink), deskew=False)
    assert frame is not None
    (x0, y0), (x1, y1) = frame[0], frame[2]
    assert abs(x0 - 40) <= 2 and abs(y0 - 60) <= 2 and abs(x1 - 359) <= 2 and abs(y1 - 500) <= 2
    assert align.ink_frame(ink, deskew=False)[2][0] > 390  # the rim left in stretches it


def test_form_removal_keeps_a_stroke_that_crosses_a_printed_line(
    templates: list[Template],
) -> None:
    t = next(t for t in templates if t.name == "claim")
    amount = next(f for f in t.fields if f.name == "amount")
    x, y, w, h = amount.box
    page = t.reference.copy()
    sx = x + w // 2
    cv2.line(page, (sx, y - 40), (sx + 10, y + h // 2), 30, 7)  # crosses the box's top edge
    cv2.putText(page, "7", (x + 40, y + h - 20), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 30, 7)
    reg = identify(Page(1, page), templates)
    assert reg is not None and reg.template.name == "claim"
    ink = reg.ink
    # The stroke is whole where it crosses the printed edge...
    crossing = ink[y - 3 : y + 4, sx - 6 : sx + 16]
    assert np.count_nonzero(crossing) > 0.5 * crossing.size * 7 / 22
    column = ink[y - 25 : y + h // 2 - 5, sx - 8 : sx + 20].max(axis=1)
    assert np.all(column == 255)  # no gap along the whole stroke
    # ...the digit is kept, and the printed box is gone everywhere else.
    assert np.count_nonzero(ink[y + 10 : y + h - 10, x + 30 : x + 120]) > 500
    edge = ink[y - 3 : y + 4, x + 5 : sx - 30]
    assert np.count_nonzero(edge) == 0
    cells = next(f for f in t.fields if f.name == "account")
    cx, cy, cw, ch = cells.box
    assert np.count_nonzero(ink[cy - 5 : cy + ch + 5, cx - 5 : cx + cw + 5]) == 0  # empty comb
    assert set(np.unique(ink)) <= {0, 255}


def test_form_removal_keeps_a_stroke_resting_on_a_printed_line(
    templates: list[Template],
) -> None:
    """The bottom of a 0 drawn along the box's lower edge, inside its tolerance band: kept, so
    the ring stays closed; the rest of the edge still goes."""
    t = next(t for t in templates if t.name == "claim")
    amount = next(f for f in t.fields if f.name == "amount")
    x, y, w, h = amount.box
    page = t.reference.copy()
    cx, bottom = x + 200, y + h - 1
    cv2.ellipse(page, (cx, bottom - 32), (24, 32), 0, 0, 360, 30, 6)  # rests on the edge
    reg = identify(Page(1, page), templates)
    assert reg is not None and reg.template.name == "claim"
    ring = (reg.ink[bottom - 80 : bottom + 8, cx - 40 : cx + 40] > 0).astype(np.uint8)
    _, hierarchy = cv2.findContours(ring, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    assert hierarchy is not None and (hierarchy[0][:, 3] >= 0).any()  # a hole: the 0 is closed
    assert np.count_nonzero(reg.ink[bottom - 4 : bottom + 5, x + 300 : x + w - 20]) == 0


def test_form_removal_mends_a_light_pens_stroke_and_leaves_faint_marks_alone(
    templates: list[Template],
) -> None:
    """A light pen: a stroke in turns clearly and barely darker than the paper is read whole;
    barely dark marks away from any clear ink (a shade's soft edge) stay paper."""
    t = next(t for t in templates if t.name == "claim")
    amount = next(f for f in t.fields if f.name == "amount")
    x, y, _, h = amount.box
    page = t.reference.copy()
    sx, y0, y1 = x + 120, y + 20, y + h - 20
    for k, yy in enumerate(range(y0, y1, 6)):  # clear and faint by turns
        page[yy : yy + 6, sx : sx + 5] = 222 if k % 2 == 0 else 233
    page[y + 25 : y + h - 25, x + 300 : x + 304] = 233  # faint alone
    reg = identify(Page(1, page), templates)
    assert reg is not None and reg.template.name == "claim"
    column = reg.ink[y0 : y1 - 6, sx : sx + 5].max(axis=1)
    assert np.all(column == 255)  # no gap along the stroke
    assert not reg.ink[y + 25 : y + h - 25, x + 296 : x + 308].any()


def test_form_removal_keeps_the_handwriting_and_drops_the_form(
    templates: list[Template], font_digits: synthetic.DigitSource
) -> None:
    """Against the generator's own pen mask: almost all pen pixels kept, almost nothing else."""
    fx = ScanEffects(dpi=180, quarter_turns=3, skew_deg=2.5, noise=6.0, jpeg_quality=50)
    sp = synthetic.make_page("order", font_digits, seed=21, effects=fx, difficulty=2.0)
    reg = identify(Page(1, sp.image), templates)
    assert reg is not None and sp.handwriting is not None
    inside = np.zeros(reg.ink.shape, bool)
    for x, y, w, h in reg.regions:
        inside[y : y + h, x : x + w] = True
    near = np.ones((3, 3), np.uint8)
    pen = (sp.handwriting > 0) & inside
    got = (reg.ink > 0) & inside
    recall = np.count_nonzero(pen & cv2.dilate(got.astype(np.uint8), near).astype(bool))
    precision = np.count_nonzero(got & cv2.dilate(pen.astype(np.uint8), near).astype(bool))
    assert recall / np.count_nonzero(pen) > 0.95
    assert precision / np.count_nonzero(got) > 0.97
    assert not reg.ink[~inside].any()  # outside the field regions nothing is computed


@pytest.mark.slow
def test_a_scanned_blank_form_works_as_reference(
    tmp_path: Path, font_digits: synthetic.DigitSource
) -> None:
    """Users scan their blank form: grey paper, shading and dust in the reference are no print."""
    paths = synthetic.write_templates(tmp_path)
    rng = np.random.default_rng(0)
    for p in paths:
        png = p.with_suffix(".png")
        ref = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        fx = ScanEffects(noise=6, blur=0.8, light=0.3, jpeg_quality=50, margin=0, specks=60)
        scanned, _ = apply_effects(ref, fx, rng)
        cv2.imwrite(str(png), scanned)
    scanned_templates = load_templates(paths)
    registration.warm(scanned_templates)
    fx = ScanEffects(dpi=220, skew_deg=-4.0, perspective=0.007, margin=49, lid=227, fax=True)
    sp = synthetic.make_page("order", font_digits, seed=7, effects=fx)
    reg = identify(Page(1, sp.image), scanned_templates)
    assert reg is not None and reg.template.name == "order" and reg.quality > 0.9
    assert field_corner_error(sp.homography, reg.homography, reg.template) < 5.0
    comb = next(f for f in reg.template.fields if f.name == "item1")
    x, y, w, h = comb.box
    ink = reg.ink[y - 5 : y + h + 5, x - 5 : x + w + 5]
    assert np.count_nonzero(ink) > 0.03 * ink.size  # six digits...
    edges = reg.ink[y - 2 : y + 3, x + 5 : x + w - 5]  # ...but not the comb's top edge
    assert np.count_nonzero(edges) < 0.2 * edges.size


def test_shaded_boxes_inside_the_sheet_are_paper_and_a_lid_around_it_is_not() -> None:
    work = np.full((560, 400), 235, np.uint8)
    for y in range(60, 500, 90):  # grey-filled fields, the darker half of the page's grey levels
        work[y : y + 50, 60:340] = 150
    assert registration._paper(work).all()
    lidded = np.full((560, 400), 120, np.uint8)
    lidded[30:530, 25:375] = work[30:530, 25:375]
    paper = registration._paper(lidded)
    assert not paper[5, 5] and not paper[550, 390] and paper[280, 200] and paper[85, 200]


def test_light_falling_off_across_a_written_grid_is_not_lid() -> None:
    """The fallback's ink box needs the whole sheet: a grid and writing on the lit-off side must
    not give the grey fall-off the sharp border of a scanner lid."""
    work = np.linspace(245, 150, 400)[None, :].repeat(560, axis=0).astype(np.uint8)
    for y in range(60, 520, 40):
        cv2.line(work, (20, y), (380, y), 40, 1)
        cv2.putText(work, "5038", (200, y + 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 30, 2)
    for x in (20, 120, 260, 380):
        cv2.line(work, (x, 60), (x, 500), 40, 1)
    assert registration._paper(work).all()


@pytest.mark.slow
def test_a_form_whose_features_the_handwriting_crowds_out_registers_on_a_second_look() -> None:
    """A sparse comb form filled in: the strongest 600 features are mostly handwriting, and the
    form's own are found only among more (the fallback's frame does not fit it either)."""
    from bench.corpus import pages, writers
    from segmentation.templates import load_templates

    writer = writers.source_writer(synthetic.font_digit_source(), "fonts")
    page = pages.make_page("comb_ticks", 102, writer)
    templates = load_templates([pages.template_path("comb_ticks", 102)])
    reg = identify(Page(1, page.image), templates)
    assert reg is not None and reg.quality > 0.95
    error = field_corner_error(page.homography, reg.homography, templates[0])
    assert error < 6.0 * page.effects.dpi / 200


def test_a_shaded_half_with_print_on_it_is_paper_and_a_bare_border_is_lid() -> None:
    rng = np.random.default_rng(0)
    work = np.full((560, 400), 235, np.uint8)
    work[:, :190] = 185  # the paper's darker half (a fold, a lamp): a sharp step
    for y in range(80, 500, 40):  # print across both halves
        cv2.line(work, (40, y), (360, y), 40, 1)
    noisy = np.clip(work + rng.normal(0, 4, work.shape), 0, 255).astype(np.uint8)
    assert registration._paper(noisy).all()
    lidded = np.full((560, 400), 110, np.uint8)
    lidded[30:530, 25:375] = 235
    for y in range(80, 500, 40):
        cv2.line(lidded, (60, y), (340, y), 40, 1)
    noisy = np.clip(lidded + rng.normal(0, 4, lidded.shape), 0, 255).astype(np.uint8)
    paper = registration._paper(noisy)
    assert not paper[5, 5] and paper[280, 200]


@pytest.mark.slow
def test_a_grid_of_thin_grey_rules_is_found_where_the_fit_puts_it() -> None:
    """Thin grey rules fade at the working size; the form's ink must still count as found."""
    from bench.corpus import pages, writers
    from segmentation.templates import load_templates

    writer = writers.source_writer(synthetic.font_digit_source(), "fonts")
    page = pages.make_page("table_grid", 100, writer)
    templates = load_templates([pages.template_path("table_grid", 100)])
    reg = identify(Page(1, page.image), templates)
    assert reg is not None and reg.quality > 0.85


@pytest.mark.slow
def test_a_comb_printed_light_grey_is_found_in_proportion_to_its_own_contrast() -> None:
    """A form printed in light grey (as dropout-ink forms are) fades further in the scan: its
    combs are looked for at a share of their contrast on the form, and the right fit is good.
    At the fixed offset alone this page scored 0.891, under ``POOR_REGISTRATION`` (0.9)."""
    from bench.corpus import pages, writers
    from segmentation.templates import load_templates

    writer = writers.source_writer(synthetic.font_digit_source(), "fonts")
    page = pages.make_page("comb_full", 102, writer)
    templates = load_templates([pages.template_path("comb_full", 102)])
    reg = identify(Page(1, page.image), templates)
    assert reg is not None and reg.quality > 0.92
    assert field_corner_error(page.homography, reg.homography, templates[0]) < 6.0 * (
        page.effects.dpi / 200
    )
