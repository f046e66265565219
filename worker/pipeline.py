"""The one pipeline driver: load → register → segment → classify → assemble → validate → store.

``read_page``/``read_document`` are pure (bytes and objects in, ``PageResult`` out, timed per
stage). ``process_document`` wraps them for a stored document: claim it, fetch its bytes, read
without holding a transaction, then write every page, field and digit together with the final
status in ONE transaction that only the first finisher can commit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from db import queries
from db.models import DONE, FAILED, Batch
from db.readings import FieldRows, PageRows, store_reading
from db.session import session_scope
from db.storage import get_storage
from digitize.errors import BadInputError, DigitizeError, TemplateError, TransientError
from digitize.files import write_atomic
from digitize.settings import Settings, get_settings
from digitize.types import NUM_CLASSES, DigitClassifier, FieldResult, Page, PageResult
from segmentation.imageops import fit

if TYPE_CHECKING:
    from segmentation.photo_strings import Prediction
    from segmentation.templates import Template

log = logging.getLogger(__name__)

#: Registration quality below this flags every field of the page for review. Fits of the wrong
#: form reach 0.80 on the broad corpus (refused below 0.72 by ``identify``); right fits measure
#: 0.98-1.0 on clean forms and down to 0.82 where ink the blank form lacks (a stamp, notes)
#: lowers the share of the page's ink that its print explains, not the fit (docs/experiments.md).
POOR_REGISTRATION = 0.85
#: A scanned page's short side in pixels at least: a strip of one line of digits at 150 dpi has
#: more; a thumbnail or a 1×1 tracking pixel has less and fails instead of reading as empty.
MIN_PAGE_SIDE = 64
#: Longest side of the stored page preview (the review app outlines fields on it).
PREVIEW_SIDE = 1000


def read_page(
    page: Page,
    templates: Sequence[Template],
    classifier: DigitClassifier,
    settings: Settings,
    *,
    keep_crops: bool = False,
) -> PageResult:
    """Read one page: the best template (or template-free), then one batched classifier call.

    The one composition of the reader's stages: the pipeline, ``digitize predict`` and the
    training that adapts the network to the reader's crops all read pages through it.
    ``keep_crops`` keeps the classifier's inputs on the result (``PageResult.crops``).
    """
    from segmentation.constrain import constrain_fields
    from segmentation.reader import assemble_page, segment_page
    from segmentation.registration import identify
    from segmentation.review_flags import validate_fields

    timings: dict[str, float] = {}
    t = perf_counter()

    def lap(stage: str) -> None:
        nonlocal t
        now = perf_counter()
        timings[stage] = round((now - t) * 1000, 2)
        t = now

    reg = identify(page, templates) if templates else None
    lap("register")
    seg = segment_page(page, reg)
    lap("segment")
    crops = np.asarray(seg.crops, dtype=np.float32)
    # Template-free, the short strings' upside-down crops wait until the way up needs them.
    first = seg.first_rows()
    probs = np.full((len(crops), NUM_CLASSES), np.nan, np.float32)
    if len(first):
        probs[first] = classifier.predict_proba(crops[first])
    lap("classify")
    fields = assemble_page(seg, probs, lambda rows: classifier.predict_proba(crops[rows]))
    lap("assemble")
    specs = reg.template.fields if reg is not None else None
    fields = validate_fields(
        constrain_fields(fields, specs),
        specs,
        field_threshold=settings.review_threshold,
        digit_threshold=settings.digit_review_threshold,
    )
    if reg is not None and reg.quality < POOR_REGISTRATION:
        _flag(fields, "poor_registration")
    lap("validate")
    return PageResult(
        number=page.number,
        width=page.width,
        height=page.height,
        template=reg.template.name if reg is not None else None,
        registration_quality=float(reg.quality) if reg is not None else None,
        fields=fields,
        timings_ms=timings,
        crops=crops if keep_crops else None,
        homography=reg.homography if reg is not None else None,
    )


def read_photo(page: Page, classifier: DigitClassifier, settings: Settings) -> Prediction:
    """Every handwritten digit string of a photo or scan of no form (``digitize predict``)."""
    from segmentation.photo_strings import main_strings

    return main_strings(read_page(page, [], classifier, settings).fields, page.source)


def _flag(fields: list[FieldResult], reason: str) -> None:
    for f in fields:
        f.flag(reason)
        f.needs_review = True


def _read(
    data: bytes,
    source: str,
    templates: Sequence[Template],
    classifier: DigitClassifier,
    settings: Settings,
) -> tuple[list[Page], list[PageResult]]:
    from segmentation.loading import load_pages

    t = perf_counter()
    pages = load_pages(data, source, dpi=settings.pdf_dpi, max_pixels=settings.max_pixels)
    for page in pages:
        if min(page.width, page.height) < MIN_PAGE_SIDE:
            raise BadInputError(
                f"page {page.number} is {page.width}×{page.height} pixels, too small to be a page "
                f"(a page is at least {MIN_PAGE_SIDE} pixels on its short side; "
                "`digitize predict` reads small pictures of digits)",
                source=source,
            )
    load_ms = (perf_counter() - t) * 1000 / max(1, len(pages))
    results = []
    for page in pages:
        result = read_page(page, templates, classifier, settings)
        result.timings_ms = {"load": round(load_ms, 2), **result.timings_ms}
        results.append(result)
    return pages, results


def read_document(
    data: bytes,
    source: str,
    templates: Sequence[Template],
    classifier: DigitClassifier,
    settings: Settings,
) -> list[PageResult]:
    """Every page of a file (image or PDF), read; raises ``BadInputError`` for unreadable input."""
    return _read(data, source, templates, classifier, settings)[1]


def _templates_for(paths: tuple[str, ...], settings: Settings) -> list[Template]:
    cache = settings.cache_dir
    return _prepared_templates(paths, str(cache.expanduser()) if cache else None)


@lru_cache(maxsize=16)
def _prepared_templates(paths: tuple[str, ...], cache_dir: str | None) -> list[Template]:
    from segmentation.template_cache import warm
    from segmentation.templates import load_templates

    templates = load_templates([Path(p) for p in paths]) if paths else []
    # Features and masks once per process (from the disk cache when there), not on page one.
    warm(templates, Path(cache_dir) if cache_dir else None)
    return templates


def _unpack(session: Session, entries: list[dict[str, Any]], settings: Settings) -> list[str]:
    """Write a batch's stored templates into a local cache folder (once); their JSON paths."""
    root = Path(tempfile.gettempdir()) / "digitize-templates"
    paths = []
    for entry in entries:
        files: dict[str, str] = entry["files"]
        key = hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(files.items())).encode())
        folder = root / key.hexdigest()[:24]
        storage = get_storage(settings.storage_url, entry.get("storage", "db"))
        for rel, sha in files.items():
            target = (folder / rel).resolve()
            if folder.resolve() not in target.parents:
                raise TemplateError(f"template file name {rel!r} leaves its folder")
            if not target.exists():
                write_atomic(target, storage.get(session, sha))
        paths.append(str(folder / entry["json"]))
    return paths


