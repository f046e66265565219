"""Fast inference: the shipped model under OpenVINO, calibrated, without importing TensorFlow.

Importing TensorFlow costs seconds and hundreds of MB; OpenVINO reads the converted ``.tflite``
directly and runs it through oneDNN in a fraction of both. It replaced LiteRT (XNNPACK), which
fell under the 3× Keras bar on some 2-core CPUs; the network is compute-bound, so only a cheaper
network would raise that ratio (docs/experiments.md).

Precision is pinned to f32: on CPUs with AMX or AVX512-BF16 OpenVINO would otherwise compute in
bfloat16 and drift from the Keras model the figures were measured on.

The model file is declared data: ``weights/digits.json`` names the ``.tflite`` with its sha256,
input size, normalisation, classes and the calibration temperature, and loading refuses a file
that does not match.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from digitize.errors import ModelError
from digitize.types import NUM_CLASSES
from model.calibration import softmax

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_CONFIG = WEIGHTS_DIR / "digits.json"
CHUNK = 64  # bulk batches run in chunks of this size (as fast as 256 here; less memory)

F32 = npt.NDArray[np.float32]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelConfig:
    """What ``digits.json`` declares about the model file next to it."""

    path: Path  # the .json
    tflite: Path
    keras: Path | None
    sha256: str
    input_size: tuple[int, int]
    classes: list[str]
    scale: float
    offset: float
    temperature: float
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def config_path_for(path: Path | None) -> Path:
    """Accept the .json, the .tflite next to it, or a directory holding ``digits.json``."""
    if path is None:
        return DEFAULT_CONFIG
    path = Path(path)
    if path.is_dir():
        return path / "digits.json"
    return path if path.suffix == ".json" else path.with_suffix(".json")


def load_config(path: Path | None = None) -> ModelConfig:
    cfg_path = config_path_for(path)
    try:
        raw = json.loads(cfg_path.read_text())
    except FileNotFoundError as exc:
        raise ModelError(f"model config {cfg_path} is missing (run `digitize train`)") from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"model config {cfg_path} is unreadable: {exc}") from exc
    try:
        classes = [str(c) for c in raw["classes"]]
        h, w = (int(v) for v in raw["input"]["size"])
        norm = raw.get("normalisation", {})
        keras_name = raw.get("keras")
        cfg = ModelConfig(
            path=cfg_path,
            tflite=cfg_path.parent / str(raw["tflite"]),
            keras=cfg_path.parent / str(keras_name) if keras_name else None,
            sha256=str(raw["tflite_sha256"]),
            input_size=(h, w),
            classes=classes,
            scale=float(norm.get("scale", 1.0)),
            offset=float(norm.get("offset", 0.0)),
            temperature=float(raw.get("temperature", 1.0)),
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model config {cfg_path} lacks or mangles a field: {exc!r}") from exc
    if len(classes) != NUM_CLASSES:
        raise ModelError(f"{cfg_path}: {len(classes)} classes, the pipeline needs {NUM_CLASSES}")
    if not cfg.temperature > 0:
        raise ModelError(f"{cfg_path}: temperature must be positive, got {cfg.temperature}")
    return cfg


#: f32 keeps the figures those of the Keras model (see above); no pinning, because worker
#: processes each run one thread and pinning would put them all on the same core.
RUNTIME_CONFIG = {
    "INFERENCE_PRECISION_HINT": "f32",
    "PERFORMANCE_HINT": "LATENCY",
    "ENABLE_CPU_PINNING": False,
}


class Recognizer:
    """Scores normalised 28×28 crops: ``predict_proba`` gives calibrated (N, 11) probabilities.

    Thread-safe (one lock around the inference request); create one per process
    (``get_recognizer``).
    """

    def __init__(self, path: Path | None = None, *, num_threads: int | None = None) -> None:
        import openvino as ov

        self.config = load_config(path)
        tfl = self.config.tflite
        if not tfl.is_file():
            raise ModelError(f"model file {tfl} is missing")
        digest = sha256_file(tfl)
        if digest != self.config.sha256:
            raise ModelError(
                f"model file {tfl} does not match its config {self.config.path.name} "
                f"(sha256 {digest[:12]}…, expected {self.config.sha256[:12]}…)"
            )
        threads = num_threads or min(2, os.cpu_count() or 1)
        self.threads = threads
        h, w = self.config.input_size
        try:
            core = ov.Core()
            net = core.read_model(str(tfl))
            given = net.inputs[0].get_partial_shape()
            rank = given.rank.get_length()
            spatial = [d.get_length() if d.is_static else None for d in list(given)[1:3]]
            if rank not in (3, 4) or spatial != [h, w]:
                raise ModelError(f"{tfl} takes {given}, config says (N, {h}, {w})")
            self._shape = (h, w, 1) if rank == 4 else (h, w)
            net.reshape([-1, *self._shape])  # any batch size, one compiled model
            out = net.outputs[0].get_partial_shape()
            if out[-1].is_dynamic or out[-1].get_length() != NUM_CLASSES:
                raise ModelError(f"{tfl} gives {out}, config says {NUM_CLASSES} classes out")
            compiled = core.compile_model(
                net, "CPU", {**RUNTIME_CONFIG, "INFERENCE_NUM_THREADS": threads}
            )
        except RuntimeError as exc:
            raise ModelError(f"OpenVINO cannot load {tfl}: {exc}") from exc
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()

    @property
    def temperature(self) -> float:
        return self.config.temperature

    def _run(self, batch: F32) -> F32:
        result = self._request.infer({0: batch.reshape(len(batch), *self._shape)})
        return np.array(result[0], dtype=np.float32)  # a copy: the request reuses its buffer

    def predict_logits(self, crops: npt.ArrayLike) -> F32:
        """Uncalibrated logits (N, 11)."""
        x = np.asarray(crops, dtype=np.float32)
        h, w = self.config.input_size
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (h, w):
            raise ValueError(f"expected crops of shape (N, {h}, {w}), got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        if self.config.scale != 1.0 or self.config.offset != 0.0:
            x = x * np.float32(self.config.scale) + np.float32(self.config.offset)
        x = np.ascontiguousarray(x)
        with self._lock:
            if len(x) <= CHUNK:
                return self._run(x)
            parts = [self._run(x[i : i + CHUNK]) for i in range(0, len(x), CHUNK)]
        return np.concatenate(parts)

    def predict_proba(self, crops: npt.ArrayLike) -> F32:
        """Calibrated probabilities (N, 11); column 10 is "not a digit". Rows sum to 1."""
        return softmax(self.predict_logits(crops), self.config.temperature)


@lru_cache(maxsize=8)
def _cached(config_path: Path, pid: int) -> Recognizer:
    return Recognizer(config_path)


def get_recognizer(path: Path | None = None) -> Recognizer:
    """The process-wide recognizer for ``path`` (default: the shipped model), loaded once.

    Keyed by process id too: a compiled model must not be shared across a fork (Celery prefork).
    """
    return _cached(config_path_for(path).resolve(), os.getpid())
