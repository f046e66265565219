"""Signing out in a real browser (Debian's Chromium through Playwright) ends the session for good:
a copy of the old cookie, replayed in a fresh browser, gets the sign-in page."""

from __future__ import annotations

from typing import Any

import pytest

from review.app import SESSION_COOKIE
from tests.fixtures_review import LiveServer, seed_review
from tests.test_review_browser import sign_in_with_keyboard

pytestmark = pytest.mark.browser


def test_old_cookie_is_refused_after_sign_out(
    live_server: LiveServer, browser_page: Any, chromium: Any
) -> None:
    seed_review(live_server.db_url, n_fields=2)
    base = live_server.url
    page = browser_page
    sign_in_with_keyboard(page, base)
    page.goto(base + "/dashboard")
    assert page.url == base + "/dashboard" and "review-fixture" in page.content()
    old = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert len(old) == 1 and old[0]["httpOnly"]

    with page.expect_navigation():
        page.click("form.signout button")
    assert "/login" in page.url

    replay = chromium.new_context()
    try:
        other = replay.new_page()
        other.set_default_timeout(15_000)
        replay.add_cookies(old)
        other.goto(base + "/dashboard")
        assert "/login" in other.url
        assert other.is_visible("form.signin") and "review-fixture" not in other.content()
        assert "Your session has ended" in other.inner_text("body")
    finally:
        replay.close()
