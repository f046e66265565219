"""The clerk's comb entry, the supervisor's figures and offline API docs in a real browser
(Debian's Chromium through Playwright)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from db.models import Field, ReviewEvent
from db.session import session_scope
from review.users import add_user
from tests.fixtures_review import (
    PASSWORD,
    LiveServer,
    seed_field,
    seed_review,
    write_comb_template,
)
from tests.test_review_browser import shots_dir

pytestmark = pytest.mark.browser

FIELD_URL = re.compile(r".*/review/fields/\d+.*")


def sign_in_as(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url


def test_comb_field_corrected_cell_by_cell(
    live_server: LiveServer, browser_page: Any, tmp_path: Path
) -> None:
    tpl = write_comb_template(tmp_path / "templates", cells=12)
    sf = seed_field(
        live_server.db_url,
        "123456789012",
        template="passport",
        name="account",
        templates=[str(tpl)],
        confidences=[0.99] * 5 + [0.4] + [0.99] * 6,
    )
    page = browser_page
    sign_in_as(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/review/fields/{sf.id}")
    cells = page.locator("#cells input.cell")
    assert cells.count() == 12
    page.wait_for_function("document.activeElement.classList.contains('cell')")
    # The boxes sit right under the scan, starting at its left edge.
    scan = page.locator("figure.scan").bounding_box()
    first = cells.nth(0).bounding_box()
    assert first["y"] >= scan["y"] + scan["height"] and abs(first["x"] - scan["x"]) < 4
    # Typing replaces the machine's reading cell by cell; Backspace steps back and clears.
    page.keyboard.type("98765432")
    page.keyboard.press("Backspace")
    page.keyboard.type("10987")
    values = cells.evaluate_all("els => els.map(e => e.value).join('')")
    assert values == "987654310987"
    page.screenshot(path=str(shots_dir(tmp_path) / "review-comb.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with session_scope(live_server.db_url) as db:
        row = db.get(Field, sf.id)
        assert row is not None
        assert row.reviewed_value == "987654310987" and row.review_status == "corrected"


def test_long_value_box_shows_every_digit(live_server: LiveServer, browser_page: Any) -> None:
    sf = seed_field(live_server.db_url, "12345678901", field_confidence=0.239)
    page = browser_page
    sign_in_as(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/review/fields/{sf.id}")
    page.wait_for_function("document.activeElement.id === 'value'")
    # No horizontal scrolling: the box is as wide as its 11 digits (and a caret).
    assert page.evaluate(
        "(() => { const i = document.getElementById('value');"
        " return i.scrollWidth <= i.clientWidth; })()"
    )
    assert "number of digits or where they split" in page.inner_text(".why")


def test_supervisor_counts_match_the_audit_trail(
    live_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    seed_review(live_server.db_url, n_fields=8, per_page=4, seed=3)
    add_user(live_server.db_url, "bob", PASSWORD)
    plan = {"alice": ["Enter", "Enter", "u"], "bob": ["Enter", "u"]}
    for who, keys in plan.items():
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in_as(page, live_server.url, who)
        with page.expect_navigation(url=FIELD_URL):
            page.keyboard.press("Enter")  # start reviewing
        for key in keys:
            page.wait_for_selector("#item")
            with page.expect_navigation():
                page.keyboard.press(key)
        context.close()

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    add_user(live_server.db_url, "root", PASSWORD, admin=True)  # the supervisor
    sign_in_as(page, live_server.url, "root")
    page.goto(live_server.url + "/supervisor")
    page.screenshot(path=str(shots_dir(tmp_path) / "supervisor.png"), full_page=True)
    with session_scope(live_server.db_url) as db:
        counted = {
            (u, a): int(n)
            for u, a, n in db.execute(
                select(ReviewEvent.username, ReviewEvent.action, func.count())
                .where(ReviewEvent.digit_id.is_(None))
                .group_by(ReviewEvent.username, ReviewEvent.action)
            )
        }
    for who in plan:
        row = page.locator(f"tr[data-reviewer='{who}']")
        shown = {
            col: int(row.locator(f"td[data-col='{col}']").inner_text())
            for col in ("fields", "confirmed", "corrected", "unreadable")
        }
        expect = {
            "confirmed": counted.get((who, "confirm"), 0),
            "corrected": counted.get((who, "correct"), 0),
            "unreadable": counted.get((who, "unreadable"), 0),
        }
        expect["fields"] = sum(expect.values())
        assert shown == expect, who
        assert shown["fields"] == len(plan[who])
    # The audit trail filtered by reviewer lists exactly bob's events.
    page.goto(live_server.url + "/supervisor/audit")
    page.select_option("select[name=reviewer]", "bob")
    with page.expect_navigation():
        page.click("form.filters button")
    rows = page.locator("#audit tbody tr")
    assert rows.count() == 2
    assert set(rows.locator("td:nth-child(2)").all_inner_texts()) == {"bob"}
    context.close()


def test_api_docs_render_offline(live_server: LiveServer, browser_page: Any) -> None:
    page = browser_page
    sign_in_as(page, live_server.url, "alice")
    blocked: list[str] = []
    problems: list[str] = []

    def only_local(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_server.url + "/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "digitize review API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")
    ops = " ".join(page.locator(".opblock-summary-path").all_inner_texts())
    assert "/api/results" in ops and "/api/batches" in ops
    assert blocked == []  # nothing wanted the internet
    assert not [p for p in problems if "Content Security Policy" in p], problems
