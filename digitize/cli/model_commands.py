"""``digitize train`` and ``digitize evaluate``: make the classifier and score it on MNIST test."""

from __future__ import annotations

import contextlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from digitize.cli import app
from digitize.cli.output import document_stream
from digitize.settings import get_settings
from model.training.network import PLAIN_LAYERS


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def train(
    out: Path = typer.Option(
        Path("out/model"),
        "--out",
        help="Model directory (use model/weights to replace the shipped one).",
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Report directory (JSON + pictures); default: OUT/report."
    ),
    epochs: int = typer.Option(26, min=1, help="Epochs: the main knob for the time budget."),
    font_digits: int = typer.Option(
        0,
        min=0,
        help="Digits drawn in handwriting fonts (fetched with npm) added to the training set "
        "(e.g. 12000 with --epochs 22; not shipped, docs/experiments.md).",
    ),
    variant_digits: int = typer.Option(
        0, min=0, help="Flagged 1s and crossed 7s drawn on training digits, added to the set."
    ),
    dropout: float = typer.Option(0.25, min=0.0, max=0.9, help="Dropout after each block."),
    seed: int = typer.Option(1, help="Seed for weights, shuffling, augmentation and fragments."),
    batch_size: int = typer.Option(128, min=8),
    page_style: float = typer.Option(
        0.4,
        min=0.0,
        max=1.0,
        help="Share of each epoch cut out the way the page reader cuts (binarised, stroke-evened).",
    ),
    elastic: float = typer.Option(
        0.0,
        min=0.0,
        max=1.0,
        help="Share of each epoch given a random elastic distortion (Simard et al. 2003).",
    ),
    neighbour: float = typer.Option(
        0.0,
        min=0.0,
        max=1.0,
        help="Share of reader-style digits drawn with a touching neighbour's edge beside them.",
    ),
    label_smoothing: float = typer.Option(
        0.0, min=0.0, max=0.5, help="Share of each target spread over the other classes."
    ),
    weight_decay: float = typer.Option(
        0.0, min=0.0, max=1.0, help="AdamW's decoupled weight decay (0: plain Adam)."
    ),
    widths: str = typer.Option(
        "16,32", help="Channels of the two convolution blocks (speed against accuracy)."
    ),
    separable_from: int = typer.Option(
        PLAIN_LAYERS,
        min=0,
        max=PLAIN_LAYERS,
        help=f"First of the {PLAIN_LAYERS} convolutions made depthwise-separable "
        f"({PLAIN_LAYERS}: none): wider for the same cost.",
    ),
    threads: int = typer.Option(2, min=1, help="CPU threads for TensorFlow."),
    ema: float = typer.Option(
        0.999,
        min=0.0,
        max=0.99999,
        help="Weight averaging: decay per step of the average that is selected (0: off).",
    ),
    limit: int | None = typer.Option(None, min=100, help="Train on the first N digits only."),
    extra: Path | None = typer.Option(
        None,
        "--extra",
        exists=True,
        file_okay=False,
        help="Corrections folder (digitize export-corrections): fine-tune the shipped model on "
        "them instead of training from scratch; a part is held out to report the change.",
    ),
) -> None:
    """Train the digit CNN from scratch on MNIST (seeded), calibrate, convert and report.

    With ``--extra DIR``: fine-tune the current model on people's corrections.
    """
    if extra is not None:
        _finetune(extra, out, seed)
        return
    from rich.console import Console
    from rich.progress import Progress

    from model.training.report import train_and_export
    from model.training.train import TrainConfig

    console = Console(stderr=True)
    cfg = TrainConfig(
        epochs=epochs,
        font_digits=font_digits,
        variant_digits=variant_digits,
        seed=seed,
        batch_size=batch_size,
        threads=threads,
        limit=limit,
        dropout=dropout,
        page_style=page_style,
        elastic=elastic,
        neighbour=neighbour,
        label_smoothing=label_smoothing,
        weight_decay=weight_decay,
        widths=_widths(widths),
        separable_from=separable_from,
        ema=ema,
    )
    out.mkdir(parents=True, exist_ok=True)
    cfg.checkpoint = str(out / "checkpoint.weights.h5")
    with Progress(*_progress_columns(), console=console) as bar:
        task = bar.add_task("loading MNIST", total=None, stats="")

        def progress(
            n_epochs: int, epoch: int, batch: int, n_batches: int, logs: dict[str, float]
        ) -> None:
            stats = f"loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f}"
            if batch == n_batches and not console.is_terminal:  # a log file gets one line per epoch
                console.print(f"epoch {epoch + 1}/{n_epochs} {stats}", highlight=False)
            bar.update(
                task,
                description=f"epoch {epoch + 1}/{n_epochs}",
                total=n_epochs * n_batches,
                completed=epoch * n_batches + batch,
                stats=stats,
            )

        result = train_and_export(cfg, out, report or out / "report", progress=progress)
    keys = (
        "test_accuracy",
        "test_ece",
        "test_false_reject_rate",
        "heldout_fragment_reject_rate",
        "temperature",
        "train_wall_s",
        "tflite_vs_keras_max_abs_diff",
    )
    for k in keys:
        console.print(f"{k:>30}: {result[k]}")
    console.print(f"model: {result['model_config']}  report: {(report or out / 'report')}")


