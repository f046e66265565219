"""Fixtures for the model tests: the committed MNIST sample and the shipped recognizer."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

SAMPLE = Path(__file__).resolve().parent / "data" / "mnist_sample.npz"


@pytest.fixture(scope="session")
def mnist_sample() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """500 MNIST test-split digits: uint8 (N, 28, 28) white on black, and their labels."""
    with np.load(SAMPLE) as z:
        return z["images"].astype(np.uint8), z["labels"].astype(np.int64)


@pytest.fixture(scope="session")
def sample_crops(mnist_sample: tuple[np.ndarray, np.ndarray]) -> npt.NDArray[np.float32]:
    """The sample as classifier input: float32 (N, 28, 28) in [0, 1]."""
    return mnist_sample[0].astype(np.float32) / 255


@pytest.fixture(scope="session")
def recognizer():  # type: ignore[no-untyped-def]
    """The shipped model under OpenVINO (loaded once per test session)."""
    from model.inference import get_recognizer

    return get_recognizer()


class SwapsOneAndSeven:
    """Fault injection: a recognizer with classes 1 and 7 exchanged."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        p = self.inner.predict_proba(crops).copy()  # type: ignore[attr-defined]
        p[:, [1, 7]] = p[:, [7, 1]]
        return p


@pytest.fixture(scope="session")
def swapped_recognizer(recognizer: object) -> SwapsOneAndSeven:
    """The shipped recognizer reading every 1 as 7 and every 7 as 1."""
    return SwapsOneAndSeven(recognizer)


@pytest.fixture
def weights_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped weights directory, safe to corrupt."""
    from model.inference import WEIGHTS_DIR

    dst = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, dst)
    return dst
