"""``digitize process / results / status`` run as a user runs them, into a real database."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from digitize.cli.job_commands import parse_since
from digitize.errors import ConfigError, UsageError
from tests.fixtures_db import cli, job_env, run_cli

FORMS = {"claim 0.png": "claim", "survey 1.png": "survey", "order 2.png": "order"}


@pytest.fixture
def scan_dir(tmp_path: Path, form_scans: dict[str, Any]) -> Path:
    d = tmp_path / "in box"
    shutil.copytree(form_scans["scans"], d)
    (d / "minutes.jpg").write_text("Minutes of the meeting\n" * 10)
    return d


@pytest.mark.slow
def test_process_results_and_status(
    sqlite_url: str, scan_dir: Path, form_scans: dict[str, Any]
) -> None:
    env = job_env(sqlite_url, "redis://127.0.0.1:1/0")  # no broker needed, none reachable
    tpl = str(form_scans["templates"])
    proc = run_cli(["process", str(scan_dir), "--template", tpl, "--jobs", "2"], env)
    assert proc.returncode == 10, proc.stderr  # one document failed
    assert "4 done, 1 failed" in proc.stderr
    assert "minutes.jpg" in proc.stderr and "not a scan" in proc.stderr

    res = cli(["results", "--format", "json"])
    assert res.exit_code == 0, res.exception
    docs = {d["source"]: d for d in json.loads(res.stdout)["documents"]}
    assert set(docs) == {*FORMS, "free page.png", "minutes.jpg"}
    truth: dict[str, dict[str, str]] = form_scans["truth"]
    for name, layout in FORMS.items():
        doc = docs[name]
        assert doc["status"] == "done" and doc["error"] is None
        (page,) = doc["pages"]
        assert page["template"] == layout
        assert [f["name"] for f in page["fields"]] == list(truth[name])
        for f in page["fields"]:
            assert len(f["box"]) == 4 and isinstance(f["confidence"], float)
            assert all(
                set(d) >= {"value", "confidence", "box", "alternatives"} for d in f["digits"]
            )
    assert docs["free page.png"]["pages"][0]["template"] is None
    assert docs["minutes.jpg"]["status"] == "failed" and docs["minutes.jpg"]["pages"] == []

    csv_out = cli(["results", "--format", "csv", "--field", "date"])
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert [r["source"] for r in rows] == ["claim 0.png"] and rows[0]["field"] == "date"

    review = json.loads(cli(["results", "--format", "json", "--needs-review"]).stdout)
    flagged = [f for d in review["documents"] for p in d["pages"] for f in p["fields"]]
    assert all(f["needs_review"] for f in flagged)

    table = cli(["results"])
    assert table.exit_code == 0 and "claim 0.png" in table.stdout
    status = cli(["status", "1"])
    assert status.exit_code == 0 and "1" in status.stdout

    # The same files again: recognised, reported, not read twice, listed as duplicates.
    again = cli(["process", str(scan_dir), "--template", tpl])
    assert again.exit_code == 0, again.exception
    assert again.stderr.count("duplicate: ") == 5
    repeats = json.loads(cli(["results", "--format", "json", "--batch", "2"]).stdout)["documents"]
    assert [d["status"] for d in repeats] == ["duplicate"] * 5
    assert {d["duplicate_of"] for d in repeats} == {d["id"] for d in docs.values()}
    assert all(d["pages"] == [] for d in repeats)
    forced = run_cli(["process", str(scan_dir / "order 2.png"), "--force"], env)
    assert forced.returncode == 0, forced.stderr
    last = json.loads(cli(["results", "-f", "json", "--batch", "3"]).stdout)["documents"]
    assert [(d["source"], d["status"]) for d in last] == [("order 2.png", "done")]


@pytest.mark.slow
def test_templates_and_database_files_are_never_read_as_scans(
    tmp_path: Path, form_scans: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "examples"
    shutil.copytree(form_scans["templates"], work / "templates")
    shutil.copy(form_scans["scans"] / "claim 0.png", work / "claim.png")
    (work / ".hidden.png").write_bytes(b"junk")
    (work / "copy.png.part").write_bytes(b"junk")
    url = f"sqlite:///{work / 'results.db'}"
    monkeypatch.setenv("DIGITIZE_DATABASE_URL", url)
    proc = run_cli(["process", str(work), "--template", str(work / "templates")], job_env(url, ""))
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(cli(["results", "-f", "json"]).stdout)["documents"]
    assert [d["source"] for d in docs] == ["claim.png"]


@pytest.mark.slow
def test_bad_arguments_give_clear_errors(sqlite_url: str, tmp_path: Path) -> None:
    env = job_env(sqlite_url, "redis://127.0.0.1:1/0")
    missing = run_cli(["process", str(tmp_path / "nope")], env)
    assert missing.returncode == 5 and "no such file" in missing.stderr
    bad_tpl = tmp_path / "t.json"
    bad_tpl.write_text("{not json")
    (tmp_path / "a.png").write_bytes(b"x")
    tpl = cli(["process", str(tmp_path / "a.png"), "--template", str(bad_tpl)])
    assert isinstance(tpl.exception, ConfigError), tpl.exception
    since = cli(["results", "--since", "yesterday-ish"])
    assert isinstance(since.exception, UsageError) and "--since" in str(since.exception)


def test_parse_since() -> None:
    assert parse_since("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"
    assert parse_since("2024-05-01T10:00:00+02:00").utcoffset() is not None
    assert (parse_since("0s") - parse_since("2h")).total_seconds() == pytest.approx(7200, abs=5)
    with pytest.raises(UsageError):
        parse_since("soon")


@pytest.mark.slow
def test_an_interrupted_run_is_finished_by_the_next(
    sqlite_url: str, tmp_path: Path, form_scans: dict[str, Any]
) -> None:
    from db import queries
    from db.session import session_scope
    from db.storage import get_storage

    scan = tmp_path / "survey.png"
    shutil.copy(form_scans["scans"] / "survey 1.png", scan)
    with session_scope() as s:  # stored and queued, then the process was killed
        batch = queries.create_batch(s, "process")
        queries.add_document(s, batch, scan.name, scan.read_bytes(), get_storage())
    res = cli(["process", str(scan), "--jobs", "1"])
    assert res.exit_code == 0, res.exception
    assert "duplicate: survey.png" in res.stderr and "queued: read once for both" in res.stderr
    docs = json.loads(cli(["results", "-f", "json"]).stdout)["documents"]
    assert [(d["source"], d["status"], len(d["pages"])) for d in docs] == [
        ("survey.png", "done", 1),
        ("survey.png", "duplicate", 0),
    ]
