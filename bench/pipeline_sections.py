"""``digitize bench`` sections for the page pipeline: ms per page per stage, database write rate.

The end-to-end sections (processes, Celery workers, memory, Tesseract) are in ``bench_e2e``.
Every figure comes with a baseline measured in the same run: the classify stage against Keras
``model.predict`` on the same crops, PostgreSQL writes against the embedded SQLite default.
Pages are generated A4 forms at 200 dpi with MNIST test digits as handwriting (evaluation only).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from digitize.settings import Settings, get_settings

REPO = Path(__file__).resolve().parent.parent
MNIST_SAMPLE = REPO / "tests" / "data" / "mnist_sample.npz"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LAYOUTS = ("claim", "survey", "order")


def make_forms(n: int, directory: Path, seed: int = 0) -> dict[str, dict[str, str]]:
    """Write ``n`` filled, scanned A4 forms (PNG, 200 dpi) and ``templates/``; returns the truth."""
    from PIL import Image

    from model.training import synthetic

    directory.mkdir(parents=True, exist_ok=True)
    synthetic.write_templates(directory.parent / "templates")
    source = (
        synthetic.digit_source_from_npz(MNIST_SAMPLE)
        if MNIST_SAMPLE.is_file()
        else synthetic.font_digit_source(seed=seed)
    )
    truth = {}
    for i in range(n):
        page = synthetic.make_page(LAYOUTS[i % 3], source, seed=seed + i, strength=0.5)
        name = f"form{i:04d}.png"
        Image.fromarray(page.image).save(directory / name, dpi=(200, 200))
        truth[name] = dict(page.values)
    return truth


#: Two forms of the broad corpus for ``make_corpus_forms``: a comb form and a captioned one.
CORPUS_FORMS = (("comb_full", 27100), ("captions_left", 27101))


def make_corpus_forms(n: int, directory: Path) -> dict[str, dict[str, str]]:
    """``make_forms`` with pages of two broad-corpus forms (``bench.corpus``; scanner effects,
    MNIST validation digits and validation fonts as handwriting) and their two templates."""
    from PIL import Image

    from bench.corpus.pages import make_page, template_path
    from bench.corpus.writers import make_writer

    directory.mkdir(parents=True, exist_ok=True)
    templates = templates_dir(directory)
    for family, seed in CORPUS_FORMS:
        template_path(family, seed, templates)
    writers = [make_writer("mnist", "validation"), make_writer("fonts", "validation")]
    truth = {}
    for i in range(n):
        family, seed = CORPUS_FORMS[i % 2]
        page = make_page(family, seed, writers[(i // 2) % 2], fill=i)
        name = f"form{i:04d}.png"
        Image.fromarray(page.image).save(directory / name, dpi=(200, 200))
        truth[name] = {f.name: f.value for f in page.fields}
    return truth


def templates_dir(forms: Path) -> Path:
    return forms.parent / "templates"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class KerasClassifier:
    """The baseline: the same model through Keras ``model.predict``, calibrated the same way."""

    def __init__(self, model_path: Path | None) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        from model.inference import load_config

        self.cfg = load_config(model_path)
        if self.cfg.keras is None or not self.cfg.keras.is_file():
            raise FileNotFoundError(f"no Keras model next to {self.cfg.path}")
        self.model = keras.models.load_model(self.cfg.keras, compile=False)

    def predict_proba(self, crops: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        from model.calibration import softmax

        x = np.asarray(crops, np.float32)[..., None] * self.cfg.scale + self.cfg.offset
        logits = np.asarray(self.model.predict(x, verbose=0))
        return np.asarray(softmax(logits, self.cfg.temperature), np.float32)


def _stage_table(results: list[dict[str, float]]) -> dict[str, float]:
    stages = [k for k in results[0] if k != "total"]
    out = {s: round(statistics.median(r[s] for r in results), 2) for s in stages}
    out["total"] = round(statistics.median(sum(r[s] for s in stages) for r in results), 2)
    return out


def _read_all(
    files: list[Path], templates: list[Any], classifier: Any, settings: Settings
) -> list[dict[str, float]]:
    from worker.pipeline import read_document

    timings = []
    for f in files:
        for res in read_document(f.read_bytes(), f.name, templates, classifier, settings):
            timings.append(dict(res.timings_ms))
    return timings


def pipeline_section(quick: bool) -> dict[str, Any]:
    """Median ms per page for each stage, one process; the classify stage also under Keras."""
    from segmentation.templates import load_templates
    from worker.pipeline import default_classifier

    settings = get_settings()
    n = 3 if quick else 30
    with tempfile.TemporaryDirectory(prefix="digitize-bench-") as tmp:
        forms = Path(tmp) / "forms"
        make_forms(n, forms)
        files = sorted(forms.glob("*.png"))
        templates = load_templates([templates_dir(forms)])
        lite = default_classifier(settings)
        _read_all(files[:1], templates, lite, settings)  # warm-up (caches, first allocation)
        ours = _stage_table(_read_all(files, templates, lite, settings))
        out: dict[str, Any] = {
            "pages": n,
            "ms_per_page": ours,
            "pages_per_s_one_process": round(1000 / ours["total"], 2),
        }
        try:
            keras = KerasClassifier(settings.model_path)
        except FileNotFoundError as exc:
            out["keras_baseline"] = f"skipped: {exc}"
            return out
        _read_all(files[:1], templates, keras, settings)
        base = _stage_table(_read_all(files, templates, keras, settings))
    out["keras_ms_per_page"] = base
    out["classify_speedup_vs_keras"] = round(base["classify"] / max(ours["classify"], 1e-3), 2)
    out["page_speedup_vs_keras"] = round(base["total"] / ours["total"], 2)
    out["load_average"] = load_average()
    return out


# --- database write rate ------------------------------------------------------------------------


def scratch_postgres() -> tuple[str, Callable[[], None]] | None:
    """A new, empty PostgreSQL database (and how to drop it), or None when no server answers."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import OperationalError

    configured = get_settings().database_url
    admin = configured if configured.startswith("postgresql") else PG_ADMIN_URL
    admin_url = make_url(admin).set(database="postgres")
    name = f"digitize_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        return None
    finally:
        engine.dispose()

    def drop() -> None:
        from db.session import dispose_engines

        dispose_engines()
        e = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with e.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        e.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def _write_rate(url: str, pages: list[Any], results: list[Any], docs: int) -> dict[str, float]:
    """Store ``docs`` documents' results the way the driver does: one transaction each."""

    from db import queries
    from db.models import DONE
    from db.readings import store_reading
    from db.session import session_scope
    from db.storage import get_storage
    from worker.pipeline import reading_rows

    storage = get_storage("db")
    with session_scope(url) as session:
        batch = queries.create_batch(session, "bench")
        ids = []
        for i in range(docs):
            data = f"bench document {i} {uuid.uuid4()}".encode()
            ids.append(queries.add_document(session, batch, f"d{i}.png", data, storage).document.id)
        batch_id = batch.id
    rows = 0
    t = time.perf_counter()
    for i, doc_id in enumerate(ids):
        page, result = pages[i % len(pages)], results[i % len(results)]
        with session_scope(url) as session:
            queries.claim(session, doc_id, "bench", 1)
            session.commit()
            queries.finish(session, doc_id, DONE, page_count=1, timings_ms={})
            rows += store_reading(session, doc_id, batch_id, reading_rows([page], [result]))
    seconds = time.perf_counter() - t
    return {
        "documents_per_s": round(docs / seconds, 1),
        "rows_per_s": round(rows / seconds, 1),
        "rows_per_document": round(rows / docs, 1),
    }


