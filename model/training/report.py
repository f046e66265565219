"""Train, calibrate, export and report in one go: what ``digitize train`` runs.

Pictures (matplotlib, Agg): learning curves, the test confusion matrix, and a grid of the
misclassified test digits labelled true vs predicted.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model.calibration import softmax
from model.training.data import Mnist, load_mnist, to_unit
from model.training.export import write_model
from model.training.train import (
    CLASSES,
    History,
    ProgressFn,
    TrainConfig,
    calibrate_and_score,
    logits_of,
)
from model.training.train import train as train_model


def _load_avg() -> list[float] | None:
    try:
        return [round(v, 2) for v in __import__("os").getloadavg()]
    except OSError:
        return None


def plot_curves(hist: History, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = np.arange(1, len(hist.loss) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, hist.loss, label="train (augmented)")
    a.plot(ep, hist.val_loss, label="validation")
    a.set(xlabel="epoch", ylabel="loss", title="Loss")
    b.plot(ep, hist.accuracy, label="train (augmented)")
    b.plot(ep, hist.val_accuracy, label="validation (digits + fragments)")
    if hist.val_digit_accuracy:
        b.plot(ep, hist.val_digit_accuracy, label="validation digits (selects the epoch)")
    b.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion(y: npt.NDArray[np.integer], pred: npt.NDArray[np.integer], k: int) -> Any:
    m = np.zeros((k, k), np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def plot_confusion(m: npt.NDArray[np.int64], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(np.log1p(m), cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        if v:
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if i == j else "black",
            )
    ax.set_xticks(range(m.shape[1]), [c if len(c) == 1 else "∅" for c in CLASSES][: m.shape[1]])
    ax.set_yticks(range(m.shape[0]), [str(i) for i in range(m.shape[0])])
    ax.set(xlabel="predicted (∅ = not a digit)", ylabel="true", title="MNIST test confusion")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_errors(
    x: npt.NDArray[np.uint8], y: npt.NDArray[np.integer], probs: npt.NDArray[np.float32], path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred = probs.argmax(1)
    wrong = np.nonzero(pred != y)[0][:100]
    cols = 10
    rows = max(1, (len(wrong) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        ax.imshow(x[i], cmap="gray")
        p = "∅" if pred[i] == 10 else str(pred[i])
        ax.set_title(f"{y[i]}→{p} {probs[i, pred[i]]:.2f}", fontsize=8, color="crimson")
    fig.suptitle(f"Misclassified test digits: true→predicted (confidence); {len(wrong)} shown")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def train_and_export(
    cfg: TrainConfig,
    out_dir: Path,
    report_dir: Path,
    *,
    data: Mnist | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """The whole of ``digitize train``; returns the JSON report (also written to report_dir)."""
    t0 = time.perf_counter()
    load_before = _load_avg()
    data = data or load_mnist()
    model, hist, info = train_model(cfg, data, progress)
    train_s = time.perf_counter() - t0
    scores = calibrate_and_score(model, data, cfg)
    x_test = to_unit(data.x_test)
    probs = softmax(logits_of(model, x_test), scores["temperature"])
    metrics = {k: v for k, v in scores.items() if k != "temperature"}
    training = {
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "best_epoch": info["best_epoch"],
        "train_wall_s": round(train_s, 1),
    }
    cfg_path, diff = write_model(
        model,
        out_dir,
        temperature=scores["temperature"],
        classes=CLASSES,
        metrics=metrics,
        training=training,
        check_images=x_test[:2000],
    )
    report_dir.mkdir(parents=True, exist_ok=True)
    plot_curves(hist, report_dir / "learning_curves.png")
    m = confusion(data.y_test, probs.argmax(1), len(CLASSES))[:10]
    plot_confusion(m, report_dir / "confusion_matrix.png")
    plot_errors(data.x_test, data.y_test, probs, report_dir / "misclassified.png")
    report = {
        "model_config": str(cfg_path),
        **scores,
        "tflite_vs_keras_max_abs_diff": diff,
        "train_wall_s": round(train_s, 1),
        "total_wall_s": round(time.perf_counter() - t0, 1),
        "epoch_s": [round(s, 1) for s in hist.epoch_s],
        "load_average_before": load_before,
        "load_average_after": _load_avg(),
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "config": training,
        "history": asdict(hist),
        "pictures": ["learning_curves.png", "confusion_matrix.png", "misclassified.png"],
    }
    (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
