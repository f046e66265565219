"""The review app in a real browser (Debian's Chromium through Playwright), keyboard first."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Digit, Field, ReviewEvent, User
from db.results import ResultFilter, query_results
from db.session import session_scope
from tests.fixtures_review import PASSWORD, LiveServer, seed_review

pytestmark = pytest.mark.browser

FIELD_URL = re.compile(r".*/review/fields/\d+.*")


def shots_dir(tmp_path: Path) -> Path:
    """Screenshots go to $REVIEW_SCREENSHOTS when set (to look at them), else the test's tmp."""
    d = Path(os.environ.get("REVIEW_SCREENSHOTS") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def sign_in_with_keyboard(page: Any, base: str) -> None:
    page.goto(base + "/")
    assert "/login" in page.url  # every page but sign-in needs a session
    # The user name field has autofocus; on a busy machine focus can land after the first keys.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'username'")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.rstrip("/") == base


def current_field(page: Any) -> int:
    page.wait_for_selector("#item")
    # Ready to type, no mouse: the value box, or a comb field's first cell.
    assert page.evaluate("document.activeElement.matches('#value, #cells input.cell')")
    return int(page.get_attribute("#item", "data-field-id"))


def test_keyboard_review_of_20_fields(
    live_server: LiveServer, browser_page: Any, tmp_path: Path
) -> None:
    seeded = seed_review(live_server.db_url, n_fields=26, seed=1)
    page = browser_page
    sign_in_with_keyboard(page, live_server.url)
    with page.expect_navigation(url=FIELD_URL):
        page.keyboard.press("Enter")  # "Start reviewing"

    reviewed: dict[int, str | None] = {}
    skipped: int | None = None
    seen: list[int] = []
    while len(reviewed) < 20:
        fid = current_field(page)
        flashes = page.locator(".flash").all_inner_texts()
        assert fid not in reviewed, f"field {fid} came back after {seen} ({page.url}) {flashes}"
        seen.append(fid)
        truth = seeded.fields[fid]
        if len(seen) == 1:
            page.keyboard.press("p")  # show the page with the field outlined
            page.wait_for_function(
                "() => { const i = document.querySelector('#page img');"
                " return i && i.complete && i.naturalWidth > 0; }"
            )
            assert page.is_visible("#page img")
            page.screenshot(path=str(shots_dir(tmp_path) / "review-field.png"), full_page=True)
        with page.expect_navigation(url=FIELD_URL):
            if skipped is None and len(seen) == 3:
                skipped = fid
                page.keyboard.press("Escape")
                continue
            if len(reviewed) == 5:
                page.keyboard.press("u")
                reviewed[fid] = None
            else:
                if truth.truth != truth.predicted:
                    page.keyboard.type(truth.truth)  # replaces the selected machine reading
                page.keyboard.press("Enter")
                reviewed[fid] = truth.truth

    # Most doubtful first: the fields came in increasing order of confidence.
    with session_scope(live_server.db_url) as db:
        confidence = dict(db.execute(select(Field.id, Field.confidence)).tuples().all())
        rows = {
            r.id: r
            for r in db.execute(
                select(
                    Field.id,
                    Field.value,
                    Field.reviewed_value,
                    Field.review_status,
                    Field.reviewed_by,
                    Field.locked_by,
                ).where(Field.reviewed_at.is_not(None))
            )
        }
        events = list(db.scalars(select(ReviewEvent).order_by(ReviewEvent.id)))
        alice = db.scalar(select(User.id).where(User.username == "alice"))
        digits = {
            d.id: d.corrected_value
            for d in db.scalars(select(Digit).where(Digit.corrected_value.is_not(None)))
        }
        results = query_results(db, ResultFilter(batch_id=seeded.batch_id))
    order = [f for f in seen if f != skipped]
    assert [confidence[f] for f in order] == sorted(confidence[f] for f in order)

    assert set(rows) == set(reviewed)
    for fid, expected in reviewed.items():
        row = rows[fid]
        assert row.reviewed_by == alice and row.locked_by is None
        if expected is None:
            assert row.review_status == "unreadable" and row.reviewed_value is None
        else:
            assert row.reviewed_value == expected
            assert row.review_status == ("confirmed" if expected == row.value else "corrected")
            sf = seeded.fields[fid]
            assert [digits[d] for d in sf.digit_ids] == sf.digit_truth  # crops now labelled

    # The audit trail: one row per verdict (and the skip), who, when, old → new.
    by_field = {e.field_id: e for e in events if e.action != "skip"}
    assert len(by_field) == 20 and len(events) == 21
    assert [e.field_id for e in events if e.action == "skip"] == [skipped]
    for fid, e in by_field.items():
        assert e.user_id == alice and e.username == "alice" and e.created_at is not None
        assert e.old_value == seeded.fields[fid].predicted
        assert e.new_value == reviewed[fid]
        expected_action = (
            "unreadable"
            if reviewed[fid] is None
            else ("confirm" if reviewed[fid] == seeded.fields[fid].predicted else "correct")
        )
        assert e.action == expected_action
    assert {e.action for e in events} >= {"confirm", "correct", "unreadable", "skip"}

    # What `digitize results` and the API return: the person's value, marked as such.
    served = [f for d in results["documents"] for p in d["pages"] for f in p["fields"]]
    assert len(served) == 26
    assert sum(f["reviewed"] for f in served) == 20
    assert sum(f["reviewed"] and f["value"] is None for f in served) == 1
    assert sorted(f["value"] for f in served if f["reviewed"] and f["value"] is not None) == sorted(
        v for v in reviewed.values() if v is not None
    )


def test_group_verification(live_server: LiveServer, browser_page: Any, tmp_path: Path) -> None:
    seeded = seed_review(live_server.db_url, n_fields=16, seed=2, group_digit=7, group_wrong=3)
    wrong = {
        did
        for sf in seeded.fields.values()
        for did, t in zip(sf.digit_ids, sf.digit_truth, strict=True)
        if t != 7 and did in doubtful_ids(live_server.db_url)
    }
    assert len(wrong) == 3
    page = browser_page
    sign_in_with_keyboard(page, live_server.url)
    page.goto(live_server.url + "/group")
    with page.expect_navigation(url=re.compile(r".*/group/7$")):
        page.keyboard.press("7")
    tiles = page.locator("label.tile")
    assert tiles.count() == 16
    for did in wrong:  # click only the wrong ones
        page.click(f"label.tile:has(input[value='{did}'])")
    assert page.inner_text("#wrong-count") == "3"
    page.screenshot(path=str(shots_dir(tmp_path) / "group-verification.png"), full_page=True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Confirmed 13 as 7" in page.inner_text(".flash.info")
    assert "13 field(s) fully settled" in page.inner_text(".flash.info")

    with session_scope(live_server.db_url) as db:
        digits = {d.id: d for d in db.scalars(select(Digit).where(Digit.needs_review))}
        events = list(db.scalars(select(ReviewEvent)))
        fields = {f.id: f for f in db.scalars(select(Field))}
    for did, d in digits.items():
        if did in wrong:
            assert d.corrected_value is None
        else:
            assert d.corrected_value == 7 and d.corrected_by is not None
    rejects = {e.digit_id for e in events if e.action == "reject"}
    confirms = {e.digit_id for e in events if e.action == "confirm" and e.digit_id}
    assert rejects == wrong and len(confirms) == 13
    wrong_fields = {digits[d].field_id for d in wrong}
    for fid, f in fields.items():
        if fid in wrong_fields:
            assert f.reviewed_at is None and f.locked_by is None  # back to field review
        else:
            assert f.reviewed_value == seeded.fields[fid].truth and f.review_status == "confirmed"
    # The grid for 7 now holds nothing: rejected crops do not come back as 7s.
    page.goto(live_server.url + "/group/7")
    assert page.locator("label.tile").count() == 0
    # Field review shows which crop was rejected, and only those fields are left in the queue.
    page.goto(live_server.url + "/")
    assert page.inner_text("h1").startswith("3 fields")
    with page.expect_navigation(url=re.compile(r".*/review/fields/\d+")):
        page.keyboard.press("Enter")
    assert page.locator(".digits li.rejected").count() == 1
    assert page.inner_text(".digits li.rejected b").startswith("not 7")


def doubtful_ids(url: str) -> set[int]:
    with session_scope(url) as db:
        return set(db.scalars(select(Digit.id).where(Digit.needs_review)))