def database_section(quick: bool) -> dict[str, Any]:
    """Result-write rate into PostgreSQL, against the embedded SQLite default (same rows)."""
    from segmentation.templates import load_templates
    from worker.pipeline import _read, default_classifier

    settings = get_settings()
    docs = 10 if quick else 200
    with tempfile.TemporaryDirectory(prefix="digitize-bench-") as tmp:
        forms = Path(tmp) / "forms"
        make_forms(3, forms, seed=500)
        templates = load_templates([templates_dir(forms)])
        pages, results = [], []
        for f in sorted(forms.glob("*.png")):
            p, r = _read(f.read_bytes(), f.name, templates, default_classifier(settings), settings)
            pages += p
            results += r
        sqlite = _write_rate(f"sqlite:///{tmp}/bench.db", pages, results, docs)
        out: dict[str, Any] = {"documents": docs, "sqlite": sqlite}
        pg = scratch_postgres()
        if pg is None:
            out["postgresql"] = "skipped: no PostgreSQL server answered"
            return out
        url, drop = pg
        try:
            out["postgresql"] = _write_rate(url, pages, results, docs)
        finally:
            drop()
    out["postgresql_ratio_vs_sqlite"] = round(
        out["postgresql"]["documents_per_s"] / sqlite["documents_per_s"], 2
    )
    out["load_average"] = load_average()
    return out


def dump(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2)