def templates_for_batch(session: Session, batch: Batch, settings: Settings) -> list[Template]:
    """The batch's own templates (stored with it), else the configured defaults; cached."""
    entries = list(batch.templates or [])
    if not entries:
        return _templates_for(tuple(str(p) for p in settings.templates), settings)
    if all(isinstance(e, str) for e in entries):  # local paths (same-machine use)
        return _templates_for(tuple(entries), settings)
    return _templates_for(tuple(_unpack(session, entries, settings)), settings)


def default_classifier(settings: Settings) -> DigitClassifier:
    """The configured recognizer, loaded once per process, on ONE thread.

    Throughput comes from one process per core; a second interpreter thread per process would
    only contend with the other processes for the same cores.
    """
    return _recognizer(str(settings.model_path) if settings.model_path else None, os.getpid())


@lru_cache(maxsize=4)
def _recognizer(path: str | None, pid: int) -> DigitClassifier:
    from model.inference import Recognizer

    return Recognizer(Path(path) if path else None, num_threads=1)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Outcome:
    """What ``process_document`` did: the final state, or ``skipped`` when already finished."""

    document_id: int
    status: str
    error: str | None = None
    pages: int = 0
    fields: int = 0
    needs_review: int = 0
    skipped: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)


def png(image: npt.NDArray[np.uint8] | None) -> bytes | None:
    """Lossless, for digit crops (training data): Huffman-only deflate is both the fastest and
    the smallest on small noisy crops (~65 µs each)."""
    strategy = [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY]
    return _encode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1, *strategy])


def jpeg(image: npt.NDArray[np.uint8] | None, quality: int = 85) -> bytes | None:
    """For pictures people only look at (page preview, field image): ~10× cheaper than PNG on
    scanner noise, a third of the bytes."""
    return _encode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _encode(ext: str, image: npt.NDArray[np.uint8] | None, params: list[int]) -> bytes | None:
    if image is None or image.size == 0:
        return None
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(image, dtype=np.uint8), params)
    return buf.tobytes() if ok else None


