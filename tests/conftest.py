"""Shared fixtures. Each area keeps its fixtures in a plugin module listed here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures_images",
    "tests.fixtures_model",
    "tests.fixtures_db",
    "tests.fixtures_review",
]

#: Fixtures that talk to a server: a test using one gets that server's marker, so
#: ``make check`` (``-m "not (postgres or redis or browser or slow)"``) leaves it out.
SERVER_FIXTURES = {
    "pg_url": "postgres",
    "redis_db": "redis",
    "private_redis": "redis",
    "workers": "redis",
    "page": "browser",
    "browser": "browser",
}


def pytest_collection_modifyitems(config: object, items: list[object]) -> None:
    import pytest

    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in SERVER_FIXTURES.items():
            if fixture in names:
                item.add_marker(getattr(pytest.mark, marker))  # type: ignore[attr-defined]
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)  # type: ignore[attr-defined]
