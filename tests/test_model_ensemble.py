"""``model.training.ensemble``: members joined into one model file that reads like one network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitize.errors import ModelError
from model.calibration import softmax
from model.inference import Recognizer
from model.training.ensemble import combine, load_members
from model.training.export import write_model
from model.training.network import build_model

pytestmark = pytest.mark.slow


def _members() -> list[object]:
    import keras

    keras.utils.set_random_seed(7)
    return [build_model((4, 8), dense=16), build_model((4, 8), dense=16)]


def test_the_joined_logits_are_the_weighted_mean_of_the_members_calibrated_logits() -> None:
    members = _members()
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    joined = combine(members, [2.0, 0.5])
    a, b = (np.asarray(m(x, training=False)) for m in members)  # type: ignore[operator]
    np.testing.assert_allclose(
        np.asarray(joined(x, training=False)), (a / 2.0 + b / 0.5) / 2, atol=1e-5
    )
    assert joined.name.startswith("ensemble2-")
    with pytest.raises(ValueError, match="two or more"):
        combine(members[:1], [1.0])
    weighted = combine(members, [2.0, 0.5], [3.0, 1.0])
    np.testing.assert_allclose(
        np.asarray(weighted(x, training=False)), 0.75 * a / 2.0 + 0.25 * b / 0.5, atol=1e-5
    )
    with pytest.raises(ValueError, match="positive weight"):
        combine(members, [1.0, 1.0], [1.0, 0.0])


def test_the_joined_model_is_written_and_served_like_a_trained_one(tmp_path: Path) -> None:
    members = _members()
    x = np.random.default_rng(1).random((64, 28, 28), dtype=np.float32)
    classes = [str(d) for d in range(10)] + ["not-a-digit"]
    paths = []
    for i, m in enumerate(members):
        cfg, _ = write_model(
            m,
            tmp_path / f"m{i}",
            temperature=1.0 + i,
            classes=classes,
            metrics={},
            training={},
            check_images=x,
        )
        paths.append(cfg)
    models, configs = load_members(paths)
    joined = combine(models, [c.temperature for c in configs])
    cfg, diff = write_model(
        joined,
        tmp_path / "joined",
        temperature=1.0,
        classes=classes,
        metrics={},
        training={},
        check_images=x,
    )
    assert diff < 1e-4
    singles = [Recognizer(p, num_threads=1).predict_logits(x) for p in paths]
    expected = softmax((singles[0] / 1.0 + singles[1] / 2.0) / 2)
    np.testing.assert_allclose(Recognizer(cfg, num_threads=1).predict_proba(x), expected, atol=1e-5)


def test_a_member_without_its_keras_file_is_refused(tmp_path: Path) -> None:
    x = np.zeros((4, 28, 28), np.float32)
    classes = [str(d) for d in range(10)] + ["not-a-digit"]
    cfg, _ = write_model(
        _members()[0],
        tmp_path,
        temperature=1.0,
        classes=classes,
        metrics={},
        training={},
        check_images=x,
    )
    (tmp_path / "digits.keras").unlink()
    with pytest.raises(ModelError, match="Keras model file"):
        load_members([cfg, cfg])
