"""Fine-tuning on people's corrections: held out, measured, and really learned."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digitize.errors import ConfigError
from model.inference import Recognizer
from model.training.finetune import FinetuneConfig, finetune, split_holdout


@pytest.mark.parametrize("n", [10, 37, 400])
def test_holdout_split_is_disjoint_and_complete(n: int) -> None:
    train, hold = split_holdout(n, 0.25, seed=3)
    assert set(train).isdisjoint(hold)
    assert sorted([*train, *hold]) == list(range(n))
    assert len(hold) == round(n * 0.25)


def test_too_few_corrections_are_refused(tmp_path: Path) -> None:
    x = np.zeros((3, 28, 28), np.float32)
    with pytest.raises(ConfigError, match="too few"):
        finetune(x, np.zeros(3, np.int64), tmp_path)


@pytest.mark.slow
def test_corrections_change_what_the_model_reads(tmp_path: Path) -> None:
    """People say these 1s are 7s: after fine-tuning, held-out 1s read as 7 far more often."""
    with np.load(Path(__file__).parent / "data" / "mnist_sample.npz") as z:
        images, labels = z["images"].astype(np.float32) / 255, z["labels"].astype(np.int64)
    ones = images[labels == 1]
    others, other_labels = images[labels != 1], labels[labels != 1]
    x_extra = ones
    y_extra = np.full(len(ones), 7, np.int64)
    report = finetune(
        x_extra,
        y_extra,
        tmp_path / "tuned",
        cfg=FinetuneConfig(epochs=30, replay=0, learning_rate=3e-3, holdout=0.3, batch_size=16),
        replay_x=others[:0],
        replay_y=other_labels[:0],
        val_x=others[:200],
        val_y=other_labels[:200],
    )
    assert report["corrections"] == len(ones)
    assert report["held_out"] + report["trained_on"] == len(ones)
    assert report["holdout_accuracy_before"] < 0.2  # the shipped model reads them as 1
    assert report["holdout_accuracy_after"] > report["holdout_accuracy_before"] + 0.5
    tuned = Recognizer(Path(report["model"]))  # checksum and config written consistently
    assert tuned.predict_proba(ones[:4]).shape == (4, 11)
    written = json.loads(Path(report["model"]).read_text())
    assert written["metrics"]["finetune"]["holdout_change"] == pytest.approx(
        report["holdout_change"]
    )


@pytest.mark.slow
def test_train_extra_wires_the_corrections_folder(tmp_path: Path) -> None:
    """`digitize train --extra DIR` reads an export; too few corrections is a config error."""
    import subprocess
    import sys

    folder = tmp_path / "corrections"
    folder.mkdir()
    np.savez(folder / "mnist.npz", x=np.zeros((4, 28, 28), np.float32), y=np.arange(4))
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from digitize.cli import main; main()",
            "train",
            "--extra",
            str(folder),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == ConfigError.exit_code, proc.stderr
    assert "4 corrections is too few" in proc.stderr
