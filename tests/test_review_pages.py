"""The clerk's and supervisor's pages over HTTP: plain-language reasons, entries sized to the
field, comb cells, digits shown in their field, team figures, the audit trail, failed documents
and Swagger UI served from the package."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select, update

import segmentation.free_filters
import segmentation.reader
import segmentation.review_flags as flags
import segmentation.way_up
from db.models import Document, Field, ReviewEvent
from db.session import session_scope
from review import reasons
from review.app import create_app
from review.images import digit_rect_in_image
from review.queue import entry_shape
from review.specs import FieldInfo
from review.users import add_user
from tests.fixtures_review import (
    PASSWORD,
    review_settings,
    seed_field,
    seed_review,
    write_comb_template,
)
from tests.test_review_app import csrf_of, sign_in


@pytest.fixture
def client(review_db: str) -> Iterator[TestClient]:
    with TestClient(create_app(review_settings(review_db))) as c:
        yield c


def emitted_codes() -> set[str]:
    """Every reason code the pipeline can store: the flag constants and the reader's."""
    codes = {
        v
        for module in (flags, segmentation.free_filters)
        for k, v in vars(module).items()
        if k.isupper() and isinstance(v, str) and re.fullmatch(r"[a-z_]+", v)
    }
    codes.add(segmentation.reader.INK_OUTSIDE_BOX)
    codes.add(segmentation.reader.TOUCHES_PRINTED_LINES)
    codes.add(segmentation.way_up.WAY_UP_IN_DOUBT)
    return codes


def test_every_reason_code_has_a_sentence() -> None:
    codes = emitted_codes()
    assert {"low_confidence_field", "poor_registration", "ink_outside_box"} <= codes
    for code in codes:
        assert code in reasons.REASONS and code in reasons.SHORT, code
        assert "_" not in reasons.explain(code) and reasons.explain(code).endswith(".")
    assert reasons.explain("brand_new_code") == "Brand new code."
    documented = Path(__file__).resolve().parents[1] / "docs" / "reasons.md"
    table = set(re.findall(r"^\| `([a-z_]+)` \|", documented.read_text(), re.M))
    assert table == codes  # the user's list of reasons is whole, and lists nothing else


def test_digit_confidences_explain_the_field() -> None:
    story = reasons.confidence_story(
        0.239, [1.0, 1.0, 0.999], field_threshold=0.92, digit_threshold=0.9, expected_digits=4
    )
    assert story is not None
    assert "Each digit looks sure, but the number of digits or where they split" in story
    assert "should hold 4 digits; 3 were read" in story
    weak = reasons.confidence_story(0.5, [0.99, 0.4], field_threshold=0.92, digit_threshold=0.9)
    assert weak == "Digit 2 of 2 is unsure; the rest look sure."
    assert reasons.confidence_story(0.99, [0.99], field_threshold=0.92, digit_threshold=0.9) is None
    # Runner-ups in words, only from 5 % on, never the reading itself.
    assert reasons.runner_ups(3, [[3, 0.8], [8, 0.12], [5, 0.04]]) == ["could also be 8 (12 %)"]
    assert reasons.runner_ups(3, [[3, 1.0], [8, 0.0]]) == []


def test_entry_is_sized_to_the_field() -> None:
    assert entry_shape("12345678901", None, 11).chars >= 12  # 11 digits never scroll
    assert entry_shape("12", FieldInfo("box", max_digits=9), 2).chars == 10
    comb = entry_shape("123", FieldInfo("comb", cells=6), 3)
    assert comb.cells == ["1", "2", "3", "", "", ""] and comb.expected == 6


def test_field_page_speaks_plainly(client: TestClient, review_db: str) -> None:
    sf = seed_field(
        review_db,
        "12345678901",
        confidences=[1.0] * 11,
        field_confidence=0.239,
        reasons=["low_confidence_field", "ink_outside_box"],
    )
    sign_in(client)
    html = client.get(f"/review/fields/{sf.id}").text
    shown = re.sub(r"<[^>]+>", " ", html)  # what a person reads: no codes
    assert "low_confidence_field" not in shown and "ink_outside_box" not in shown
    assert reasons.REASONS["low_confidence_field"] in html
    assert reasons.REASONS["ink_outside_box"] in html
    assert "Each digit looks sure, but the number of digits or where they split" in html
    size = int(re.search(r'id="value"[^>]*size="(\d+)"', html, re.S).group(1))  # type: ignore[union-attr]
    assert size >= 12
    assert "3:0%" not in html and "could also be" not in html  # 0 % runner-ups are noise
    queue = client.get("/").text
    assert 'title="The machine is unsure of the value as a whole."' in queue
    assert ">value unsure</span>" in queue


