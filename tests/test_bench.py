"""``digitize bench --quick``: the short run of the deployment benchmarks, as CI runs it.

Every section prints its figures and the ratio to its baseline from the same run; the numbers
themselves depend on the machine, so only their presence and sanity are checked here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_gives_every_figure_with_its_baseline() -> None:
    args = ["bench", "--quick", "--format", "json"]
    for section in ("pipeline", "database", "end_to_end"):
        args += ["--section", section]
    cmd = [sys.executable, "-c", "from digitize.cli import main; main()", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout)

    pipe = res["pipeline"]
    stages = pipe["ms_per_page"]
    assert set(stages) >= {"load", "register", "segment", "classify", "assemble", "total"}
    assert 0 < stages["classify"] < stages["total"]
    assert pipe["classify_speedup_vs_keras"] > 1  # OpenVINO beats Keras predict on every machine

    db = res["database"]
    assert db["sqlite"]["documents_per_s"] > 0 and db["postgresql"]["documents_per_s"] > 0
    assert db["postgresql_ratio_vs_sqlite"] > 0

    e2e = res["end_to_end"]
    proc = e2e["process"]
    assert proc["pages_per_s_1_process"] > 0 and proc["pages_per_s_2_processes"] > 0
    assert proc["accuracy"]["fields_right"] > 0.8 * proc["accuracy"]["fields"]
    celery = e2e["celery"]
    assert celery["pages_per_s_1_worker"] > 0 and celery["scaling_2_vs_1"] > 0
    assert 0 < e2e["memory"]["worker_pool_process_rss_mb"] < 1000
    if shutil.which("tesseract"):
        assert e2e["tesseract"]["speedup_of_process_2_vs_tesseract"] > 0
    else:
        assert "skipped" in e2e["tesseract"]


@pytest.mark.slow
def test_corpus_forms_for_the_deploy_bench_are_two_forms_filled_differently(
    tmp_path: Path,
) -> None:
    from bench.pipeline_sections import make_corpus_forms, templates_dir
    from segmentation.templates import load_templates

    truth = make_corpus_forms(4, tmp_path / "forms")
    assert sorted(truth) == [f"form{i:04d}.png" for i in range(4)]
    templates = load_templates([templates_dir(tmp_path / "forms")])
    assert len(templates) == 2
    names = {t.name for t in templates}
    assert all(set(truth[f"form{i:04d}.png"]) == {f.name for f in templates[0].fields}
               or set(truth[f"form{i:04d}.png"]) == {f.name for f in templates[1].fields}
               for i in range(4))  # fmt: skip
    assert truth["form0000.png"] != truth["form0002.png"]  # the same form, another filling
    assert len(names) == 2
