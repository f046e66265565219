"""Structured logs: one JSON object per line, each carrying the document it is about.

Operators grep and aggregate logs by document id across many worker machines; a context variable
set around each task (``bind_document``) puts the id on every record logged meanwhile, whichever
module logs it. ``setup_logging`` is the one switch the CLI and the worker call.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_document_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "digitize_document_id", default=None
)

#: LogRecord attributes that are not user-supplied ``extra`` fields.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "document_id",
}


@contextmanager
def bind_document(document_id: int | None) -> Iterator[None]:
    """Within this block every log record carries ``document_id``."""
    token = _document_id.set(document_id)
    try:
        yield
    finally:
        _document_id.reset(token)


def set_document(document_id: int | None) -> contextvars.Token[int | None]:
    """The same as ``bind_document`` for code split over two callbacks (Celery signals)."""
    return _document_id.set(document_id)


def current_document() -> int | None:
    return _document_id.get()


class DocumentFilter(logging.Filter):
    """Copies the bound document id onto each record (``record.document_id``, maybe None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "document_id", None) is None:
            record.document_id = _document_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "document_id", "process", ...extra, "exc"}``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "document_id": getattr(record, "document_id", None),
            "process": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with ``[doc N]`` when a document is bound."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        doc = getattr(record, "document_id", None)
        return text if doc is None else f"{text} [doc {doc}]"


def setup_logging(level: str | int | None = None, fmt: str | None = None) -> None:
    """Configure the root logger on stderr: ``fmt`` "json" or "text" (default: settings)."""
    from digitize.settings import get_settings

    settings = get_settings()
    fmt = fmt or settings.log_format
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(DocumentFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    lvl = level if level is not None else settings.log_level
    root.setLevel(lvl.upper() if isinstance(lvl, str) else lvl)


def setup_cli_logging() -> None:
    """For the CLI entry point: switch to JSON lines only when ``DIGITIZE_LOG_FORMAT=json``."""
    from digitize.settings import get_settings

    try:
        settings = get_settings()
    except Exception:  # an invalid setting is reported by the command that reads it
        return
    if settings.log_format == "json":
        setup_logging(settings.log_level, "json")
