"""Scores the shipped model (through OpenVINO, as the pipeline runs it) on the 10k MNIST test."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from digitize.types import NOT_A_DIGIT
from model.calibration import ece
from model.inference import get_recognizer
from model.training.data import to_unit
from model.training.fragments import make_fragments

HELDOUT_FRAGMENT_SEED = 424242


def evaluate(
    images: npt.NDArray[np.uint8],
    labels: npt.NDArray[np.integer],
    *,
    model_path: Path | None = None,
    fragments: int = 2000,
) -> dict[str, Any]:
    """Accuracy, per-class precision/recall, ECE and the not-a-digit rates (all fractions).

    Fragments for the reject rate are synthesised from these (test) digits with a seed no
    training run uses, so they are held out from training and tuning alike.
    """
    rec = get_recognizer(model_path)
    x = to_unit(images)
    t = time.perf_counter()
    probs = rec.predict_proba(x)
    seconds = time.perf_counter() - t
    pred = probs.argmax(1)
    per_class = {}
    for c in range(10):
        tp = int(((pred == c) & (labels == c)).sum())
        n_pred, n_true = int((pred == c).sum()), int((labels == c).sum())
        per_class[str(c)] = {
            "precision": tp / n_pred if n_pred else 0.0,
            "recall": tp / n_true if n_true else 0.0,
            "support": n_true,
        }
    out: dict[str, Any] = {
        "model": str(rec.config.tflite),
        "n": len(labels),
        "accuracy": float((pred == labels).mean()),
        "errors": int((pred != labels).sum()),
        "ece": ece(probs, labels),
        "false_reject_rate": float((pred == NOT_A_DIGIT).mean()),
        "temperature": rec.temperature,
        "per_class": per_class,
        "seconds": round(seconds, 3),
    }
    if fragments:
        frag, kinds = make_fragments(images, fragments, seed=HELDOUT_FRAGMENT_SEED)
        fp = rec.predict_proba(frag).argmax(1) == NOT_A_DIGIT
        out["fragment_reject_rate"] = float(fp.mean())
        out["fragment_reject_rate_by_kind"] = {
            k: float(fp[[i for i, n in enumerate(kinds) if n == k]].mean())
            for k in sorted(set(kinds))
        }
    return out
