"""The committed lock is what gets installed; the runtime needs nothing of the ``train`` extra.

The lock files are pip-compile output (``make lock``); these tests keep them, ``pyproject.toml``,
the Dockerfile and the running environment in agreement, and run the product with TensorFlow,
Keras and matplotlib made impossible to import.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
TRAINING = {"tensorflow", "keras", "matplotlib"}


def pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of a pip-compile output, checking every pin carries a hash."""
    text = path.read_text()
    out: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", block)
        if m:
            assert "--hash=sha256:" in block, f"{path.name}: {m.group(1)} has no hash"
            out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def test_runtime_lock_is_the_dev_lock_without_training() -> None:
    dev, runtime = pins(REPO / "requirements/dev.txt"), pins(REPO / "requirements/runtime.txt")
    assert set(dev) >= TRAINING
    assert not TRAINING & set(runtime)
    assert {n: runtime[n] for n in runtime} == {n: dev[n] for n in runtime}


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    dev = pins(REPO / "requirements/dev.txt")
    runtime = pins(REPO / "requirements/runtime.txt")
    declared = [Requirement(r) for r in project["dependencies"]]
    extras = [Requirement(r) for group in project["optional-dependencies"].values() for r in group]
    assert not {canonicalize_name(r.name) for r in declared} & TRAINING  # train extra only
    for req, lock in [(r, runtime) for r in declared] + [(r, dev) for r in declared + extras]:
        name = canonicalize_name(req.name)
        assert name in lock, f"{name} is not locked"
        assert req.specifier.contains(lock[name], prereleases=True), (name, lock[name])


def test_installed_versions_are_the_locked_ones() -> None:
    """What `make` installed is the lock (the key packages, and every other one)."""
    if os.environ.get("TEST_LATEST"):  # make test-latest: resolved without the lock
        return
    dev = pins(REPO / "requirements/dev.txt")
    for name, version in dev.items():
        if name in ("pip", "setuptools", "wheel"):
            continue
        assert metadata.version(name) == version, name


def test_the_image_installs_the_runtime_lock_with_hashes() -> None:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    runs = [ln for ln in text.splitlines() if ln.startswith("RUN ")]
    assert any(
        "pip install --require-hashes --no-deps -r requirements/runtime.txt" in r for r in runs
    )
    assert not any("tensorflow" in r or "[train" in r for r in runs)


BLOCK_TRAINING = """
import importlib.abc, sys
class NoTraining(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"tensorflow", "keras", "matplotlib"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NoTraining())
sys.argv = ["digitize", *sys.argv[1:]]
from digitize.cli import main
main()
"""


def _without_training(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env["DIGITIZE_DATABASE_URL"] = f"sqlite:///{tmp / 'rt.db'}"
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TRAINING, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


@pytest.mark.slow
def test_the_runtime_reads_pages_without_tensorflow_or_matplotlib(tmp_path: Path) -> None:
    proc = _without_training(
        tmp_path, "process", "examples/claim_fax.png", "--template", "examples/templates"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 done" in proc.stderr


@pytest.mark.slow
def test_a_training_command_says_which_extra_it_needs(tmp_path: Path) -> None:
    proc = _without_training(tmp_path, "train", "--epochs", "1", "--out", str(tmp_path / "m"))
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "pip install 'digitize[train]'" in proc.stderr and "Traceback" not in proc.stderr
