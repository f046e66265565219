"""The shipped recognizer: declared data, calibrated probabilities, accuracy, no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitize.errors import ModelError
from digitize.types import NOT_A_DIGIT, NUM_CLASSES
from model.inference import Recognizer, get_recognizer, load_config
from model.training.fragments import make_fragments

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("n", [0, 1, 30, 257])
def test_probabilities_for_any_batch_size(
    recognizer: Recognizer, sample_crops: np.ndarray, n: int
) -> None:
    crops = np.concatenate([sample_crops] * 2)[:n]
    p = recognizer.predict_proba(crops)
    assert p.shape == (n, NUM_CLASSES) and p.dtype == np.float32
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_batching_does_not_change_answers(recognizer: Recognizer, sample_crops: np.ndarray) -> None:
    whole = recognizer.predict_proba(sample_crops)
    one_by_one = np.concatenate([recognizer.predict_proba(c[None]) for c in sample_crops[:40]])
    np.testing.assert_allclose(whole[:40], one_by_one, atol=1e-5)


def test_shipped_model_reads_the_sample(
    recognizer: Recognizer, mnist_sample: tuple[np.ndarray, np.ndarray], sample_crops: np.ndarray
) -> None:
    pred = recognizer.predict_proba(sample_crops).argmax(1)
    accuracy = float((pred == mnist_sample[1]).mean())
    assert accuracy >= 0.99, f"accuracy {accuracy:.3f} on the 500-digit test sample"
    assert (pred == NOT_A_DIGIT).sum() <= 2, "real digits rejected as not-a-digit"


def test_shipped_model_reads_crops_cut_the_readers_way(
    recognizer: Recognizer, mnist_sample: tuple[np.ndarray, np.ndarray]
) -> None:
    """The same test digits drawn large, thresholded and cut out by crop_ink + to_mnist."""
    from model.training.augment import page_style_batch

    x, y = mnist_sample
    crops = page_style_batch(x, np.random.default_rng(0))
    pred = recognizer.predict_proba(crops).argmax(1)
    accuracy = float((pred == y).mean())
    assert accuracy >= 0.98, f"accuracy {accuracy:.3f} on reader-style crops of the sample"


def test_fragments_are_rejected(
    recognizer: Recognizer, mnist_sample: tuple[np.ndarray, np.ndarray]
) -> None:
    frags, kinds = make_fragments(mnist_sample[0], 400, seed=987654)
    rejected = recognizer.predict_proba(frags).argmax(1) == NOT_A_DIGIT
    assert rejected.mean() >= 0.85, f"only {rejected.mean():.2%} of fragments rejected"
    for kind in ("speck", "line", "letter", "touching"):
        idx = [i for i, k in enumerate(kinds) if k == kind]
        assert rejected[idx].mean() >= 0.75, kind


def test_config_declares_the_model() -> None:
    cfg = load_config()
    assert cfg.input_size == (28, 28) and len(cfg.classes) == NUM_CLASSES
    assert cfg.classes[NOT_A_DIGIT] == "not-a-digit" and cfg.temperature > 0
    assert cfg.tflite.is_file() and cfg.keras is not None and cfg.keras.is_file()
    assert cfg.raw["metrics"]["test_accuracy"] >= 0.995
    assert cfg.raw["metrics"]["test_ece"] <= 0.01


def test_cached_once_per_process() -> None:
    assert get_recognizer() is get_recognizer()
    assert get_recognizer() is get_recognizer(load_config().tflite)


def test_wrong_shape_is_refused(recognizer: Recognizer) -> None:
    with pytest.raises(ValueError, match="28"):
        recognizer.predict_proba(np.zeros((3, 32, 32), np.float32))


def test_corrupt_model_file_is_refused(weights_copy: Path) -> None:
    tfl = weights_copy / "digits.tflite"
    blob = bytearray(tfl.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    tfl.write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="sha256"):
        Recognizer(weights_copy / "digits.json")


def test_config_that_does_not_match_is_refused(weights_copy: Path) -> None:
    cfg_path = weights_copy / "digits.json"
    cfg = json.loads(cfg_path.read_text())
    classes = cfg["classes"]
    cfg["classes"] = classes[:10]
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="classes"):
        Recognizer(cfg_path)
    cfg["classes"] = classes
    cfg["input"]["size"] = [32, 32]  # the network itself takes 28×28
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="config says"):
        Recognizer(cfg_path)
    del cfg["tflite_sha256"]
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="tflite_sha256"):
        Recognizer(cfg_path)


def test_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing"):
        Recognizer(tmp_path / "nothing.json")


def test_inference_path_never_imports_tensorflow() -> None:
    code = (
        "import sys, numpy as np\n"
        "from model.inference import get_recognizer\n"
        "p = get_recognizer().predict_proba(np.zeros((2, 28, 28), np.float32))\n"
        "print(p.shape, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.split() == ["(2,", "11)", "False", "False"]


@pytest.mark.slow
def test_runtime_matches_keras(sample_crops: np.ndarray) -> None:
    import keras

    from model.calibration import softmax

    rec = get_recognizer()
    km = keras.models.load_model(rec.config.keras, compile=False)
    keras_p = softmax(np.asarray(km.predict(sample_crops[..., None], verbose=0)), rec.temperature)
    assert np.abs(rec.predict_proba(sample_crops) - keras_p).max() <= 1e-4
