"""Fixtures for the review tests: seeded review data, a live server and headless Chromium.

Review data is inserted through ``db.models`` with generated scans: digit crops drawn from the
script-font digit source, field images made of those crops, and a page preview with every field
pasted where its box says. The truth of each field is returned so tests can act as a person would.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import uvicorn
from PIL import Image

from db.models import Batch, Digit, Document, Field, Page, utcnow
from db.session import dispose_engines, init_db, session_scope
from digitize.settings import Settings
from model.training.synthetic import font_digit_source
from review.users import add_user
from tests.fixtures_db import free_port
from worker.pipeline import jpeg

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
API_TOKEN = "service-token-for-tests-0123456789"
PAGE_W, PAGE_H, PREVIEW_SCALE = 1700, 2200, 0.4
CROP = 48


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def digit_crop(digit: int, rng: np.random.Generator, source: Any) -> np.ndarray:
    """A digit as scanned: dark ink on slightly uneven light paper, CROP×CROP pixels."""
    ink = cv2.resize(source.pick(digit, rng), (CROP, CROP), interpolation=cv2.INTER_CUBIC)
    paper = rng.uniform(225, 245)
    img = paper - np.clip(ink, 0, 1) * rng.uniform(150, 200) + rng.normal(0, 4, ink.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass
class SeededField:
    id: int
    truth: str  # what a person reads
    predicted: str  # what the machine said
    digit_ids: list[int] = field(default_factory=list)
    digit_truth: list[int] = field(default_factory=list)


@dataclass
class Seeded:
    batch_id: int
    fields: dict[int, SeededField]

    def doubtful(self) -> list[SeededField]:
        return list(self.fields.values())


def _done_document(db: Any, batch: Batch, source: str, sha256: str) -> Document:
    """A one-page document of ``batch`` read and finished just now."""
    now = utcnow()
    doc = Document(
        batch_id=batch.id,
        source=source,
        sha256=sha256,
        size=1000,
        status="done",
        attempts=1,
        page_count=1,
        created_at=now,
        updated_at=now,
        started_at=now,
        finished_at=now,
    )
    db.add(doc)
    db.flush()
    return doc


def seed_review(
    url: str,
    *,
    n_fields: int = 24,
    per_page: int = 4,
    seed: int = 0,
    group_digit: int | None = None,
    group_wrong: int = 0,
) -> Seeded:
    """Insert a batch of pages whose fields all need review, most with one misread digit.

    With ``group_digit``, every field gets doubtful digits predicted as ``group_digit``, of which
    ``group_wrong`` crops really show another digit (for group verification).
    """
    rng = np.random.default_rng(seed)
    source = font_digit_source(seed)
    out: dict[int, SeededField] = {}
    wrong_left = group_wrong
    with session_scope(url) as db:
        batch = Batch(name="review-fixture", origin="process", templates=[], created_at=utcnow())
        db.add(batch)
        db.flush()
        n_pages = (n_fields + per_page - 1) // per_page
        made = 0
        for p in range(n_pages):
            doc = _done_document(db, batch, f"scan {p + 1:03d}.png", f"{seed:08x}{p:056x}")
            preview = np.full(
                (int(PAGE_H * PREVIEW_SCALE), int(PAGE_W * PREVIEW_SCALE)), 238, np.uint8
            )
            page = Page(
                document_id=doc.id,
                number=1,
                template="invoice",
                width=PAGE_W,
                height=PAGE_H,
                registration_quality=0.97,
                preview_scale=PREVIEW_SCALE,
            )
            db.add(page)
            db.flush()
            for i in range(min(per_page, n_fields - made)):
                made += 1
                length = int(rng.integers(3, 7))
                truth = [int(d) for d in rng.integers(0, 10, length)]
                pred = list(truth)
                doubt = [False] * length
                if group_digit is not None:
                    k = int(rng.integers(0, length))
                    if wrong_left > 0:
                        wrong_left -= 1
                        truth[k] = (group_digit + 1 + int(rng.integers(0, 9))) % 10
                    else:
                        truth[k] = group_digit
                    pred[k] = group_digit
                    doubt[k] = True
                else:
                    k = int(rng.integers(0, length))
                    doubt[k] = True
                    if made % 3 != 0:  # two fields in three were misread
                        pred[k] = (truth[k] + int(rng.integers(1, 10))) % 10
                crops = [digit_crop(d, rng, source) for d in truth]
                image = np.hstack([np.pad(c, 6, constant_values=int(c[0, 0])) for c in crops])
                x, y = 200, 300 + 420 * i
                box = [x, y, image.shape[1] * 3, image.shape[0] * 3]
                small = cv2.resize(image, None, fx=3 * PREVIEW_SCALE, fy=3 * PREVIEW_SCALE)
                py, px = int(y * PREVIEW_SCALE), int(x * PREVIEW_SCALE)
                preview[py : py + small.shape[0], px : px + small.shape[1]] = small
                confs = [
                    float(rng.uniform(0.35, 0.85)) if d else float(rng.uniform(0.95, 1))
                    for d in doubt
                ]
                f = Field(
                    page_id=page.id,
                    document_id=doc.id,
                    batch_id=batch.id,
                    template="invoice",
                    position=i,
                    name=("amount", "account", "date", "code")[i % 4],
                    value="".join(map(str, pred)),
                    confidence=float(np.prod(confs)),
                    needs_review=True,
                    reasons=["low_confidence_digit", "low_confidence_field"],
                    box=box,
                    image_jpeg=jpeg(image, quality=90),
                )
                db.add(f)
                db.flush()
                sf = SeededField(f.id, "".join(map(str, truth)), f.value)
                for j, (c, d) in enumerate(zip(crops, pred, strict=True)):
                    alt = (d + 1) % 10
                    dg = Digit(
                        field_id=f.id,
                        position=j,
                        value=d,
                        confidence=confs[j],
                        alternatives=[[d, confs[j]], [alt, 1 - confs[j]]],
                        box=[box[0] + j * 180, box[1], 150, 180],
                        crop_png=png(c),
                        needs_review=doubt[j],
                    )
                    db.add(dg)
                    db.flush()
                    sf.digit_ids.append(dg.id)
                    sf.digit_truth.append(truth[j])
                out[f.id] = sf
            page.preview_jpeg = jpeg(preview)
        return Seeded(batch.id, out)


@pytest.fixture
def review_db(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite file for one test, with the user ``alice``."""
    url = f"sqlite:///{tmp_path / 'review.db'}"
    init_db(url)
    add_user(url, "alice", PASSWORD)
    yield url
    dispose_engines()


