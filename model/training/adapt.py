"""Adapt the network to the page reader's own crops (``digitize adapt``).

``model.training.augment`` imitates what the reader hands the classifier (scanned, thresholded,
cut out of printed cells); this step uses the real thing. Forms are generated with MNIST
*training* digits (``model.training.synthetic``), read by the page reader with the current
model, and every digit of a field read at its true length gives a crop labelled with the digit
that was written. The network is then fine-tuned on those crops mixed into its usual epoch
(augmented training digits, 40 % page style, synthesised non-digits), with weight averaging, and
its temperature refitted on the validation digits clean and reader-style. Validation and test
digits are never written on these pages, so every held-out figure stays held out.

What it measured, and the rounds tried and not kept: docs/experiments.md.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from digitize.types import DigitClassifier

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

#: Page seeds start here: far from the benchmarks' (12345 on, 0 on), so no page layout repeats.
FIRST_SEED = 5_000_000


@dataclass(frozen=True)
class AdaptConfig:
    pages: int = 2000
    first_seed: int = FIRST_SEED
    chunk: int = 50  # pages per job of the harvest (the progress bar's step)
    workers: int = 2  # harvest processes, each with a one-thread classifier
    epochs: int = 3
    learning_rate: float = 5e-4  # cosine-decayed to 1 % over the run
    batch_size: int = 128
    ema: float = 0.999
    seed: int = 1
    threads: int = 2  # TensorFlow threads while fine-tuning
    #: Handwriting-font digits in the usual epoch, as ``digitize train`` has them (0: none).
    font_digits: int = 0
    #: Flagged 1s and crossed 7s in the usual epoch (``model.training.variants``; 0: none).
    variant_digits: int = 0


@dataclass
class Harvest:
    """Labelled reader crops; ``misread``: how many the reading model got wrong."""

    x: F32
    y: I64
    misread: int
    fields: int
    fields_used: int  # read at their true length

    @staticmethod
    def join(parts: Sequence[Harvest]) -> Harvest:
        return Harvest(
            np.concatenate([p.x for p in parts]) if parts else np.zeros((0, 28, 28), np.float32),
            np.concatenate([p.y for p in parts]) if parts else np.zeros(0, np.int64),
            sum(p.misread for p in parts),
            sum(p.fields for p in parts),
            sum(p.fields_used for p in parts),
        )


def field_crops(result: Any, values: dict[str, str]) -> Harvest:
    """Labelled crops of one read page: every digit of a field read at its true length, with the
    digit written there. ``result`` is ``read_page(..., keep_crops=True)``; ``values`` the truth."""
    assert result.crops is not None
    read = {f.name: f for f in result.fields}
    xs: list[F32] = []
    ys: list[int] = []
    misread = used = 0
    for name, truth in values.items():
        f = read.get(name)
        if f is None or len(f.digits) != len(truth):
            continue
        if any(d.row is None for d in f.digits):
            continue
        used += 1
        for ch, d in zip(truth, f.digits, strict=True):
            xs.append(result.crops[d.row])
            ys.append(int(ch))
            misread += d.value != int(ch)
    x = np.stack(xs).astype(np.float32) if xs else np.zeros((0, 28, 28), np.float32)
    return Harvest(x, np.array(ys, np.int64), misread, len(values), used)


def harvest_pages(source: Any, first_seed: int, pages: int, classifier: DigitClassifier) -> Harvest:
    """Read ``pages`` generated forms (seeds ``first_seed`` on) written with ``source``."""
    from digitize.settings import Settings
    from digitize.types import Page
    from model.training.synthetic import generated_forms
    from worker.pipeline import read_page

    settings = Settings()
    parts = []
    for k, sp, templates in generated_forms(source, pages, [first_seed]):
        page = Page(number=1, image=sp.image, source=f"adapt-{first_seed + k}")
        result = read_page(page, templates, classifier, settings, keep_crops=True)
        parts.append(field_crops(result, sp.values))
    return Harvest.join(parts)


def _harvest_job(base: str | None, first_seed: int, pages: int) -> Harvest:
    """One harvest job in a worker process: MNIST training digits, a one-thread classifier."""
    from model.inference import Recognizer
    from model.training.data import load_mnist
    from model.training.synthetic import DigitSource

    data = load_mnist()
    classifier = Recognizer(Path(base) if base else None, num_threads=1)
    return harvest_pages(DigitSource(data.x_train, data.y_train), first_seed, pages, classifier)


def harvest(
    cfg: AdaptConfig, base: Path | None = None, progress: Callable[[int, int], None] | None = None
) -> Harvest:
    """Crops of ``cfg.pages`` forms read in ``cfg.workers`` processes; ``progress(done, total)``."""
    starts = list(range(0, cfg.pages, cfg.chunk))
    parts: dict[int, Harvest] = {}
    done = 0
    ctx = multiprocessing.get_context("spawn")  # no TensorFlow or OpenMP state crosses a fork
    with ProcessPoolExecutor(max_workers=max(1, cfg.workers), mp_context=ctx) as pool:
        jobs = {
            pool.submit(
                _harvest_job,
                str(base) if base else None,
                cfg.first_seed + s,
                min(cfg.chunk, cfg.pages - s),
            ): s
            for s in starts
        }
        for job in as_completed(jobs):
            parts[jobs[job]] = job.result()
            done += min(cfg.chunk, cfg.pages - jobs[job])
            if progress:
                progress(done, cfg.pages)
    return Harvest.join([parts[s] for s in starts])  # in seed order: the same crops every run


def finetune_on_pages(
    crops: Harvest,
    cfg: AdaptConfig,
    base: Path | None = None,
    data: Any = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fine-tune the model at ``base`` on the crops mixed into its usual epoch; the averaged
    weights and per-epoch validation digit accuracy. ``progress(epoch, epochs, accuracy)``."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from model.inference import load_config
    from model.training.data import load_mnist
    from model.training.train import (
        TrainConfig,
        WeightAverage,
        build_sets,
        epoch_batches,
        logits_of,
    )

    try:
        tf.config.threading.set_intra_op_parallelism_threads(cfg.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started in this process: keep its threads
        pass
    keras.utils.set_random_seed(cfg.seed)
    data = data or load_mnist()
    train_cfg = TrainConfig(
        seed=cfg.seed, font_digits=cfg.font_digits, variant_digits=cfg.variant_digits
    )
    sets = build_sets(data, train_cfg)
    x_train, y_train = sets["train"]
    x_val = sets["val"][0][: len(data.y_val)]  # the digits (fragments follow them)
    base_cfg = load_config(base)
    if base_cfg.keras is None:
        from digitize.errors import ModelError

        raise ModelError(f"{base_cfg.path} names no Keras file to fine-tune")
    model = keras.models.load_model(base_cfg.keras, compile=False)
    per_epoch = len(x_train) + len(crops.y)
    steps = cfg.epochs * -(-per_epoch // cfg.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    ema = WeightAverage(cfg.ema) if cfg.ema > 0 else None

    class Average(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if ema is not None:
                ema.update(model)

    def val_accuracy() -> float:
        return float((logits_of(model, x_val).argmax(1) == data.y_val).mean())

    accuracy = [val_accuracy()]
    rng = np.random.default_rng([cfg.seed, 7])
    epoch_s: list[float] = []
    for epoch in range(cfg.epochs):
        t = time.perf_counter()
        xa, ya = epoch_batches(x_train, y_train, train_cfg, 1000 + epoch)
        x = np.concatenate([xa, crops.x[..., None]])
        y = np.concatenate([ya, crops.y])
        order = rng.permutation(len(y))
        model.fit(
            x[order],
            y[order],
            batch_size=cfg.batch_size,
            epochs=1,
            shuffle=False,
            callbacks=[Average()],
            verbose=0,
        )
        raw = ema.swap_in(model) if ema is not None else None
        accuracy.append(val_accuracy())
        epoch_s.append(round(time.perf_counter() - t, 1))
        if progress:
            progress(epoch + 1, cfg.epochs, accuracy[-1])
        if raw is not None and epoch + 1 < cfg.epochs:
            model.set_weights(raw)  # training goes on from the raw weights; the average is kept
    return model, {"val_digit_accuracy": accuracy, "epoch_s": epoch_s}


def adapt_and_export(
    cfg: AdaptConfig,
    out_dir: Path,
    base: Path | None = None,
    *,
    on_harvest: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[int, int, float], None] | None = None,
    crops: Harvest | None = None,
) -> dict[str, Any]:
    """The whole of ``digitize adapt``: harvest, fine-tune, calibrate, write; the report.
    ``crops``: reader crops harvested elsewhere (``bench/adapt_corpus.py``) instead of the forms."""
    import json

    from model.inference import load_config
    from model.training.data import load_mnist, to_unit
    from model.training.export import write_model
    from model.training.train import TrainConfig, calibrate_and_score

    t0 = time.perf_counter()
    base_cfg = load_config(base)
    if crops is None:
        crops = harvest(cfg, base_cfg.path, on_harvest)
    harvest_s = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "page_crops.npz", x=crops.x, y=crops.y)
    data = load_mnist()
    model, info = finetune_on_pages(crops, cfg, base_cfg.path, data, on_epoch)
    scores = calibrate_and_score(model, data, TrainConfig(seed=cfg.seed))
    figures = {
        "page_crops": len(crops.y),
        "page_crops_misread_before": crops.misread,
        "fields": crops.fields,
        "fields_used": crops.fields_used,
        "harvest_s": round(harvest_s, 1),
        "finetune_s": round(time.perf_counter() - t0 - harvest_s, 1),
        **info,
    }
    training = {
        **base_cfg.raw.get("training", {}),
        "adapted_from": {  # the model read the forms and was fine-tuned: which one
            "config": base_cfg.path.name,
            "tflite_sha256": base_cfg.raw.get("tflite_sha256"),
        },
        "adapt": {**asdict(cfg), **figures},
    }
    cfg_path, diff = write_model(
        model,
        out_dir,
        temperature=scores["temperature"],
        classes=base_cfg.classes,
        metrics={k: v for k, v in scores.items() if k != "temperature"},
        training=training,
        check_images=to_unit(data.x_test[:2000]),
    )
    report = {"model_config": str(cfg_path), **scores, **figures}
    report["tflite_vs_keras_max_abs_diff"] = diff
    (out_dir / "adapt_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
