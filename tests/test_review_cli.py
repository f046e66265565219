"""``digitize user add`` and ``digitize export-corrections`` through the real CLI app."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from db.models import User
from db.session import session_scope
from digitize.cli import _register, app
from digitize.settings import get_settings
from review.app import create_app
from review.export import load_corrections
from review.security import verify_password
from tests.fixtures_review import PASSWORD, review_settings, seed_review
from tests.test_review_app import sign_in


@pytest.fixture
def cli(review_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DIGITIZE_DATABASE_URL", review_db)
    get_settings.cache_clear()
    _register()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.mark.slow
def test_user_add_hashes_and_refuses_duplicates(cli: CliRunner, review_db: str) -> None:
    r = cli.invoke(app, ["user", "add", "carol", "--password-stdin"], input="s3cret-enough\n")
    assert r.exit_code == 0, r.output
    with session_scope(review_db) as db:
        stored = db.scalar(select(User.password_hash).where(User.username == "carol"))
    assert stored and stored.startswith("$argon2id$") and "s3cret" not in stored
    assert verify_password(stored, "s3cret-enough") and not verify_password(stored, "other")
    again = cli.invoke(app, ["user", "add", "carol", "--password-stdin"], input="another-one\n")
    assert again.exit_code != 0 and "exists" in str(again.exception or again.output)
    short = cli.invoke(app, ["user", "add", "dave", "--password-stdin"], input="short\n")
    assert short.exit_code != 0
    typo = cli.invoke(app, ["user", "add", "erin"], input="first-try-1\nfirst-try-2\n\n")
    assert typo.exit_code != 0  # the prompt asks twice and refuses a mismatch
    asked = cli.invoke(app, ["user", "add", "erin"], input="prompted-pw\nprompted-pw\n")
    assert asked.exit_code == 0 and "prompted-pw" not in asked.output
    with TestClient(create_app(review_settings(review_db))) as c:
        sign_in(c, "carol", "s3cret-enough")


def test_export_corrections_writes_labelled_crops(
    cli: CliRunner, review_db: str, tmp_path: Path
) -> None:
    seeded = seed_review(review_db, n_fields=4, per_page=4)
    with TestClient(create_app(review_settings(review_db))) as c:
        token = sign_in(c, "alice", PASSWORD)
        for fid, sf in list(seeded.fields.items())[:3]:
            c.get(f"/review/fields/{fid}")
            r = c.post(
                f"/review/fields/{fid}",
                data={"csrf_token": token, "version": "1", "action": "accept", "value": sf.truth},
                follow_redirects=False,
            )
            assert r.status_code == 303
    out = tmp_path / "corrections"
    r = cli.invoke(app, ["export-corrections", str(out)])
    assert r.exit_code == 0, r.output
    expected = {
        did: label
        for sf in list(seeded.fields.values())[:3]
        for did, label in zip(sf.digit_ids, sf.digit_truth, strict=True)
    }
    rows = list(csv.DictReader((out / "labels.csv").open(encoding="utf-8")))
    assert {int(r["digit_id"]): int(r["label"]) for r in rows} == expected
    changed = [r for r in rows if r["changed"] == "True"]
    assert changed and all(r["predicted"] != r["label"] for r in changed)
    for row in rows:
        crop = Image.open(out / row["file"])
        assert crop.mode == "L" and row["file"].startswith(f"crops/{row['label']}/")
    meta = json.loads((out / "labels.json").read_text(encoding="utf-8"))
    assert meta["format"] == "digitize-corrections/1" and meta["count"] == len(rows)
    data = np.load(out / "mnist.npz")
    assert data["x"].shape == (len(rows), 28, 28) and data["x"].dtype == np.float32
    assert list(data["y"]) == [int(r["label"]) for r in rows]
    # MNIST-style: white ink on black, centred (border darker than centre).
    x = data["x"]
    assert x[:, 10:18, 10:18].mean() > 3 * x[:, :3, :].mean()
    assert x.min() >= 0.0 and x.max() <= 1.0
    buf = io.BytesIO((out / rows[0]["file"]).read_bytes())
    assert Image.open(buf).size[0] > 0
    # What `digitize train --extra` reads: the npz, or the PNGs + CSV when people edited them.
    x2, y2 = load_corrections(out)
    assert np.array_equal(x2, data["x"]) and list(y2) == list(data["y"])
    (out / "mnist.npz").unlink()
    (out / rows[0]["file"]).unlink()
    x3, y3 = load_corrections(out)
    assert len(x3) == len(rows) - 1 and np.allclose(x3, data["x"][1:])
    assert list(y3) == list(data["y"][1:])
