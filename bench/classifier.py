"""Classifier benchmark: the shipped runtime (OpenVINO) vs Keras ``model.predict``, same model.

Returns a plain dict so ``digitize bench`` can merge it with other sections (page pipeline, ...).
The runtime is measured before TensorFlow is imported, so its figures are what the pipeline sees.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model.inference import Recognizer, get_recognizer, load_config
from model.training.data import load_sample, to_unit

PAGE_CROPS = 30
_FIRST_PREDICTION = """
import time, resource, sys
t0 = time.perf_counter()
import numpy as np
from model.inference import get_recognizer
p = get_recognizer({path!r}).predict_proba(np.zeros((1, 28, 28), np.float32))
assert p.shape == (1, 11)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(time.perf_counter() - t0, rss, int("tensorflow" in sys.modules))
"""


def _median_rate(fn: Any, n_items: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n_items / statistics.median(times)


def _start_to_first_prediction(path: Path | None, repeats: int) -> dict[str, Any]:
    """Wall time of a fresh interpreter from spawn to first probabilities (median)."""
    code = _FIRST_PREDICTION.format(path=str(path) if path else None)
    walls, rss, tf_loaded = [], 0.0, False
    for _ in range(repeats):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        walls.append(time.perf_counter() - t)
        _, r, tf = out.stdout.split()
        rss, tf_loaded = float(r), bool(int(tf))
    return {
        "start_to_first_prediction_s": statistics.median(walls),
        "first_prediction_process_rss_mb": round(rss, 1),
        "first_prediction_imports_tensorflow": tf_loaded,
    }


def _test_digits(n: int) -> npt.NDArray[np.float32]:
    images, _ = load_sample()
    reps = int(np.ceil(n / len(images)))
    return to_unit(np.tile(images, (reps, 1, 1))[:n])


def run(quick: bool = False, model_path: Path | None = None) -> dict[str, Any]:
    """Median figures over repeats; ``quick`` uses fewer digits and repeats (for tests)."""
    n_bulk = 512 if quick else 10000
    repeats = 2 if quick else 5
    page_calls = 10 if quick else 300
    x = _test_digits(n_bulk)
    rec: Recognizer = get_recognizer(model_path)
    rec.predict_proba(x[:PAGE_CROPS])
    page = x[:PAGE_CROPS]
    call_ms = []
    for _ in range(page_calls):
        t = time.perf_counter()
        rec.predict_proba(page)
        call_ms.append((time.perf_counter() - t) * 1000)
    rec.predict_proba(x[:512])
    rate = _median_rate(lambda: rec.predict_proba(x), n_bulk, repeats)
    probs = rec.predict_proba(x[:1000])
    start = _start_to_first_prediction(model_path, 1 if quick else 3)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    cfg = load_config(model_path)
    if cfg.keras is None or not cfg.keras.is_file():
        raise FileNotFoundError(f"no Keras model next to {cfg.path}")
    km = keras.models.load_model(cfg.keras, compile=False)
    xk = x[..., None]
    km.predict(xk[:512], batch_size=256, verbose=0)
    keras_rate = _median_rate(
        lambda: km.predict(xk, verbose=0), n_bulk, repeats
    )  # as users call it
    keras_256 = _median_rate(lambda: km.predict(xk, batch_size=256, verbose=0), n_bulk, repeats)
    kcall = []
    for _ in range(3 if quick else 30):
        t = time.perf_counter()
        km.predict(xk[:PAGE_CROPS], verbose=0)
        kcall.append((time.perf_counter() - t) * 1000)
    from model.calibration import softmax

    keras_probs = softmax(np.asarray(km.predict(xk[:1000], verbose=0)), cfg.temperature)
    return {
        "digits_per_s": round(rate, 1),
        "keras_predict_digits_per_s": round(keras_rate, 1),
        "ratio_vs_keras": round(rate / keras_rate, 2),
        "keras_predict_batch256_digits_per_s": round(keras_256, 1),
        "ratio_vs_keras_batch256": round(rate / keras_256, 2),
        "page_call_ms": round(statistics.median(call_ms), 4),
        "page_call_ms_p90": round(float(np.percentile(call_ms, 90)), 4),
        "keras_page_call_ms": round(statistics.median(kcall), 3),
        **start,
        "max_abs_prob_diff_vs_keras": float(np.abs(probs - keras_probs).max()),
        "bulk_digits": n_bulk,
        "repeats": repeats,
        "page_crops": PAGE_CROPS,
        "keras_batch_size": "default (32); also 256",
        "runtime": "openvino",
        "runtime_threads": rec.threads,
        "load_average": list(os.getloadavg()),
        "model": str(cfg.tflite),
    }