def _progress_columns() -> tuple[Any, ...]:
    """A bar with a count, a line of figures (the task's ``stats``), time spent and left."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


def _widths(text: str) -> tuple[int, int]:
    try:
        first, second = (int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter("two channel counts, e.g. 16,32", param_hint="--widths") from None
    if min(first, second) < 1:
        raise typer.BadParameter("channel counts must be positive", param_hint="--widths")
    return first, second


def _weights(text: str, members: int) -> list[float]:
    try:
        shares = [float(part) for part in text.split(",")]
    except ValueError:
        raise typer.BadParameter("numbers, e.g. 2,1", param_hint="--weights") from None
    if len(shares) != members or min(shares) <= 0:
        raise typer.BadParameter(
            f"one positive weight for each of the {members} models", param_hint="--weights"
        )
    return shares


def _finetune(extra: Path, out: Path, seed: int) -> None:
    from model.training.finetune import FinetuneConfig, finetune
    from review.export import load_corrections

    x, y = load_corrections(extra)
    typer.echo(f"fine-tuning on {len(y)} corrections from {extra} …", err=True)
    with contextlib.redirect_stdout(sys.stderr):  # the converter talks on stdout; JSON goes there
        report = finetune(x, y, out, cfg=FinetuneConfig(seed=seed), base=get_settings().model_path)
    typer.echo(json.dumps(report, indent=2))
    change = report["holdout_change"] * 100
    typer.echo(
        f"held-out corrections: {report['holdout_accuracy_before']:.1%} -> "
        f"{report['holdout_accuracy_after']:.1%} ({change:+.1f} points); model: {report['model']}",
        err=True,
    )


@app.command()
def evaluate(
    output_format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    model: Path | None = typer.Option(
        None, "--model", help="Model (.json/.tflite); default: shipped."
    ),
    sample: bool = typer.Option(
        False, "--sample", help="Use the committed 500-digit test sample instead of the full 10k."
    ),
) -> None:
    """Score the model as the pipeline runs it (OpenVINO) on the 10,000 MNIST test images."""
    from model.training.data import load_mnist, load_sample
    from model.training.evaluate import evaluate as run_evaluate

    if sample:
        images, labels = load_sample()
    else:
        data = load_mnist()
        images, labels = data.x_test, data.y_test
    res = run_evaluate(images, labels, model_path=model or get_settings().model_path)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(res, indent=2), file=document_stream())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"model {res['model']}  ({res['n']} test digits)")
    summary = Table(show_header=False)
    summary.add_row("accuracy", f"{res['accuracy']:.4%}  ({res['errors']} errors)")
    summary.add_row("expected calibration error", f"{res['ece']:.4%}")
    summary.add_row("digits rejected as not-a-digit", f"{res['false_reject_rate']:.3%}")
    if "fragment_reject_rate" in res:
        summary.add_row("held-out fragments rejected", f"{res['fragment_reject_rate']:.2%}")
    summary.add_row("temperature", f"{res['temperature']:.3f}")
    console.print(summary)
    per = Table("class", "precision", "recall", "support")
    for c, v in res["per_class"].items():
        per.add_row(c, f"{v['precision']:.4f}", f"{v['recall']:.4f}", str(v["support"]))
    console.print(per)


@app.command()
def ensemble(
    members: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, help="Two or more model configs (digits.json) to join."
    ),
    out: Path = typer.Option(Path("out/ensemble"), "--out", help="Folder for the joined model."),
    weights: str | None = typer.Option(
        None, "--weights", help="One positive weight per member, e.g. 2,1 (default: equal)."
    ),
    seed: int = typer.Option(1, help="Seed of the reader-style validation crops (calibration)."),
) -> None:
    """Join trained models into one: each reads every crop, their calibrated logits averaged.

    The joined model is calibrated on the validation digits and written like a trained one
    (``model.training.ensemble``); point ``DIGITIZE_MODEL_PATH`` at it or copy it to model/weights.
    """
    if len(members) < 2:
        raise typer.BadParameter("give two or more models", param_hint="MEMBERS")
    from model.training.ensemble import build_ensemble

    shares = _weights(weights, len(members)) if weights else None
    with contextlib.redirect_stdout(sys.stderr):  # the converter talks on stdout
        report = build_ensemble(members, out, weights=shares, seed=seed)
    typer.echo(json.dumps(report, indent=2), file=document_stream())


@app.command()
def adapt(
    out: Path = typer.Option(
        Path("out/model"), "--out", help="Folder for the adapted model and its report."
    ),
    pages: int = typer.Option(2000, min=10, help="Generated forms to read for crops."),
    epochs: int = typer.Option(3, min=1, help="Fine-tuning epochs."),
    learning_rate: float = typer.Option(5e-4, min=0.0, help="Starting learning rate (cosine)."),
    workers: int = typer.Option(2, min=1, help="Processes reading the forms."),
    threads: int = typer.Option(2, min=1, help="CPU threads for TensorFlow."),
    first_seed: int = typer.Option(
        5_000_000, min=0, help="Seed of the first form (another round: other forms)."
    ),
    font_digits: int = typer.Option(
        0, min=0, help="Handwriting-font digits in the usual epoch (digitize train --font-digits)."
    ),
    variant_digits: int = typer.Option(
        0, min=0, help="Flagged 1s and crossed 7s in the usual epoch (digitize train)."
    ),
) -> None:
    """Fine-tune the current model on the page reader's own crops of MNIST training digits.

    Writes forms with training digits, reads them as the pipeline does, and fine-tunes on the
    crops of every field read at its true length (``model.training.adapt``). The test digits are
    only scored at the end.
    """
    from rich.console import Console
    from rich.progress import Progress

    from model.training.adapt import AdaptConfig, adapt_and_export

    console = Console(stderr=True)
    cfg = AdaptConfig(
        pages=pages,
        epochs=epochs,
        learning_rate=learning_rate,
        workers=workers,
        threads=threads,
        first_seed=first_seed,
        font_digits=font_digits,
        variant_digits=variant_digits,
    )
    with Progress(*_progress_columns(), console=console) as bar:
        reading = bar.add_task("reading forms", total=pages, stats="")
        tuning = bar.add_task("fine-tuning", total=epochs, stats="", start=False)

        def on_harvest(done: int, total: int) -> None:
            if not console.is_terminal and (done == total or done % 500 == 0):
                console.print(f"read {done}/{total} forms", highlight=False)  # a log file's line
            bar.update(reading, completed=done)

        def on_epoch(epoch: int, total: int, accuracy: float) -> None:
            if not console.is_terminal:
                console.print(f"epoch {epoch}/{total} validation digits {accuracy:.4f}")
            bar.start_task(tuning)
            bar.update(tuning, completed=epoch, stats=f"validation digits {accuracy:.4f}")

        result = adapt_and_export(
            cfg, out, get_settings().model_path, on_harvest=on_harvest, on_epoch=on_epoch
        )
    for k in (
        "page_crops",
        "page_crops_misread_before",
        "val_digit_accuracy",
        "val_page_style_accuracy",
        "test_accuracy",
        "heldout_fragment_reject_rate",
        "temperature",
        "harvest_s",
        "finetune_s",
    ):
        console.print(f"{k:>30}: {result[k]}")
    console.print(f"model: {result['model_config']}")
