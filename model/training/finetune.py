"""Fine-tune the shipped network on digits people corrected (``digitize train --extra DIR``).

Corrections are few and skewed towards what the machine found hard, so they are mixed with a
replay of MNIST training digits (so the network does not forget the rest), a part of them is held
out to measure the change, and the temperature is refitted on MNIST's validation split. The MNIST
test split is never used here.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from digitize.errors import ConfigError, ModelError
from model.calibration import fit_temperature
from model.inference import Recognizer, load_config

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

MIN_CORRECTIONS = 10


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 4
    holdout: float = 0.25  # share of the corrections kept out of training, to measure the change
    replay: int = 4000  # MNIST training digits mixed in (0: corrections only)
    learning_rate: float = 3e-4
    batch_size: int = 64
    seed: int = 1


def split_holdout(n: int, fraction: float, seed: int) -> tuple[npt.NDArray[np.intp], ...]:
    """Disjoint train / held-out index arrays over ``n`` corrections (at least one of each)."""
    order = np.random.default_rng(seed).permutation(n)
    k = min(n - 1, max(1, round(n * fraction)))
    return np.sort(order[k:]), np.sort(order[:k])


def _accuracy(recognizer: Recognizer, x: F32, y: I64) -> float:
    return float((recognizer.predict_proba(x).argmax(1) == y).mean()) if len(y) else float("nan")


def finetune(
    x_extra: F32,
    y_extra: I64,
    out_dir: Path,
    *,
    cfg: FinetuneConfig = FinetuneConfig(),
    base: Path | None = None,
    replay_x: F32 | None = None,
    replay_y: I64 | None = None,
    val_x: F32 | None = None,
    val_y: I64 | None = None,
) -> dict[str, Any]:
    """Fine-tune the model at ``base`` (default: shipped) and write the result to ``out_dir``.

    ``x_extra``: corrections as MNIST-style (N, 28, 28) float32; ``replay_*``: digits mixed in
    (default: MNIST training split); ``val_*``: calibration digits (default: MNIST validation).
    Returns the report: counts and held-out accuracy before and after.
    """
    n = len(y_extra)
    if n < MIN_CORRECTIONS:
        raise ConfigError(f"{n} corrections is too few to learn from (need {MIN_CORRECTIONS})")
    base_cfg = load_config(base)
    if base_cfg.keras is None or not base_cfg.keras.is_file():
        raise ModelError(f"{base_cfg.path} names no Keras file to fine-tune")
    if replay_x is None or val_x is None:
        from model.training.data import load_mnist, to_unit

        data = load_mnist()
        rng = np.random.default_rng(cfg.seed)
        pick = rng.choice(len(data.y_train), size=min(cfg.replay, len(data.y_train)), replace=False)
        replay_x = to_unit(data.x_train[pick]) if replay_x is None else replay_x
        replay_y = data.y_train[pick] if replay_y is None else replay_y
        val_x = to_unit(data.x_val) if val_x is None else val_x
        val_y = data.y_val if val_y is None else val_y
    assert replay_y is not None and val_y is not None
    train_idx, hold_idx = split_holdout(n, cfg.holdout, cfg.seed)
    before = Recognizer(base_cfg.path, num_threads=1)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(cfg.seed)
    model = keras.models.load_model(base_cfg.keras, compile=False)
    x = np.concatenate([x_extra[train_idx], replay_x[: cfg.replay]])
    y = np.concatenate([y_extra[train_idx], replay_y[: cfg.replay]])
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    t0 = time.perf_counter()
    model.fit(x[..., None], y, epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=0)
    train_s = time.perf_counter() - t0
    logits = np.asarray(model.predict(val_x[..., None], batch_size=512, verbose=0), np.float32)
    temperature = fit_temperature(logits, val_y)

    from model.training.export import write_model

    report: dict[str, Any] = {
        "base": str(base_cfg.path),
        "corrections": n,
        "trained_on": len(train_idx),
        "held_out": len(hold_idx),
        "replay_digits": int(min(cfg.replay, len(replay_y))),
        "epochs": cfg.epochs,
        "train_s": round(train_s, 1),
        "temperature": temperature,
        "holdout_accuracy_before": _accuracy(before, x_extra[hold_idx], y_extra[hold_idx]),
        "val_accuracy_before": _accuracy(before, val_x, val_y),
    }
    cfg_path, _ = write_model(
        model,
        out_dir,
        temperature=temperature,
        classes=base_cfg.classes,
        metrics=dict(base_cfg.raw.get("metrics", {}), finetune=report),
        training=dict(base_cfg.raw.get("training", {}), finetuned_from=str(base_cfg.path)),
        check_images=val_x[:256],
    )
    after = Recognizer(cfg_path, num_threads=1)
    report["holdout_accuracy_after"] = _accuracy(after, x_extra[hold_idx], y_extra[hold_idx])
    report["val_accuracy_after"] = _accuracy(after, val_x, val_y)
    report["holdout_change"] = report["holdout_accuracy_after"] - report["holdout_accuracy_before"]
    report["model"] = str(cfg_path)
    written = json.loads(cfg_path.read_text())
    written["metrics"]["finetune"] = report  # the figures travel with the model
    cfg_path.write_text(json.dumps(written, indent=2) + "\n")
    return report
