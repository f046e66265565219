"""Write a set of generated 'photos of handwritten digits' (JPEG) with labels.json.

The committed test set (tests/data/photos/) was made with the defaults::

    python bench/make_photos.py tests/data/photos --count 60 --seed 7

Digits come from the committed MNIST *test* sample (tests/data/mnist_sample.npz) unless
``--full-test`` asks for all 10,000 test digits (needs model.training.data's MNIST sources).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.photos import encode_jpeg, make_set


def digits(full_test: bool) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """MNIST test digits: the committed sample, or the whole test split."""
    if full_test:
        from model.training.data import load_mnist

        m = load_mnist()
        return m.x_test, m.y_test
    from model.training.data import load_sample

    return load_sample()


def write_set(out: Path, count: int, seed: int, *, full_test: bool = False) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    images, labels = digits(full_test)
    rng = np.random.default_rng(seed + 1)
    index: dict[str, str] = {}
    for k, photo in enumerate(make_set(images, labels, count, seed)):
        name = f"photo_{k:03d}{'_inv' if photo.inverted else ''}.jpg"
        (out / name).write_bytes(encode_jpeg(photo.image, rng))
        index[name] = photo.label
    (out / "labels.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--full-test", action="store_true", help="draw from all 10k test digits")
    args = ap.parse_args()
    index = write_set(args.out, args.count, args.seed, full_test=args.full_test)
    size = sum((args.out / n).stat().st_size for n in index)
    print(f"{len(index)} photos, {size / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
