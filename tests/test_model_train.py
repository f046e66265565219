"""Smoke test of the whole training path on the committed sample (tiny, one epoch).

Not a quality test (the shipped model's figures are tested elsewhere): it checks that training,
calibration, conversion, the checksummed config and the report pictures all come out and load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model.training.data import Mnist


@pytest.mark.slow
def test_train_export_report_round_trip(
    mnist_sample: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    from model.inference import Recognizer
    from model.training.report import train_and_export
    from model.training.train import TrainConfig

    x, y = mnist_sample
    data = Mnist(x[:400], y[:400], x[400:], y[400:], x, y)
    cfg = TrainConfig(
        epochs=1, batch_size=64, val_fragments=20, test_fragments=40, threads=2, limit=400
    )
    report = train_and_export(cfg, tmp_path / "m", tmp_path / "r", data=data)
    assert report["temperature"] > 0 and report["tflite_vs_keras_max_abs_diff"] <= 1e-4
    saved = json.loads((tmp_path / "r" / "report.json").read_text())
    assert saved["test_accuracy"] == report["test_accuracy"]
    for pic in ("learning_curves.png", "confusion_matrix.png", "misclassified.png"):
        assert (tmp_path / "r" / pic).stat().st_size > 1000
    p = Recognizer(tmp_path / "m" / "digits.json").predict_proba(x[:5].astype(np.float32) / 255)
    assert p.shape == (5, 11)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)


@pytest.mark.slow
def test_label_smoothing_and_elastic_train(mnist_sample: tuple[np.ndarray, np.ndarray]) -> None:
    """The one-hot (smoothed) loss path trains and scores like the sparse one."""
    from model.training.train import TrainConfig, train

    x, y = mnist_sample
    data = Mnist(x[:400], y[:400], x[400:], y[400:], x, y)
    cfg = TrainConfig(
        epochs=2, batch_size=32, val_fragments=20, limit=400, label_smoothing=0.1, elastic=0.5
    )
    model, hist, _ = train(cfg, data=data)
    assert len(hist.loss) == 2 and all(np.isfinite(hist.loss))
    assert hist.loss[1] < hist.loss[0]
    assert hist.accuracy[-1] > 0.2  # the accuracy metric reads one-hot targets (chance: 0.09)
    assert model.output_shape == (None, 11)


def _kernel_norm(model: Any) -> float:
    return float(sum(np.sum(np.square(w.numpy())) for w in model.weights if w.name == "kernel"))


@pytest.mark.slow
def test_weight_decay_shrinks_kernels(mnist_sample: tuple[np.ndarray, np.ndarray]) -> None:
    """AdamW's decay pulls the kernels in; the same seeded run without it keeps them larger."""
    from model.training.train import TrainConfig, train

    x, y = mnist_sample
    data = Mnist(x[:400], y[:400], x[400:], y[400:], x, y)
    norms = {}
    for decay in (0.0, 5.0):
        cfg = TrainConfig(
            epochs=2, batch_size=32, val_fragments=20, limit=400, ema=0.0, weight_decay=decay
        )
        model, hist, _ = train(cfg, data=data)
        assert all(np.isfinite(hist.loss))
        norms[decay] = _kernel_norm(model)
    assert norms[5.0] < 0.9 * norms[0.0]


class _Weights:
    """Stands in for a Keras model's weight list (get/set), which is all WeightAverage touches."""

    def __init__(self, value: float) -> None:
        self.w = [np.full((2, 3), value, np.float32), np.full(4, value, np.float32)]

    def get_weights(self) -> list[np.ndarray]:
        return [a.copy() for a in self.w]

    def set_weights(self, ws: list[np.ndarray]) -> None:
        self.w = [a.copy() for a in ws]


def test_weight_average_follows_weights_and_swaps_back() -> None:
    from model.training.train import WeightAverage

    model = _Weights(0.0)
    avg = WeightAverage(0.99, every=2)
    assert avg.swap_in(model) is None  # nothing averaged yet: the model is left alone
    for step in range(400):
        model.set_weights([np.full_like(a, step) for a in model.get_weights()])
        avg.update(model)
    raw = avg.swap_in(model)
    assert raw is not None and float(raw[0][0, 0]) == 399.0
    mean = float(model.w[0][0, 0])
    # An average of the recent past: behind the last step, ahead of the plain mean (199.5).
    assert 300 < mean < 399
    assert np.allclose(model.w[1], mean)  # every tensor averaged alike
    model.set_weights(raw)
    assert float(model.w[0][0, 0]) == 399.0


class _JaxFitWeights(_Weights):
    """Like Keras under JAX during ``fit``: the model's variables are stale until synced."""

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.fit_state = [a.copy() for a in self.w]  # where fit's steps write
        self.syncs = 0

    def step(self, value: float) -> None:
        self.fit_state = [np.full_like(a, value) for a in self.fit_state]

    def jax_state_sync(self) -> None:
        self.syncs += 1
        self.w = [a.copy() for a in self.fit_state]


def test_weight_average_reads_jax_fit_state_not_stale_variables() -> None:
    from model.training.train import WeightAverage

    model = _JaxFitWeights(0.0)
    avg = WeightAverage(0.9, every=1)
    for step in range(1, 200):
        model.step(float(step))
        avg.update(model)
    assert model.syncs == 199  # synced before each read
    avg.swap_in(model)
    assert 180 < float(model.w[0][0, 0]) < 199  # the average of recent steps, not of the stale 0