def test_comb_field_gets_one_box_per_cell_and_saves_as_one_value(
    client: TestClient, review_db: str, tmp_path: Path
) -> None:
    tpl = write_comb_template(tmp_path / "templates", cells=12)
    sf = seed_field(
        review_db, "123456789012", template="passport", name="account", templates=[str(tpl)]
    )
    token = sign_in(client)
    html = client.get(f"/review/fields/{sf.id}").text
    cells = re.findall(r'<input class="cell mono" name="cell" value="(\d?)"', html)
    assert cells == list("123456789012")
    assert 'id="value"' not in html and "the form expects 12 digits" in html
    version = re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]
    typed = list("987654321098")
    r = client.post(
        f"/review/fields/{sf.id}",
        data={"csrf_token": token, "version": version, "action": "accept", "cell": typed},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with session_scope(review_db) as db:
        row = db.get(Field, sf.id)
        assert row is not None
        assert row.reviewed_value == "987654321098" and row.review_status == "corrected"


def test_digit_in_field_image(client: TestClient, review_db: str) -> None:
    sf = seed_field(review_db, "4071", confidences=[0.99, 0.5, 0.99, 0.99])
    sign_in(client)
    r = client.get(f"/images/digits/{sf.digit_ids[1]}/in-field.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")).astype(int)
    with session_scope(review_db) as db:
        f = db.get(Field, sf.id)
        assert f is not None
        stored = Image.open(io.BytesIO(f.image_jpeg or b""))
        field_box = list(f.box)
        digit_box = next(d.box for d in f.digits if d.id == sf.digit_ids[1])
    x0, y0, x1, y1 = digit_rect_in_image(digit_box, field_box, stored.size)
    k = img.shape[0] / stored.height  # drawn at least 96 px tall
    inside = img[round(y0 * k) + 6 : round(y1 * k) - 6, round(x0 * k) + 6 : round(x1 * k) - 6]
    left = img[:, : max(1, round(x0 * k) - 6)]
    assert inside.min() < 120  # ink of the digit at full strength
    assert left.min() > 120  # the other digits dimmed
    blue = (img[..., 2] > 200) & (img[..., 0] < 80)
    assert blue.sum() > 50  # the outline
    group = client.get("/group/1")  # the grid uses the in-field pictures
    assert "/in-field.png" in group.text or "No doubtful" in group.text


def test_digit_rect_maps_page_pixels_to_the_image() -> None:
    # Field (100, 50) 300×60 page px stored at 150×30: digit (160, 50, 60, 60) → (30, 0)-(60, 30).
    assert digit_rect_in_image([160, 50, 60, 60], [100, 50, 300, 60], (150, 30)) == (
        30.0,
        0.0,
        60.0,
        30.0,
    )
    # The picture grown by margins (ink outside the box): shifted by the margin, same scale.
    x0, _, x1, _ = digit_rect_in_image([160, 50, 60, 60], [100, 50, 300, 60], (170, 40), (20, 20))
    assert (x0, x1) == (40.0, 70.0)


def test_supervisor_pages(client: TestClient, review_db: str) -> None:
    seeded = seed_review(review_db, n_fields=6, per_page=3)
    token = sign_in(client)
    for sf in list(seeded.fields.values())[:3]:
        html = client.get(f"/review/fields/{sf.id}").text
        client.post(
            f"/review/fields/{sf.id}",
            data={
                "csrf_token": token,
                "version": csrf_version(html),
                "action": "accept",
                "value": sf.truth,
            },
        )
    with session_scope(review_db) as db:
        db.execute(
            update(Document)
            .where(Document.source == "scan 002.png")
            .values(status="failed", error="BadInputError: the PDF is encrypted")
        )
        counts = dict(
            db.execute(
                select(ReviewEvent.action, func.count())
                .where(ReviewEvent.username == "alice", ReviewEvent.digit_id.is_(None))
                .group_by(ReviewEvent.action)
            ).all()
        )
    assert client.get("/supervisor").status_code == 403  # a reviewer is no supervisor
    add_user(review_db, "root", PASSWORD, admin=True)
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    sign_in(client, "root")
    html = client.get("/supervisor").text
    row = html.split('data-reviewer="alice"')[1].split("</tr>")[0]
    cols = dict(re.findall(r'data-col="(\w+)">([\d.–]+)<', row))
    assert int(cols["fields"]) == 3
    assert int(cols["confirmed"]) == counts.get("confirm", 0)
    assert int(cols["corrected"]) == counts.get("correct", 0)
    assert cols["hours"] == "1" and float(cols["per_hour"]) == 3.0
    assert "Most corrected fields" in html and "invoice" in html
    week = client.get("/supervisor?window=week")
    assert week.status_code == 200 and "last week" in week.text
    assert client.get("/supervisor?window=year").status_code == 422

    audit = client.get("/supervisor/audit").text
    assert audit.count("<tr>") - 1 == 3 and "3 events" in audit
    assert "scan 001.png" in audit
    nobody = client.get("/supervisor/audit?reviewer=bob").text
    assert "No review events by bob" in nobody

    failed = client.get("/supervisor/failed").text
    assert "BadInputError: the PDF is encrypted" in failed and "scan 002.png" in failed
    dash = client.get("/dashboard").text
    assert "/supervisor/failed?batch=" in dash
    assert 'aria-label="confidence histogram (log count scale)"' in dash
    assert "review threshold 92 %" in dash


def csrf_version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)  # type: ignore[union-attr]


def test_api_docs_come_from_the_package(client: TestClient) -> None:
    assert client.get("/api/docs").status_code == 401
    assert client.get("/api/docs/assets/swagger-ui.css").status_code == 401
    sign_in(client)
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.text
    assert "cdn." not in html and "https://" not in html
    assert "<script>" not in html  # nothing inline: the CSP applies to the docs too
    assert "script-src 'self'" in r.headers["content-security-policy"]
    for src in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        asset = client.get(src)
        assert asset.status_code == 200, src
    assert "SwaggerUIBundle" in client.get("/api/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/api/docs/assets/..%2Fapp.py").status_code in (401, 404)
    assert client.get("/api/docs/assets/index.html").status_code == 404


def test_csrf_still_guards_the_new_pages(client: TestClient, review_db: str) -> None:
    sign_in(client)
    assert csrf_of(client.get("/supervisor").text)
