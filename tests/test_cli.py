"""The root command: global flags feed the settings object, errors become exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DIGITIZE = [sys.executable, "-c", "from digitize.cli import main; main()"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    full_env.update(env or {})
    return subprocess.run(
        [*DIGITIZE, *args], capture_output=True, text=True, env=full_env, timeout=120
    )


@pytest.mark.slow
def test_database_url_flag_creates_that_database(tmp_path: Path) -> None:
    db = tmp_path / "flag.db"
    proc = _run("--database-url", f"sqlite:///{db}", "status")
    assert proc.returncode == 0, proc.stderr
    assert db.exists()


@pytest.mark.slow
def test_flag_overrides_environment(tmp_path: Path) -> None:
    env_db, flag_db = tmp_path / "env.db", tmp_path / "flag.db"
    proc = _run(
        "--database-url",
        f"sqlite:///{flag_db}",
        "status",
        env={"DIGITIZE_DATABASE_URL": f"sqlite:///{env_db}"},
    )
    assert proc.returncode == 0, proc.stderr
    assert flag_db.exists() and not env_db.exists()


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_out_of_range_threshold_is_a_usage_error(value: str) -> None:
    proc = _run("--review-threshold", value, "status")
    assert proc.returncode == 2
    assert "review-threshold" in proc.stderr


@pytest.mark.slow
def test_bad_template_maps_to_the_config_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "form.json"
    bad.write_text('{"name": "x"}')
    scan = tmp_path / "scan.png"
    scan.write_bytes(b"not really")
    proc = _run(
        "--database-url",
        f"sqlite:///{tmp_path / 'd.db'}",
        "process",
        str(scan),
        "--template",
        str(bad),
    )
    assert proc.returncode == 3, proc.stderr
    assert "form.json" in proc.stderr
