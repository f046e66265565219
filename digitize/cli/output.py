"""Machine-readable output: with ``--format json`` or ``csv`` stdout carries the document alone.

Libraries print progress where they like (Keras's ``Downloading data from …`` goes to stdout,
native code writes to file descriptor 1). While a command that promises a document runs, file
descriptor 1 points at stderr, and the document is written to the real stdout kept aside, so a
program reading stdout always gets something that parses.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

#: ``--format`` values that promise a document on stdout (``xlsx`` writes a file: stdout stays
#: empty all the same).
DOCUMENT_FORMATS = frozenset({"json", "csv", "wide", "xlsx"})

_document: TextIO | None = None


def wants_document(argv: Sequence[str]) -> bool:
    """True when the command line asks for ``--format json|csv`` (``-f`` too, ``=`` or not)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--format="):
            value = arg.split("=", 1)[1]
        elif arg in ("--format", "-f") and i + 1 < len(argv):
            value = argv[i + 1]
        else:
            continue
        if value.lower() in DOCUMENT_FORMATS:
            return True
    return False


def document_stream() -> TextIO:
    """Where the document goes: the real stdout kept aside, or stdout when nothing is kept."""
    return _document if _document is not None else sys.stdout


@contextlib.contextmanager
def stdout_for_document_only() -> Iterator[None]:
    """Send everything printed to stdout to stderr; ``document_stream()`` is the real stdout."""
    global _document
    try:
        fd = sys.stdout.fileno()
        err_fd = sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = err_fd = -1
    if fd < 0:  # in-process (a test runner's captured streams): Python-level only
        real = sys.stdout
        _document = real
        try:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        finally:
            _document = None
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    os.dup2(err_fd, fd)
    doc = os.fdopen(saved, "w", encoding="utf-8", closefd=False)
    _document = doc
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _document = None
        doc.flush()
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
