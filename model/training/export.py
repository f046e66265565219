"""Write the model as declared data: .keras, .tflite and the digits.json that vouches for both.

The .tflite is what the pipeline runs; it is checked against the Keras model on real digits
before it is written (the bar: probabilities within 1e-4), and its sha256 goes into the config
so a corrupt or swapped file is refused at load time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model.calibration import softmax
from model.inference import Recognizer, sha256_file

AGREEMENT_TOL = 1e-4
F32 = npt.NDArray[np.float32]


def to_tflite(model: Any) -> bytes:
    """Float32 conversion (no quantisation: it would break the 1e-4 agreement)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return bytes(converter.convert())


def write_model(
    model: Any,
    out_dir: Path,
    *,
    temperature: float,
    classes: list[str],
    metrics: dict[str, Any],
    training: dict[str, Any],
    check_images: F32,
    name: str = "digits",
) -> tuple[Path, float]:
    """Save the model trio into ``out_dir``; return the config path and the max |Δp| vs Keras."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        tfl = tmp_dir / f"{name}.tflite"
        tfl.write_bytes(to_tflite(model))
        ker = tmp_dir / f"{name}.keras"

        # Weights only: no optimizer state shipped. (``clone_model`` keeps a loaded-and-compiled
        # model's optimizer, nearly tripling the file; a model rebuilt from its config has none.)
        bare = type(model).from_config(model.get_config())
        bare.set_weights(model.get_weights())
        bare.save(ker)
        config = {
            "format": 1,
            "architecture": model.name,
            "tflite": tfl.name,
            "tflite_sha256": sha256_file(tfl),
            "keras": ker.name,
            "keras_sha256": sha256_file(ker),
            "input": {"size": [28, 28], "channels": 1, "dtype": "float32"},
            "normalisation": {
                "scale": 1.0,
                "offset": 0.0,
                "description": "MNIST-style crops (segmentation.normalize.to_mnist): "
                "white ink on black, values in [0, 1]",
            },
            "classes": classes,
            "temperature": temperature,
            "metrics": metrics,
            "training": training,
        }
        cfg = tmp_dir / f"{name}.json"
        cfg.write_text(json.dumps(config, indent=2) + "\n")
        ov = Recognizer(cfg, num_threads=1).predict_logits(check_images)
        keras_logits = np.asarray(model.predict(check_images[..., None], verbose=0), np.float32)
        diff = float(np.abs(softmax(ov, temperature) - softmax(keras_logits, temperature)).max())
        if diff > AGREEMENT_TOL:
            raise RuntimeError(f"OpenVINO and Keras disagree by {diff:.2e} > {AGREEMENT_TOL}")
        config["tflite_vs_keras_max_abs_diff"] = diff
        cfg.write_text(json.dumps(config, indent=2) + "\n")
        for f in (tfl, ker, cfg):
            shutil.move(f, out_dir / f.name)
    return out_dir / f"{name}.json", diff
