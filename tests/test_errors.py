"""The error hierarchy maps each failure to one exit code, HTTP status and document status."""

from __future__ import annotations

import inspect

import pytest

from digitize import errors


def _error_classes() -> list[type[errors.DigitizeError]]:
    return [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.DigitizeError)
    ]


def test_bad_input_is_never_retried() -> None:
    for cls in _error_classes():
        if issubclass(cls, errors.BadInputError):
            assert not cls.retryable
            assert cls.document_status == "failed"
            assert 400 <= cls.http_status < 500


def test_transient_errors_are_retried_and_requeued() -> None:
    assert errors.TransientError.retryable
    assert errors.TransientError.document_status == "queued"


@pytest.mark.parametrize("cls", _error_classes())
def test_message_names_the_source(cls: type[errors.DigitizeError]) -> None:
    exc = cls("cannot read it", source="scan 1.png")
    assert str(exc) == "scan 1.png: cannot read it"
    assert exc.exit_code != 0


def test_distinct_exit_codes_for_top_level_kinds() -> None:
    top = [c for c in _error_classes() if c.__bases__ == (errors.DigitizeError,)]
    codes = [c.exit_code for c in top]
    assert len(codes) == len(set(codes))
