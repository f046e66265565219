"""``digitize watch`` as a real process on a real folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_db import DIGITIZE, REPO, cli, job_env, run_cli


def _wait_for(cond: Any, timeout: float, what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    out, _ = proc.communicate()
    raise AssertionError(f"timed out waiting for {what}; watcher said:\n{out[-3000:]}")


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*DIGITIZE, "watch", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
@pytest.mark.slow
def test_watch_takes_settled_files_and_moves_them_once_stored(
    sqlite_url: str, tmp_path: Path, form_scans: dict[str, Any], poll: bool
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    scans: Path = form_scans["scans"]
    shutil.copy(scans / "claim 0.png", inbox / "already here.png")  # present at start
    (inbox / ".hidden.png").write_bytes(b"x")
    (inbox / "upload.png.part").write_bytes(b"x")
    os.symlink(scans / "order 2.png", inbox / "link.png")
    env = job_env(sqlite_url, "redis://127.0.0.1:1/0")
    args = [str(inbox), "--template", str(form_scans["templates"]), "--settle", "1", "--jobs", "1"]
    proc = _start([*args, "--poll"] if poll else args, env)
    try:
        # A file that arrives slowly: taken only after it stopped growing.
        data = (scans / "survey 1.png").read_bytes()
        with (inbox / "slow copy.png").open("wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            time.sleep(0.6)
            fh.write(data[len(data) // 2 :])
        (inbox / "notes.jpg").write_text("not a scan at all\n" * 5)
        processed, failed = inbox / "processed", inbox / "failed"
        _wait_for(
            lambda: (
                {p.name for p in processed.glob("*")} >= {"already here.png", "slow copy.png"}
                and (failed / "notes.jpg").exists()
            ),
            240,
            "the files to be moved",
            proc,
        )
        reason = (failed / "notes.jpg.reason.txt").read_text()
        assert "not a scan" in reason
        # Ignored: hidden, partial and symlinked files stay where they are, unread.
        assert (inbox / ".hidden.png").exists() and (inbox / "upload.png.part").exists()
        assert (inbox / "link.png").is_symlink()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    docs = json.loads(cli(["results", "-f", "json"]).stdout)["documents"]
    by_name = {d["source"]: d for d in docs}
    assert set(by_name) == {"already here.png", "slow copy.png", "notes.jpg"}
    assert by_name["slow copy.png"]["status"] == "done"
    assert by_name["slow copy.png"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert by_name["slow copy.png"]["pages"][0]["template"] == "survey"
    assert by_name["notes.jpg"]["status"] == "failed"


@pytest.mark.slow
def test_watch_refuses_layouts_that_would_loop(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    inside = job_env(f"sqlite:///{inbox / 'results.db'}", "redis://127.0.0.1:1/0")
    res = run_cli(["watch", str(inbox)], inside, timeout=60)
    assert res.returncode == 3 and "inside the watched folder" in res.stderr
    assert not list(inbox.iterdir())  # nothing created there either
