"""The one settings object: defaults and DIGITIZE_* environment variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from digitize.settings import Settings


def test_defaults_need_no_server() -> None:
    s = Settings(_env_file=None)
    assert s.database_url.startswith("sqlite:///")
    assert 0.0 < s.review_threshold <= 1.0


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITIZE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("DIGITIZE_REVIEW_THRESHOLD", "0.5")
    s = Settings(_env_file=None)
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.review_threshold == 0.5


def test_out_of_range_threshold_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITIZE_REVIEW_THRESHOLD", "1.5")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