def _preview(page: Page) -> tuple[bytes | None, float]:
    img, scale = fit(page.image, PREVIEW_SIDE)
    return jpeg(img), scale


def _box(box: Sequence[Any]) -> list[int]:
    return [int(v) for v in box]


def reading_rows(pages: Sequence[Page], results: Sequence[PageResult]) -> list[PageRows]:
    """The rows of a read document, its pictures encoded (previews and field images as JPEG,
    digit crops as PNG)."""
    out = []
    for page, res in zip(pages, results, strict=True):
        preview, scale = _preview(page)
        columns = {
            "number": res.number,
            "template": res.template,
            "registration_quality": res.registration_quality,
            "width": res.width,
            "height": res.height,
            "preview_jpeg": preview,
            "preview_scale": scale,
            "timings_ms": res.timings_ms,
        }
        fields = [
            FieldRows(
                {
                    "name": f.name,
                    "value": f.value,
                    "confidence": float(f.confidence),
                    "needs_review": bool(f.needs_review),
                    "reasons": list(f.reasons),
                    "box": _box(f.box),
                    "image_jpeg": jpeg(f.image, quality=90),
                },
                [
                    {
                        "value": None if d.value is None else int(d.value),
                        "confidence": float(d.confidence),
                        "alternatives": [[int(a), float(p)] for a, p in d.alternatives],
                        "box": _box(d.box),
                        "crop_png": png(d.crop),
                        "needs_review": bool(d.needs_review),
                    }
                    for d in f.digits
                ],
            )
            for f in res.fields
        ]
        out.append(PageRows(columns, fields))
    return out


def process_document(
    document_id: int,
    *,
    classifier: DigitClassifier | None = None,
    settings: Settings | None = None,
    max_attempts: int | None = None,
) -> Outcome:
    """Read a stored document and record its results or its failure, exactly once.

    Three short units of work (``session_scope``, the one place that commits): claim the
    document; fetch its bytes and templates; after reading, with no transaction open, finish it
    and store its rows together. Bad input and other non-retryable errors end the document
    ``failed`` with the message; ``TransientError`` propagates so the caller can retry; an
    unexpected exception fails the document (a bug must not kill a worker).
    """
    settings = settings or get_settings()
    attempts = max_attempts or settings.task_max_retries + 1
    with session_scope() as session:
        if not queries.claim(session, document_id, worker_name(), attempts):
            return _skipped(session, document_id)
    try:
        with session_scope() as session:
            doc = queries.get_document(session, document_id)
            source, batch_id = doc.source, doc.batch_id
            data = get_storage(settings.storage_url, doc.storage).get(session, doc.sha256)
            templates = templates_for_batch(session, doc.batch, settings)
        t = perf_counter()
        pages, results = _read(
            data, source, templates, classifier or default_classifier(settings), settings
        )
        total = round((perf_counter() - t) * 1000, 2)
    except TransientError:
        raise
    except DigitizeError as exc:
        if exc.retryable:
            raise
        return _fail(document_id, exc.message)
    except MemoryError:
        return _fail(document_id, "the file needs more memory than this worker has")
    except Exception as exc:  # a reader bug: record it, keep the worker alive
        log.exception("reading document %s failed", document_id)
        return _fail(document_id, f"internal error while reading: {exc!r}")

    timings: dict[str, float] = {"total": total}
    for r in results:
        for k, v in r.timings_ms.items():
            timings[k] = round(timings.get(k, 0.0) + v, 2)
    rows = reading_rows(pages, results)
    with session_scope() as session:
        done = queries.finish(
            session, document_id, DONE, page_count=len(results), timings_ms=timings
        )
        if not done:  # somebody else finished it first: their rows stand
            return _skipped(session, document_id)
        store_reading(session, document_id, batch_id, rows)
    nfields = sum(len(r.fields) for r in results)
    nreview = sum(f.needs_review for r in results for f in r.fields)
    return Outcome(document_id, DONE, None, len(results), nfields, nreview, timings_ms=timings)


def _skipped(session: Session, document_id: int) -> Outcome:
    doc = queries.get_document(session, document_id)
    return Outcome(document_id, doc.status, doc.error, doc.page_count or 0, skipped=True)


def _fail(document_id: int, message: str) -> Outcome:
    with session_scope() as session:
        if not queries.finish(session, document_id, FAILED, error=message, page_count=0):
            return _skipped(session, document_id)
    return Outcome(document_id, FAILED, message)
