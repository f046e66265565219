"""The template editor's routes (review/template_editor.py): administrators only, drafts from an
uploaded blank form, problems by field, and saving only what loads."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from digitize.settings import Settings
from model.training.synthetic import font_digit_source
from review.app import create_app
from review.users import add_user
from segmentation.templates import load_template
from tests.fixtures_review import PASSWORD, review_settings
from tests.test_review_app import csrf_of, sign_in

#: The printed boxes of ``blank_form`` (x, y, w, h): where a person writes.
AMOUNT_BOX = (300, 270, 500, 110)
ACCOUNT_BOX = (300, 470, 800, 100)  # a comb of 8 cells
AGE_BOX = (300, 670, 260, 110)


def blank_form(width: int = 1240, height: int = 1754) -> np.ndarray:
    """A blank claim form at 150 dpi: a title, captioned boxes, a comb and varied printed notes
    (registration needs print that does not repeat)."""
    img = np.full((height, width), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(img, (60, 60), (width - 60, height - 60), 0, 3)
    cv2.putText(img, "EXPENSE CLAIM", (80, 130), font, 2.2, 0, 5)
    cv2.line(img, (80, 170), (width - 80, 170), 0, 4)
    for caption, (x, y, w, h) in zip(
        ("Amount", "Account", "Age"), (AMOUNT_BOX, ACCOUNT_BOX, AGE_BOX), strict=True
    ):
        cv2.putText(img, caption, (80, y + h // 2 + 12), font, 1.2, 0, 3)
        cv2.rectangle(img, (x, y), (x + w, y + h), 0, 3)
    x, y, w, h = ACCOUNT_BOX
    for i in range(1, 8):
        cv2.line(img, (x + i * w // 8, y + h - 30), (x + i * w // 8, y + h), 0, 3)
    notes = [
        "Write one digit per cell, in black ink.",
        "Claims over 5000 need a receipt.",
        "Office use only below this line.",
        "Checked by:",
        "Date received:",
        "Ref. 2024/A",
    ]
    for k, note in enumerate(notes):
        cv2.putText(img, note, (80 + 37 * k, 950 + 90 * k), font, 0.9 + 0.1 * (k % 3), 0, 2)
    return img


def write_digits(form: np.ndarray, box: tuple[int, int, int, int], text: str) -> np.ndarray:
    """``form`` with ``text`` handwritten (script-font digits) inside ``box``."""
    source = font_digit_source(0)
    rng = np.random.default_rng(0)
    x, y, _, h = box
    out = form.astype(np.float32)
    cursor, height = x + 30, int(h * 0.6)
    for ch in text:
        ink = source.pick(int(ch), rng)
        ys, xs = np.nonzero(ink > 0.1)
        ink = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        width = max(2, round(ink.shape[1] * height / ink.shape[0]))
        ink = cv2.resize(ink, (width, height), interpolation=cv2.INTER_CUBIC)
        top = y + (h - height) // 2
        out[top : top + height, cursor : cursor + width] *= 1 - 0.9 * np.clip(ink, 0, 1)
        cursor += width + 18
    return np.clip(out, 0, 255).astype(np.uint8)


def encode(img: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format=fmt)
    return buf.getvalue()


def editor_settings(url: str, folder: Path) -> Settings:
    settings = review_settings(url)
    settings.template_dir = folder
    return settings


@pytest.fixture
def admin(review_db: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """A client signed in as the administrator ``root`` and its CSRF token."""
    add_user(review_db, "root", PASSWORD, admin=True)
    with TestClient(create_app(editor_settings(review_db, tmp_path / "templates"))) as c:
        yield c, sign_in(c, "root")


def draft(client: TestClient, token: str, name: str = "claim", fmt: str = "PNG") -> str:
    """Upload the blank form; the draft's id."""
    r = client.post(
        "/templates/drafts",
        data={"csrf_token": token, "name": name},
        files={"picture": (f"blank.{fmt.lower()}", encode(blank_form(), fmt), "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/templates/drafts/")
    return location.rsplit("/", 1)[1]


def post(client: TestClient, token: str, what: str, source: dict[str, str], data: Any) -> Any:
    return client.post(
        f"/templates/{what}",
        json={"source": source, "template": data},
        headers={"X-CSRF-Token": token},
    )


def template(name: str = "claim", **amount: Any) -> dict[str, Any]:
    return {
        "name": name,
        "reference": f"{name}.png",
        "size": [1240, 1754],
        "fields": [
            {"name": "amount", "box": [303, 273, 494, 104], "kind": "box", **amount},
            {"name": "account", "box": list(ACCOUNT_BOX), "kind": "comb", "cells": 8},
        ],
    }


@pytest.mark.slow
def test_clerks_are_refused(review_db: str, tmp_path: Path) -> None:
    with TestClient(create_app(editor_settings(review_db, tmp_path / "t"))) as c:
        token = sign_in(c, "alice")
        assert '/templates"' not in c.get("/").text  # no link in the navigation either
        assert c.get("/templates").status_code == 403
        assert c.get("/templates/edit/claim").status_code == 403
        r = post(c, token, "validate", {"kind": "template", "key": "claim"}, template())
        assert r.status_code == 403
        r = post(c, token, "save", {"kind": "template", "key": "claim"}, template())
        assert r.status_code == 403
        r = c.post(
            "/templates/drafts",
            data={"csrf_token": token},
            files={"picture": ("blank.png", encode(blank_form()), "image/png")},
        )
        assert r.status_code == 403
    assert not (tmp_path / "t").exists()


@pytest.mark.slow
def test_draft_upload_opens_the_editor(admin: tuple[TestClient, str]) -> None:
    client, token = admin
    assert '/templates"' in client.get("/").text  # administrators see the link
    draft_id = draft(client, token)
    page = client.get(f"/templates/drafts/{draft_id}")
    assert page.status_code == 200
    m = page.text.split('id="template-data">', 1)[1].split("</script>", 1)[0]
    state = json.loads(m)
    assert state["source"] == {"kind": "draft", "key": draft_id}
    assert state["template"]["name"] == "claim" and state["template"]["size"] == [1240, 1754]
    picture = client.get(state["picture"])
    assert picture.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(picture.content)).size == (1240, 1754)
    listing = client.get("/templates").text
    assert f"/templates/drafts/{draft_id}" in listing
    # A file that is no picture gives a message, not a draft.
    r = client.post(
        "/templates/drafts",
        data={"csrf_token": token},
        files={"picture": ("notes.txt", b"just some text\n", "text/plain")},
    )
    assert r.status_code == 200 and "No draft" in r.text and "text file" in r.text
    # Drafts can be thrown away.
    r = client.post(
        f"/templates/drafts/{draft_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"/templates/drafts/{draft_id}").status_code == 404


@pytest.mark.slow
def test_a_pdf_or_jpeg_form_makes_a_draft_too(admin: tuple[TestClient, str]) -> None:
    client, token = admin
    for fmt in ("PDF", "JPEG"):
        draft_id = draft(client, token, name=f"form-{fmt}", fmt=fmt)
        state = client.get(f"/templates/drafts/{draft_id}").text
        assert f"form-{fmt}" in state


def test_validate_names_the_field_and_key(admin: tuple[TestClient, str]) -> None:
    client, token = admin
    source = {"kind": "draft", "key": draft(client, token)}
    assert post(client, token, "validate", source, template()).json() == {"problems": []}
    bad = template("claim/../x", range=[5000, 0])
    bad["fields"][1]["kind"] = "box"  # cells on a box
    bad["fields"].append({"name": "age", "box": list(AGE_BOX), "kind": "box", "max_digit": 3})
    problems = post(client, token, "validate", source, bad).json()["problems"]
    by_field: dict[Any, list[dict[str, Any]]] = {}
    for p in problems:
        by_field.setdefault(p["field"], []).append(p)
    assert any("range" in p["message"] for p in by_field["amount"])
    assert any("cells" in p["message"] for p in by_field["account"])
    assert [p["key"] for p in by_field["age"]] == ["max_digit"]
    assert "max_digits" in by_field["age"][0]["message"]  # did you mean
    assert [p["key"] for p in by_field[None]] == ["name"]  # not usable as a file name
    # Once the fields are right, the layout: a box past the page's edge.
    off = template()
    off["fields"][1]["box"] = [1000, 470, 800, 100]
    problems = post(client, token, "validate", source, off).json()["problems"]
    assert [(p["field"], p["key"]) for p in problems] == [("account", "box")]


@pytest.mark.slow
def test_save_refuses_invalid_and_writes_what_loads(
    admin: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, token = admin
    folder = tmp_path / "templates"
    source = {"kind": "draft", "key": draft(client, token)}
    r = post(client, token, "save", source, template(min_digits=5, max_digits=2))
    assert r.status_code == 422
    assert r.json()["saved"] is False and r.json()["problems"][0]["field"] == "amount"
    assert not list(folder.glob("*.json"))  # nothing written
    # Size and reference come from the picture, whatever the page sent.
    data = {**template(range=[0, 5000]), "size": [1, 1], "reference": "x.tif", "description": ""}
    r = post(client, token, "save", source, data)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["saved"] and out["edit_url"] == "/templates/edit/claim"
    path = folder / "claim.json"
    assert out["path"] == str(path)
    saved = json.loads(path.read_text())
    assert saved["reference"] == "claim.png" and saved["size"] == [1240, 1754]
    assert "description" not in saved  # empty values are not written
    t = load_template(path)
    assert t.name == "claim" and t.size == (1240, 1754)
    amount = t.fields[0]
    assert (amount.name, amount.kind, amount.box) == ("amount", "box", (303, 273, 494, 104))
    assert amount.range == (0.0, 5000.0)
    assert np.mean(np.abs(t.reference.astype(int) - blank_form())) < 1  # the form as uploaded
    # The draft became the template: gone from the drafts, listed, editable and saved again.
    assert client.get(f"/templates/drafts/{source['key']}").status_code == 404
    assert '/templates/edit/claim"' in client.get("/templates").text
    assert client.get("/templates/edit/claim").status_code == 200
    assert (
        client.get("/templates/edit/claim/picture").content == (folder / "claim.png").read_bytes()
    )
    again = post(
        client, token, "save", {"kind": "template", "key": "claim"}, template(max_digits=6)
    )
    assert again.status_code == 200
    assert load_template(path).fields[0].max_digits == 6
    # Another draft may not take the name.
    other = {"kind": "draft", "key": draft(client, token, name="other")}
    r = post(client, token, "save", other, template())
    assert r.status_code == 422 and "another template" in r.json()["problems"][0]["message"]


@pytest.mark.slow
def test_templates_in_the_settings_are_listed_and_saved_as_copies(
    review_db: str, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "shipped"
    elsewhere.mkdir()
    cv2.imwrite(str(elsewhere / "form.png"), blank_form())
    (elsewhere / "claim.json").write_text(json.dumps({**template(), "reference": "form.png"}))
    (elsewhere / "broken.json").write_text("{not json")
    add_user(review_db, "root", PASSWORD, admin=True)
    settings = editor_settings(review_db, tmp_path / "mine")
    settings.templates = [elsewhere]
    with TestClient(create_app(settings)) as c:
        token = sign_in(c, "root")
        listing = c.get("/templates").text
        assert "saved as a copy" in listing and "unreadable" in listing
        page = c.get("/templates/edit/claim")
        assert csrf_of(page.text) == token
        r = post(c, token, "save", {"kind": "template", "key": "claim"}, template())
        assert r.status_code == 200, r.text
    assert load_template(tmp_path / "mine" / "claim.json").name == "claim"
    assert (elsewhere / "claim.json").read_text() == json.dumps(
        {**template(), "reference": "form.png"}
    )
