"""A folder of hostile files among awkward good ones, through ``digitize process`` for real.

Each bad file must end failed with a sentence a person understands, each good one done with all
its pages, each repeated file listed as a duplicate of the document it repeats, no process may
die, and the exit status must say that something failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures_db import cli, job_env, run_cli
from tests.fixtures_images import good_files, hostile_files, too_small_pictures


@pytest.mark.slow
def test_hostile_folder(sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    good = good_files()
    bad = {**hostile_files(), **too_small_pictures()}
    for name, (data, _) in {**good, **bad}.items():
        (folder / name).write_bytes(data)
    # Byte-identical repeats under names read later: one of a good file, one of a bad one.
    repeats = {"zz copy of grey.png": "grey.png", "zz copy of bomb.png": "bomb.png"}
    for copy, original in repeats.items():
        (folder / copy).write_bytes((folder / original).read_bytes())
    assert len(good) + len(bad) + len(repeats) >= 24

    proc = run_cli(["process", str(folder), "--jobs", "2"], job_env(sqlite_url, ""), timeout=600)
    assert proc.returncode == 10, proc.stderr  # "some documents failed", not a crash
    assert "Traceback" not in proc.stderr
    assert f"{len(good)} done, {len(bad)} failed, {len(repeats)} duplicates" in proc.stderr

    docs = {d["source"]: d for d in json.loads(cli(["results", "-f", "json"]).stdout)["documents"]}
    assert set(docs) == set(good) | set(bad) | set(repeats)  # every file given is listed
    for name, (_, pages) in good.items():
        doc = docs[name]
        assert doc["status"] == "done", (name, doc["error"])
        assert [p["number"] for p in doc["pages"]] == list(range(1, pages + 1)), name
    for name in bad:
        doc = docs[name]
        assert doc["status"] == "failed", name
        message = doc["error"] or ""
        # A sentence, not a repr or a stack: words, no exception class names or tracebacks.
        assert len(message.split()) >= 3, (name, message)
        assert "Error(" not in message and "Traceback" not in message, (name, message)
        assert not message.startswith("internal error"), (name, message)
    for copy, original in repeats.items():
        assert docs[copy]["status"] == "duplicate" and docs[copy]["pages"] == []
        assert docs[copy]["duplicate_of"] == docs[original]["id"], copy
    assert "decompression bomb" in docs["bomb.png"]["error"]
    assert "empty" in docs["empty.png"]["error"]
    assert "too small to be a page" in docs["tiny 1x1.png"]["error"]
    assert docs["blank page.png"]["pages"][0]["fields"] == []


@pytest.mark.slow
def test_running_again_lists_every_file_as_a_duplicate(sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name in ("grey.png", "three pages.pdf"):
        (folder / name).write_bytes(good_files()[name][0])
    env = job_env(sqlite_url, "")
    assert run_cli(["process", str(folder)], env).returncode == 0
    again = run_cli(["process", str(folder)], env)
    assert again.returncode == 0, again.stderr
    assert "nothing new to read" in again.stderr
    docs = json.loads(cli(["results", "-f", "json"]).stdout)["documents"]
    first, second = docs[:2], docs[2:]
    assert [d["status"] for d in second] == ["duplicate", "duplicate"]
    assert [d["duplicate_of"] for d in second] == [d["id"] for d in first]
    batches = json.loads(cli(["results", "-f", "json", "--batch", "2"]).stdout)["documents"]
    assert [d["source"] for d in batches] == ["grey.png", "three pages.pdf"]  # not an empty batch
