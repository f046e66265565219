"""``digitize predict``: read the digits off any photo or scan, no form needed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import typer

from digitize.cli import app
from digitize.cli.output import document_stream
from digitize.errors import BadInputError, ConfigError, DigitizeError
from digitize.settings import get_settings


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _show_path(show: Path, index: int, count: int) -> Path:
    if count == 1:
        return show
    return show.with_name(f"{show.stem}-{index + 1}{show.suffix or '.png'}")


@app.command()
def predict(
    images: list[Path] = typer.Argument(..., help="Photos or scans (PNG, JPEG, TIFF, PDF, ...)."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.table, "--format", help="table for people, json for programs."
    ),
    show: Path | None = typer.Option(
        None, "--show", help="Write the image with boxes and predictions here (PNG)."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Model file; default: the shipped one."
    ),
) -> None:
    """Read handwritten digits off photos or scans, with a confidence per digit and string."""
    import cv2
    import numpy as np

    from model.inference import get_recognizer
    from segmentation.loading import load_pages
    from segmentation.photo_strings import Prediction, draw
    from worker.pipeline import read_photo

    settings = get_settings()
    recognizer = get_recognizer(model or settings.model_path)
    results: list[Prediction] = []
    drawings = []
    failed = 0
    for path in images:
        try:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise BadInputError(
                    f"cannot read the file: {exc.strerror}", source=str(path)
                ) from exc
            pages = load_pages(
                data, str(path), dpi=settings.pdf_dpi, max_pixels=settings.max_pixels
            )
        except DigitizeError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            failed += 1
            continue
        for page in pages:
            pred = read_photo(page, recognizer, settings)
            if len(pages) > 1:
                pred.source = f"{path}#{page.number}"
            results.append(pred)
            if show is not None:
                colour = None
                if len(pages) == 1:
                    colour = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if colour is None or colour.shape[:2] != page.image.shape:
                    colour = page.image
                drawings.append(draw(colour, pred))
    if output_format is OutputFormat.json:
        typer.echo(json.dumps([r.to_json() for r in results], indent=2), file=document_stream())
    else:
        _print_table(results)
    for i, picture in enumerate(drawings):
        target = _show_path(show, i, len(drawings)) if show is not None else None
        if target is not None and not cv2.imwrite(str(target), picture):
            raise ConfigError(f"cannot write the picture to {target}")
    if failed:
        raise typer.Exit(code=BadInputError.exit_code)


def _print_table(results: Sequence[object]) -> None:
    from rich.console import Console
    from rich.table import Table

    from segmentation.photo_strings import Prediction

    table = Table(title="Digits read")
    table.add_column("source")
    table.add_column("value", style="bold")
    table.add_column("confidence", justify="right")
    table.add_column("digits (value confidence)")
    for r in results:
        assert isinstance(r, Prediction)
        digits = "  ".join(f"{d.value} {d.confidence:.3f}" for s in r.strings for d in s.digits)
        table.add_row(r.source, r.value or "—", f"{r.confidence:.3f}", digits)
    Console().print(table)