def review_settings(url: str) -> Settings:
    return Settings(database_url=url, secret_key="test-secret-" + "x" * 32, api_token=API_TOKEN)


@dataclass
class LiveServer:
    url: str
    db_url: str


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on 127.0.0.1 (a background thread) while the block runs; its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(review_db: str) -> Iterator[LiveServer]:
    """The real app under uvicorn on 127.0.0.1 (a background thread), on the test database."""
    from review.app import create_app

    with serve(create_app(review_settings(review_db))) as url:
        yield LiveServer(url, review_db)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never Playwright's own browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def write_comb_template(
    folder: Path, *, name: str = "passport", field: str = "account", cells: int = 12
) -> Path:
    """A template JSON (never registered here: the review page reads only its field specs)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    spec = {
        "name": name,
        "reference": f"{name}.png",
        "size": [PAGE_W, PAGE_H],
        "fields": [
            {"name": field, "box": [200, 300, 90 * cells, 120], "kind": "comb", "cells": cells},
            {"name": "amount", "box": [200, 600, 600, 120], "kind": "box", "max_digits": 11},
        ],
    }
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def seed_field(
    url: str,
    predicted: str,
    *,
    template: str = "invoice",
    name: str = "amount",
    templates: list[Any] | None = None,
    confidences: list[float] | None = None,
    field_confidence: float = 0.3,
    reasons: list[str] | None = None,
    seed: int = 0,
) -> SeededField:
    """One doubtful field of ``predicted`` digits on its own page and batch (read with
    ``templates``, as ``batches.templates`` stores them)."""
    rng = np.random.default_rng(seed)
    source = font_digit_source(seed)
    digits = [int(c) for c in predicted]
    confs = confidences or [0.99] * len(digits)
    with session_scope(url) as db:
        now = utcnow()
        batch = Batch(name="one-field", origin="process", templates=templates or [], created_at=now)
        db.add(batch)
        db.flush()
        doc = _done_document(db, batch, f"{name}.png", f"{seed:064x}")
        page = Page(
            document_id=doc.id,
            number=1,
            template=template,
            width=PAGE_W,
            height=PAGE_H,
            registration_quality=0.97,
            preview_scale=PREVIEW_SCALE,
        )
        db.add(page)
        db.flush()
        crops = [digit_crop(d, rng, source) for d in digits]
        image = np.hstack([np.pad(c, 6, constant_values=int(c[0, 0])) for c in crops])
        box = [200, 300, image.shape[1] * 3, image.shape[0] * 3]
        f = Field(
            page_id=page.id,
            document_id=doc.id,
            batch_id=batch.id,
            template=template,
            position=0,
            name=name,
            value=predicted,
            confidence=field_confidence,
            needs_review=True,
            reasons=reasons if reasons is not None else ["low_confidence_field"],
            box=box,
            image_jpeg=jpeg(image, quality=90),
        )
        db.add(f)
        db.flush()
        sf = SeededField(f.id, predicted, predicted)
        step = (CROP + 12) * 3
        for j, d in enumerate(digits):
            dg = Digit(
                field_id=f.id,
                position=j,
                value=d,
                confidence=confs[j],
                alternatives=[[d, confs[j]], [(d + 1) % 10, 1 - confs[j]]],
                box=[box[0] + j * step + 18, box[1] + 18, CROP * 3, CROP * 3],
                crop_png=png(crops[j]),
                needs_review=confs[j] < 0.9,
            )
            db.add(dg)
            db.flush()
            sf.digit_ids.append(dg.id)
            sf.digit_truth.append(d)
        page.preview_jpeg = jpeg(
            np.full((int(PAGE_H * PREVIEW_SCALE), int(PAGE_W * PREVIEW_SCALE)), 238, np.uint8)
        )
        return sf
