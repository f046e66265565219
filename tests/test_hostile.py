"""A folder of hostile files among awkward good ones, through ``digitize process`` for real.

Each bad file must end failed with a sentence a person understands, each good one done with all
its pages, no process may die, and the exit status must say that something failed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.fixtures_db import cli, job_env, png_bytes, run_cli
from tests.fixtures_images import good_files, hostile_files


def test_hostile_folder(sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    good = good_files()
    bad = hostile_files()
    seen: set[bytes] = set()
    for name, (data, _) in {**good, **bad}.items():
        if data in seen and data.startswith(b"\x89PNG"):  # same bytes would be one document
            data = png_bytes(np.asarray(Image.open(io.BytesIO(data))), tag=name)
        seen.add(data)
        (folder / name).write_bytes(data)

    proc = run_cli(["process", str(folder), "--jobs", "2"], job_env(sqlite_url, ""), timeout=600)
    assert proc.returncode == 10, proc.stderr  # "some documents failed", not a crash
    assert "Traceback" not in proc.stderr
    assert f"{len(good)} done, {len(bad)} failed" in proc.stderr

    docs = {d["source"]: d for d in json.loads(cli(["results", "-f", "json"]).stdout)["documents"]}
    assert set(docs) == set(good) | set(bad)
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
    assert "decompression bomb" in docs["bomb.png"]["error"]
    assert "empty" in docs["empty.png"]["error"]
