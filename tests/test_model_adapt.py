"""Adapting the model to the reader's crops: the crops are the reader's, the labels the truth."""

from __future__ import annotations

import numpy as np
import pytest

from digitize.settings import Settings
from digitize.types import NOT_A_DIGIT
from model.training.adapt import AdaptConfig, Harvest, finetune_on_pages, harvest_pages
from model.training.data import Mnist
from model.training.synthetic import DigitSource, generated_forms

SEED, PAGES = 4242, 3


@pytest.fixture(scope="module")
def source(mnist_sample: tuple[np.ndarray, np.ndarray]) -> DigitSource:
    return DigitSource(*mnist_sample)


@pytest.fixture(scope="module")
def harvested(source: DigitSource, recognizer: object) -> Harvest:
    return harvest_pages(source, SEED, PAGES, recognizer)  # type: ignore[arg-type]


@pytest.mark.slow
def test_harvest_reads_the_pages_as_the_pipeline_does(
    harvested: Harvest, source: DigitSource, recognizer: object
) -> None:
    """Labels are the digits written in the fields the pipeline reads at their true length,
    and the crops it misreads there are the ones counted as misread."""
    import cv2

    from worker.pipeline import read_document

    labels: list[int] = []
    wrong = fields = used = 0
    for k, sp, templates in generated_forms(source, PAGES, [SEED]):
        png = cv2.imencode(".png", sp.image)[1].tobytes()
        (res,) = read_document(png, f"p{k}.png", templates, recognizer, Settings())  # type: ignore[arg-type]
        got = {f.name: f.value for f in res.fields}
        for name, truth in sp.values.items():
            fields += 1
            value = got.get(name, "")
            if len(value) == len(truth):
                used += 1
                labels += [int(c) for c in truth]
                wrong += sum(a != b for a, b in zip(truth, value, strict=True))
    assert harvested.fields == fields
    assert harvested.y.tolist() == labels
    assert harvested.misread == wrong
    assert harvested.fields_used == used
    assert harvested.x.shape == (len(labels), 28, 28)
    assert harvested.x.dtype == np.float32
    assert harvested.x.min() >= 0.0 and harvested.x.max() <= 1.0


def test_harvested_crops_are_the_classifier_inputs(harvested: Harvest, recognizer: object) -> None:
    """Re-reading the crops gives back the digits: they are the rows the reader classified."""
    pred = recognizer.predict_proba(harvested.x).argmax(axis=1)  # type: ignore[attr-defined]
    assert (pred == harvested.y).mean() > 0.95
    assert (pred != NOT_A_DIGIT).all() or (pred == NOT_A_DIGIT).mean() < 0.02


@pytest.mark.slow
def test_labels_are_the_truth_not_the_reading(
    harvested: Harvest, source: DigitSource, swapped_recognizer: object
) -> None:
    """A recognizer that reads 1 as 7 misreads more, and its crops still carry the truth."""
    swapped = harvest_pages(source, SEED, PAGES, swapped_recognizer)  # type: ignore[arg-type]
    assert swapped.misread > harvested.misread
    ones_sevens = np.isin(swapped.y, [1, 7])
    assert swapped.misread >= 0.8 * ones_sevens.sum()
    assert set(np.unique(swapped.y)) <= set(range(10))


@pytest.mark.slow
def test_finetuning_learns_the_harvested_crops(
    mnist_sample: tuple[np.ndarray, np.ndarray],
) -> None:
    """Crops of 1 labelled 7 (a stand-in for the reader's own crops) are learned: afterwards
    those 1s read as 7 far more often, and the validation curve is reported per epoch."""
    images, labels = mnist_sample
    train, val = slice(0, 300), slice(300, 400)
    data = Mnist(images[train], labels[train], images[val], labels[val], images[:0], labels[:0])
    ones = images[labels == 1].astype(np.float32) / 255
    crops = Harvest(np.repeat(ones, 20, axis=0), np.full(20 * len(ones), 7, np.int64), 0, 0, 0)
    cfg = AdaptConfig(
        epochs=2, learning_rate=3e-3, ema=0.0, batch_size=64, threads=1, font_digits=0
    )
    model, info = finetune_on_pages(crops, cfg, data=data)
    after = np.asarray(model.predict(ones[..., None], verbose=0)).argmax(axis=1)
    assert (after == 7).mean() > 0.8
    assert len(info["val_digit_accuracy"]) == cfg.epochs + 1
    assert len(info["epoch_s"]) == cfg.epochs
