"""The template editor in a real browser (Debian's Chromium through Playwright), on a laptop's
1366×768 screen: draft a template from a blank form, fix it with the mouse and the panel, save it,
and read a filled form with what was saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from digitize.settings import Settings
from digitize.types import Page
from model.inference import get_recognizer
from review.users import add_user
from segmentation import form_fields
from segmentation.templates import load_template
from tests.fixtures_review import serve
from tests.test_review_browser import shots_dir
from tests.test_review_browser_clerk import sign_in_as
from tests.test_template_editor import AMOUNT_BOX, blank_form, editor_settings, write_digits
from worker.pipeline import read_page

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def editor_url(review_db: str, tmp_path: Path) -> Iterator[str]:
    """The app under uvicorn, saving templates into ``tmp_path/templates``; ``root`` is admin."""
    from review.app import create_app
    from tests.fixtures_review import PASSWORD

    add_user(review_db, "root", PASSWORD, admin=True)
    with serve(create_app(editor_settings(review_db, tmp_path / "templates"))) as url:
        yield url


def boxes(page: Any) -> list[dict[str, Any]]:
    """The fields as drawn: name and box in reference pixels, straight from the SVG."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('#boxes g.fld')).map(g => {
                 const r = g.querySelector('rect.body');
                 return {name: g.querySelector('text.label').textContent,
                         box: ['x', 'y', 'width', 'height'].map(k => +r.getAttribute(k))};
               })"""
        )
    )


def screen(page: Any, x: float, y: float) -> tuple[float, float]:
    """Where reference pixel (x, y) is on the screen."""
    pt = page.evaluate(
        """([x, y]) => { const s = document.getElementById('sheet');
             const p = s.createSVGPoint(); p.x = x; p.y = y;
             const q = p.matrixTransform(s.getScreenCTM()); return [q.x, q.y]; }""",
        [x, y],
    )
    return float(pt[0]), float(pt[1])


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at reference pixel ``start``, move in steps, release at ``end``."""
    page.mouse.move(*screen(page, *start))
    page.mouse.down()
    page.mouse.move(*screen(page, *end), steps=8)
    page.mouse.up()


def overlap(a: list[float], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two [x, y, w, h] boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def near(a: list[float], b: list[float] | tuple[int, ...], tol: float = 6) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("detector", ["as is", "finds nothing"])
def test_draft_fix_save_and_read_a_form(
    editor_url: str, chromium: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, detector: str
) -> None:
    """With the fields the detector drafts, or none (every field drawn with the mouse)."""
    if detector == "finds nothing":
        monkeypatch.setattr(form_fields, "find_fields", lambda grey: [])
    form = tmp_path / "blank.png"
    cv2.imwrite(str(form), blank_form())
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_as(page, editor_url, "root")
    page.click("header nav >> text=Templates")
    page.set_input_files("#picture", str(form))
    page.fill("#draft-name", "claim")
    with page.expect_navigation():
        page.click("#draft-submit")
    page.wait_for_selector("body[data-ready]")
    assert "/templates/drafts/" in page.url

    # A laptop screen: the whole form and the panel in view, nothing to scroll sideways.
    sheet = page.locator("#sheet").bounding_box()
    panel = page.locator("#panel").bounding_box()
    assert sheet["y"] + sheet["height"] <= LAPTOP["height"] + 1
    assert panel["x"] >= sheet["x"] + sheet["width"] and panel["x"] + panel["width"] <= 1366
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    # The amount field: the drafted one over the Amount box, else drawn with the mouse, a little
    # off, to be moved into place.
    drafted = [b for b in boxes(page) if overlap(b["box"], AMOUNT_BOX) > 0.5]
    x, y, w, h = AMOUNT_BOX
    if drafted:
        start = drafted[0]["box"]
        index = boxes(page).index(drafted[0])
        centre = (start[0] + start[2] / 2, start[1] + start[3] / 2)
        drag(page, centre, (centre[0] - 60, centre[1] - 40))  # away...
        index_box = boxes(page)[index]["box"]
        assert near(index_box, [start[0] - 60, start[1] - 40, start[2], start[3]])
        target = list(start)
    else:
        count = len(boxes(page))
        drag(page, (x + 3 - 60, y + 3 - 40), (x + w - 3 - 60, y + h - 3 - 40))  # drawn
        assert len(boxes(page)) == count + 1
        index = count
        target = [x + 3, y + 3, w - 6, h - 6]
        assert near(boxes(page)[index]["box"], [x - 57, y - 37, w - 6, h - 6])
    moved_from = boxes(page)[index]["box"]
    grab = (moved_from[0] + moved_from[2] / 2, moved_from[1] + moved_from[3] / 2)
    drag(page, grab, (grab[0] + 60, grab[1] + 40))  # ...and into the box with the mouse
    assert near(boxes(page)[index]["box"], target)

    # Delete it, undo with Ctrl+Z: it is back where it was.
    page.keyboard.press("Delete")
    assert all(not near(b["box"], target) for b in boxes(page))
    page.keyboard.press("Control+z")
    assert near(boxes(page)[index]["box"], target)

    # Name it, and an impossible length rule shows its error next to the field.
    page.fill("#f-name", "amount")
    page.fill("#f-min", "5")
    page.fill("#f-max", "2")
    problem = page.locator("#field-form ul.problems li", has_text="min_digits")
    problem.wait_for()
    assert page.locator(f"#field-list li[data-index='{index}'].invalid").count() == 1
    page.click("#save")
    page.wait_for_selector("#status.bad")
    assert "Not saved" in page.inner_text("#status")
    assert not (tmp_path / "templates" / "claim.json").exists()
    shot = f"template-editor-{detector.replace(' ', '-')}"
    page.screenshot(path=str(shots_dir(tmp_path) / f"{shot}-error.png"))
    # Undo button: the length rule goes again, one change at a time.
    page.click("#undo")
    page.click("#undo")
    problem.wait_for(state="detached")
    assert page.input_value("#f-min") == "" and page.input_value("#f-max") == ""
    assert page.input_value("#f-name") == "amount"

    # A range rule, then save.
    page.fill("#f-range-lo", "0")
    page.fill("#f-range-hi", "5000")
    page.click("#save")
    page.wait_for_selector("#status.ok")
    assert page.url.endswith("/templates/edit/claim")
    page.screenshot(path=str(shots_dir(tmp_path) / f"{shot}.png"))
    context.close()

    # What was saved loads, and reads a filled form.
    template = load_template(tmp_path / "templates" / "claim.json")
    amount = next(f for f in template.fields if f.name == "amount")
    assert amount.range == (0.0, 5000.0) and amount.kind == "box"
    assert near(list(amount.box), target)
    filled = write_digits(blank_form(), AMOUNT_BOX, "1234")
    settings = Settings(cache_dir=None)
    result = read_page(Page(1, filled, source="filled"), [template], get_recognizer(None), settings)
    assert result.template == "claim"
    assert {f.name: f.value for f in result.fields}["amount"] == "1234"
