"""One small error hierarchy, raised deep and translated once at each edge.

Each class says what it maps to: the CLI exit code, the HTTP status of the web app and API, the
status a document ends in, and whether a worker should retry. Edges (CLI, Celery task, web view)
catch ``DigitizeError`` and use these attributes; nothing else decides.
"""

from __future__ import annotations


class DigitizeError(Exception):
    """Base of every error this product raises on purpose."""

    exit_code: int = 1
    http_status: int = 500
    document_status: str = "failed"
    retryable: bool = False

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class BadInputError(DigitizeError):
    """The input itself is wrong (unreadable, truncated, encrypted, too large): never retried."""

    exit_code = 2
    http_status = 422


class UnsupportedFormatError(BadInputError):
    """The bytes are no image or PDF format we read."""


class EncryptedInputError(BadInputError):
    """A password-protected PDF."""


class InputTooLargeError(BadInputError):
    """A decompression bomb or an absurdly large page."""

    http_status = 413


class UsageError(BadInputError):
    """An argument or query parameter that cannot be understood (``--since notadate``)."""

    http_status = 400


class ConfigError(DigitizeError):
    """A setting, template or command-line combination that cannot work."""

    exit_code = 3
    http_status = 500


class TemplateError(ConfigError):
    """A form template that is malformed or whose reference picture is missing."""


class ModelError(DigitizeError):
    """The shipped model is missing, corrupt (checksum) or does not match its config."""

    exit_code = 4


class NotFoundError(DigitizeError):
    """A batch, document, field or user that does not exist."""

    exit_code = 5
    http_status = 404


class ConflictError(DigitizeError):
    """Somebody else changed or holds the item (review locks, stale versions)."""

    exit_code = 6
    http_status = 409


class AuthError(DigitizeError):
    """Missing or wrong credentials, session or CSRF token."""

    exit_code = 7
    http_status = 401


class TransientError(DigitizeError):
    """Database or broker unreachable, lock timeouts: worth retrying with backoff."""

    exit_code = 75  # EX_TEMPFAIL
    http_status = 503
    document_status = "queued"
    retryable = True


class ProcessingFailedError(DigitizeError):
    """Some documents of a run failed; the run finished but the exit status must say so."""

    exit_code = 10
