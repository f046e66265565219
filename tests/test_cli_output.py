"""``--format json|csv|wide``: stdout holds the document alone, whatever libraries print."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitize.cli.output import wants_document

REPO = Path(__file__).resolve().parent.parent

#: A fresh machine: no MNIST cache, and a source that talks on stdout the way Keras's download
#: does (Python's print and native code writing to file descriptor 1).
CHATTY_EVALUATE = """
import os, sys
import model.training.data as data

def chatty():
    print("Downloading data from https://storage.example/mnist.npz")
    sys.stdout.flush()
    os.write(1, b"native chatter on fd 1\\n")
    images, labels = data.load_sample()
    return images[:300], labels[:300], images[300:], labels[300:]

data.default_sources = lambda: [("chatty test source", chatty)]
data._check = lambda raw, sizes=None: raw
sys.argv = ["digitize", "evaluate", "--format", "json"]
from digitize.cli import main
main()
"""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["results", "--format", "json"], True),
        (["results", "-f", "csv"], True),
        (["results", "--format=wide"], True),
        (["results", "-f", "xlsx", "--output", "out.xlsx"], True),
        (["evaluate", "--format=JSON"], True),
        (["results", "--format", "table"], False),
        (["results"], False),
        (["results", "--format"], False),
    ],
)
def test_wants_document(argv: list[str], expected: bool) -> None:
    assert wants_document(argv) is expected


@pytest.mark.slow
def test_evaluate_json_parses_on_a_fresh_machine(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env["DIGITIZE_DATA_DIR"] = str(tmp_path / "empty cache")
    proc = subprocess.run(
        [sys.executable, "-c", CHATTY_EVALUATE],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert report["n"] == 200 and 0.9 <= report["accuracy"] <= 1.0
    assert "Downloading data from" in proc.stderr and "native chatter" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "wide"])
def test_results_csv_is_the_document_alone(sqlite_url: str, fmt: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env["DIGITIZE_DATABASE_URL"] = sqlite_url
    proc = subprocess.run(
        [sys.executable, "-c", "from digitize.cli import main; main()", "results", "-f", fmt],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0][:3] == ["document_id", "source", "status"] and len(rows) == 1
