"""Every exit status the README documents, produced by a real ``digitize`` process.

The README's table is parsed, so a code documented without a case here (or a case for a code the
README does not list) fails the test.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures_images import hostile_files, page_image

REPO = Path(__file__).resolve().parent.parent
DIGITIZE = [sys.executable, "-c", "from digitize.cli import main; main()"]


def documented_codes() -> set[int]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("| exit status | meaning |", 1)[1].split("\n\n", 1)[0]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env.update(
        DIGITIZE_DATABASE_URL=f"sqlite:///{tmp / 'codes.db'}",
        DIGITIZE_BROKER_URL="redis://127.0.0.1:1/0",
        DIGITIZE_CACHE_DIR="",
        **extra,
    )
    return env


def _run(tmp: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DIGITIZE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(tmp, **env),
        cwd=tmp,
        timeout=180,
    )


def _png(tmp: Path, name: str = "page.png") -> Path:
    import cv2

    path = tmp / name
    cv2.imwrite(str(path), page_image())
    return path


def ok(tmp: Path) -> subprocess.CompletedProcess[str]:
    return _run(tmp, "status")


def internal_error(tmp: Path) -> subprocess.CompletedProcess[str]:
    """A bug, injected: the ingest step raises something no one expected."""
    code = (
        "import worker.ingest as i\n"
        "def broken(*a, **k):\n    raise ZeroDivisionError('injected')\n"
        "i.expand = broken\n"
        "import digitize.cli.job_commands as j; j.expand = broken\n"
        "import sys; sys.argv = ['digitize', 'process', '.']\n"
        "from digitize.cli import main; main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(tmp),
        cwd=tmp,
        timeout=180,
    )


def bad_input(tmp: Path) -> subprocess.CompletedProcess[str]:
    return _run(tmp, "results", "--since", "notadate")


def bad_input_file(tmp: Path) -> subprocess.CompletedProcess[str]:
    bad = tmp / "truncated.png"
    bad.write_bytes(hostile_files()["truncated.png"][0])
    return _run(tmp, "predict", str(bad))


def bad_config(tmp: Path) -> subprocess.CompletedProcess[str]:
    (tmp / "form.json").write_text('{"name": "x"}')
    return _run(tmp, "process", str(_png(tmp)), "--template", str(tmp / "form.json"))


def model_missing(tmp: Path) -> subprocess.CompletedProcess[str]:
    return _run(tmp, "predict", str(_png(tmp)), DIGITIZE_MODEL_PATH=str(tmp / "gone.json"))


def not_found(tmp: Path) -> subprocess.CompletedProcess[str]:
    return _run(tmp, "process", str(tmp / "no such folder"))


def conflict(tmp: Path) -> subprocess.CompletedProcess[str]:
    first = _run(tmp, "user", "add", "alice", "--password-stdin", stdin="long enough pw\n")
    assert first.returncode == 0, first.stderr
    return _run(tmp, "user", "add", "alice", "--password-stdin", stdin="long enough pw\n")


def some_failed(tmp: Path) -> subprocess.CompletedProcess[str]:
    folder = tmp / "scans"
    folder.mkdir()
    _png(folder, "good.png")
    (folder / "empty.png").write_bytes(b"")
    return _run(tmp, "process", str(folder), "--jobs", "1")


def unreachable(tmp: Path) -> subprocess.CompletedProcess[str]:
    return _run(tmp, "submit", str(_png(tmp)))


def interrupted(tmp: Path) -> subprocess.CompletedProcess[str]:
    """Ctrl-C while the command waits at its password prompt."""
    proc = subprocess.Popen(
        [*DIGITIZE, "user", "add", "bob"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp),
        cwd=tmp,
        start_new_session=True,  # no terminal: the prompt reads stdin and writes to stderr
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"Password" not in seen and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096)
    assert b"Password" in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())


CASES: dict[int, list[Callable[[Path], subprocess.CompletedProcess[str]]]] = {
    0: [ok],
    1: [internal_error],
    2: [bad_input, bad_input_file],
    3: [bad_config],
    4: [model_missing],
    5: [not_found],
    6: [conflict],
    10: [some_failed],
    75: [unreachable],
    130: [interrupted],
}


def test_every_documented_code_has_a_case() -> None:
    assert documented_codes() == set(CASES)


@pytest.mark.parametrize(
    ("code", "case"),
    [(code, case) for code, cases in CASES.items() for case in cases],
    ids=lambda v: v.__name__ if callable(v) else str(v),
)
@pytest.mark.slow
def test_exit_code(
    code: int, case: Callable[[Path], subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    proc = case(tmp_path)
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    if code not in (0, 1):
        assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert proc.stderr.strip(), "a failure must say why"
