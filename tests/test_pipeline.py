"""The pipeline driver with the real reader and recognizer, writing to real databases."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from db import queries
from db.models import DONE, FAILED, Batch, Digit, Field, Page
from db.session import session_scope
from db.storage import get_storage
from digitize.settings import get_settings
from segmentation.templates import load_templates
from worker import pipeline
from worker.pipeline import default_classifier, process_document, read_document


@pytest.fixture(scope="module")
def recognizer() -> Any:
    return default_classifier(get_settings())


def _add(files: dict[str, bytes], templates: list[Path] | None = None) -> list[int]:
    with session_scope() as s:
        batch = queries.create_batch(s, "process", templates or [])
        storage = get_storage()
        return [queries.add_document(s, batch, n, b, storage).document.id for n, b in files.items()]


@pytest.mark.slow
def test_read_document_finds_the_form_and_its_fields(
    form_scans: dict[str, Any], recognizer: Any
) -> None:
    templates = load_templates([form_scans["templates"]])
    scans: Path = form_scans["scans"]
    truth: dict[str, dict[str, str]] = form_scans["truth"]
    data = (scans / "survey 1.png").read_bytes()
    pages = read_document(data, "survey 1.png", templates, recognizer, get_settings())
    assert len(pages) == 1
    page = pages[0]
    assert page.template == "survey"
    assert page.registration_quality is not None and page.registration_quality > 0.5
    assert {f.name for f in page.fields} == set(truth["survey 1.png"])
    for f in page.fields:
        x, y, w, h = f.box
        assert min(x, y) >= 0 and x + w <= page.width and y + h <= page.height
        assert all(ch.isdigit() for ch in f.value)
        assert 0.0 <= f.confidence <= 1.0
    for stage in ("load", "register", "segment", "classify", "assemble", "validate"):
        assert stage in page.timings_ms


def test_poorly_registered_pages_are_flagged(
    form_scans: dict[str, Any], recognizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = load_templates([form_scans["templates"]])
    data = (form_scans["scans"] / "claim 0.png").read_bytes()
    monkeypatch.setattr(pipeline, "POOR_REGISTRATION", 1.01)  # no registration is this good
    (page,) = read_document(data, "claim 0.png", templates, recognizer, get_settings())
    assert page.fields
    assert all(f.needs_review and "poor_registration" in f.reasons for f in page.fields)


def test_a_blank_form_passes_blank_and_required_fields_go_to_review(
    form_templates: list[Path], recognizer: Any
) -> None:
    """A field with no ink at all is a field left blank: nobody needs to look, unless the
    template requires digits there (``min_digits``); a mark read as stray still goes to review."""
    template = next(
        t for t in load_templates(form_templates) if all(f.min_digits is None for f in t.fields)
    )
    blank = template.reference.copy()
    data = io.BytesIO()
    Image.fromarray(blank).save(data, format="PNG")
    (page,) = read_document(data.getvalue(), "blank.png", [template], recognizer, get_settings())
    assert page.template == template.name and page.fields
    assert all(f.value == "" and f.blank and "empty" not in f.reasons for f in page.fields)
    template.fields[0].min_digits = 1
    (page,) = read_document(data.getvalue(), "blank.png", [template], recognizer, get_settings())
    assert page.fields[0].reasons == ["empty"] and page.fields[0].needs_review
    x, y, w, h = (int(v) for v in template.fields[1].box)
    blank[y + h // 2 : y + h // 2 + 6, x + w // 3 : x + w // 3 + 40] = 0  # a dash
    data = io.BytesIO()
    Image.fromarray(blank).save(data, format="PNG")
    (page,) = read_document(data.getvalue(), "mark.png", [template], recognizer, get_settings())
    second = page.fields[1]
    assert not second.blank and (second.value or "empty" in second.reasons)


def test_template_free_page(form_scans: dict[str, Any], recognizer: Any) -> None:
    data = (form_scans["scans"] / "free page.png").read_bytes()
    (page,) = read_document(data, "free page.png", [], recognizer, get_settings())
    assert page.template is None and page.registration_quality is None
    assert page.fields  # generated names for the handwritten strings it found
    assert len({f.name for f in page.fields}) == len(page.fields)


def _counts() -> tuple[int, int, int]:
    with session_scope() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Page)) or 0),
            int(s.scalar(select(func.count()).select_from(Field)) or 0),
            int(s.scalar(select(func.count()).select_from(Digit)) or 0),
        )


def test_process_document_writes_once_and_redelivery_is_a_no_op(
    db_url: str, form_scans: dict[str, Any], recognizer: Any
) -> None:
    scans: Path = form_scans["scans"]
    tpl = sorted(form_scans["templates"].glob("*.json"))
    (doc_id,) = _add({"claim 0.png": (scans / "claim 0.png").read_bytes()}, tpl)
    out = process_document(doc_id, classifier=recognizer)
    assert out.status == DONE and out.pages == 1 and out.fields > 0 and not out.skipped
    first = _counts()
    assert first[0] == 1 and first[1] == out.fields and first[2] > 0
    again = process_document(doc_id, classifier=recognizer)
    assert again.skipped and again.status == DONE
    assert _counts() == first
    with session_scope() as s:
        doc = queries.get_document(s, doc_id)
        assert doc.attempts == 1 and doc.page_count == 1 and doc.finished_at is not None
        fields = list(s.scalars(select(Field).where(Field.document_id == doc_id)))
        assert all(f.batch_id == doc.batch_id and f.template == "claim" for f in fields)
        crop = s.scalars(select(Digit.crop_png)).first()
        assert crop is not None and Image.open(io.BytesIO(crop)).size[0] > 0
        for f in fields:  # each digit row belongs to its own field, in order
            assert f.version == 1 and f.page_id is not None
            read = "".join("" if d.value is None else str(d.value) for d in f.digits)
            assert [d.position for d in f.digits] == list(range(len(f.digits)))
            assert read == f.value or f.needs_review
        preview = s.scalar(select(Page.preview_jpeg))
        assert preview is not None and max(Image.open(io.BytesIO(preview)).size) <= 1000
        assert Image.open(io.BytesIO(preview)).format == "JPEG"


def test_forced_reprocessing_replaces_rows(
    db_url: str, form_scans: dict[str, Any], recognizer: Any
) -> None:
    (doc_id,) = _add({"free.png": (form_scans["scans"] / "free page.png").read_bytes()})
    process_document(doc_id, classifier=recognizer)
    first = _counts()
    with session_scope() as s:
        queries.requeue(s, [doc_id])
    assert process_document(doc_id, classifier=recognizer).status == DONE
    assert _counts() == first


def test_bad_input_fails_with_a_message_and_multi_page_files_keep_every_page(
    db_url: str, recognizer: Any
) -> None:
    pages = [Image.fromarray(np.full((300, 200), 255, np.uint8)) for _ in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    bad, tiff = _add({"notes.jpg": b"meeting notes\n" * 50, "three.tiff": buf.getvalue()})
    out_bad = process_document(bad, classifier=recognizer)
    out_tiff = process_document(tiff, classifier=recognizer)
    assert out_bad.status == FAILED and "not a scan" in (out_bad.error or "")
    assert out_tiff.status == DONE and out_tiff.pages == 3
    with session_scope() as s:
        doc = queries.get_document(s, bad)
        assert doc.status == FAILED and doc.attempts == 1  # bad input is never retried
        numbers = s.scalars(select(Page.number).where(Page.document_id == tiff)).all()
        assert sorted(numbers) == [1, 2, 3]


def test_unexpected_reader_errors_fail_the_document_not_the_worker(
    sqlite_url: str, recognizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "read_page", broken)
    (doc_id,) = _add({"p.png": _png(np.full((100, 100), 255, np.uint8))})
    out = process_document(doc_id, classifier=recognizer)
    assert out.status == FAILED and "ZeroDivisionError" in (out.error or "")
    with session_scope() as s:
        assert s.get_one(Batch, 1).documents[0].status == FAILED


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def test_templates_travel_with_the_batch(
    db_url: str, tmp_path: Path, form_scans: dict[str, Any], recognizer: Any
) -> None:
    """A worker elsewhere has no copy of the submitter's template folder: it needs none."""
    import shutil

    from worker.ingest import pack_templates

    local = tmp_path / "my templates"
    shutil.copytree(form_scans["templates"], local)
    data = (form_scans["scans"] / "order 2.png").read_bytes()
    with session_scope() as s:
        storage = get_storage()
        batch = queries.create_batch(s, "submit", pack_templates(s, storage, [local]))
        doc_id = queries.add_document(s, batch, "order 2.png", data, storage).document.id
    shutil.rmtree(local)  # gone from the submitting machine
    out = process_document(doc_id, classifier=recognizer)
    assert out.status == DONE, out.error
    with session_scope() as s:
        assert s.scalar(select(Page.template).where(Page.document_id == doc_id)) == "order"


def test_a_stamp_the_blank_form_lacks_is_no_misregistration(recognizer: Any) -> None:
    """A rubber stamp over a form lowers its fit's quality (the page has ink the template's
    print does not explain) though the fields sit where they should: a fit of 0.88 is no reason
    to send every field to review; one of 0.83 still is."""
    from bench.corpus import pages, writers
    from digitize.types import Page as ScanPage
    from model.training.data import load_sample
    from model.training.synthetic import DigitSource
    from worker.pipeline import read_page

    images, labels = load_sample()
    writer = writers.source_writer(DigitSource(images, labels), "sample")
    qualities = {}
    for seed in (12, 15):  # logo_stamp pages whose stamps fall over the form's print
        page = pages.make_page("logo_stamp", seed, writer)
        result = read_page(
            ScanPage(1, page.image),
            load_templates([page.template_path]),
            recognizer,
            get_settings(),
        )
        assert result.template is not None and result.registration_quality is not None
        qualities[seed] = result.registration_quality
        poor = ["poor_registration" in f.reasons for f in result.fields]
        assert all(poor) if qualities[seed] < pipeline.POOR_REGISTRATION else not any(poor)
    assert 0.85 <= qualities[12] < 0.9 and qualities[15] < 0.85
