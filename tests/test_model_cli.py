"""`digitize evaluate` and `digitize bench` as a user runs them (real subprocess, real model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _digitize(
    *args: str, timeout: int = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from digitize.cli import main; main()", *args]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
    )


@pytest.mark.slow
def test_evaluate_json_on_the_sample() -> None:
    out = _digitize("evaluate", "--sample", "--format", "json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["n"] == 500 and 0.98 <= res["accuracy"] <= 1.0
    assert 0 <= res["ece"] < 0.05 and res["false_reject_rate"] <= 0.004
    assert set(res["per_class"]) == {str(d) for d in range(10)}
    assert res["fragment_reject_rate"] > 0.8


@pytest.mark.slow
def test_evaluate_table_on_the_sample() -> None:
    out = _digitize("evaluate", "--sample")
    assert out.returncode == 0, out.stderr
    assert "accuracy" in out.stdout and "precision" in out.stdout


@pytest.mark.slow
def test_evaluate_with_a_missing_model_fails_cleanly(tmp_path: Path) -> None:
    out = _digitize("evaluate", "--sample", "--model", str(tmp_path / "none.json"))
    assert out.returncode == 4 and "missing" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_bench_quick_json() -> None:
    out = _digitize("bench", "--quick", "--section", "classifier", "--format", "json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    for key in (
        "digits_per_s",
        "keras_predict_digits_per_s",
        "page_call_ms",
        "start_to_first_prediction_s",
        "ratio_vs_keras",
    ):
        assert res[key] > 0, key
    assert res["classifier"]["page_call_ms"] == res["page_call_ms"]
    assert res["first_prediction_imports_tensorflow"] is False
    assert res["max_abs_prob_diff_vs_keras"] <= 1e-4


@pytest.mark.slow
def test_bench_measures_the_configured_model(weights_copy: Path) -> None:
    """``DIGITIZE_MODEL_PATH`` picks the model for the bench as for predict and evaluate."""
    config = weights_copy / "digits.json"
    args = ("bench", "--quick", "--section", "classifier", "--format", "json")
    out = _digitize(*args, env={"DIGITIZE_MODEL_PATH": str(config)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["model"] == str(weights_copy / "digits.tflite")
    (weights_copy / "digits.tflite").write_bytes(b"not a model")
    out = _digitize(*args, env={"DIGITIZE_MODEL_PATH": str(config)})
    assert out.returncode == 4 and "does not match" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_ensemble_refuses_a_single_member() -> None:
    out = _digitize("ensemble", "model/weights/digits.json", "--out", "out/never")
    assert out.returncode == 2
    assert "two or more" in out.stderr
    assert not (REPO / "out" / "never").exists()
