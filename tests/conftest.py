"""Shared fixtures. Each area keeps its fixtures in a plugin module listed here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures_images",
    "tests.fixtures_model",
    "tests.fixtures_db",
    "tests.fixtures_review",
]
