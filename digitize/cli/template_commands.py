"""``digitize template new`` (draft a template from a form) and ``digitize template check``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from digitize.cli import app
from digitize.errors import (
    BadInputError,
    ConfigError,
    DigitizeError,
    ProcessingFailedError,
    UsageError,
)
from digitize.settings import get_settings

if TYPE_CHECKING:
    from digitize.types import Page, PageResult

template_app = typer.Typer(
    help="Draft a form template and check it on filled scans.", no_args_is_help=True
)
app.add_typer(template_app, name="template")


def _pages(path: Path) -> list[Page]:
    from segmentation.loading import load_pages

    settings = get_settings()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read the file: {exc.strerror}", source=str(path)) from exc
    return load_pages(data, str(path), dpi=settings.pdf_dpi, max_pixels=settings.max_pixels)


def _write_picture(path: Path, picture: Any) -> None:
    import cv2

    if not cv2.imwrite(str(path), picture):
        raise ConfigError(f"cannot write the picture to {path}")


@template_app.command("new")
def template_new(
    blank: Path = typer.Argument(
        ..., help="Scan, photo, PDF (page 1) or rendering of the form, blank or filled."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for <name>.json and <name>.png."),
    name: str | None = typer.Option(None, "--name", help="Template name; default: file stem."),
    show: Path | None = typer.Option(
        None, "--show", help="Also write the form with the found fields drawn on it (PNG)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing template."),
) -> None:
    """Find a form's fields and write a template (names from captions with Tesseract, rules)."""
    from segmentation.template_draft import (
        blank_reference,
        draft,
        save_draft,
        tesseract_caption_reader,
    )
    from segmentation.template_pictures import draw_draft
    from segmentation.templates import load_template

    name = name or blank.stem
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise UsageError(f"--name {name!r} cannot be a file name")
    target = out / f"{name}.json"
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; choose another --name or --out, or give --force")
    grey = _pages(blank)[0].image
    reader = tesseract_caption_reader()
    result = draft(grey, name, f"{name}.png", read_caption=reader)
    fields: list[dict[str, Any]] = result.template["fields"]
    if not fields:
        raise BadInputError(
            "no fields found on the form (boxes, combs or lines to write digits on); "
            "is it the whole page, upright enough and sharp?",
            source=str(blank),
        )
    path = save_draft(out, result.template, blank_reference(grey, result.found))
    load_template(path)  # what was written loads as a template (a TemplateError otherwise)
    _print_draft(fields, captions=reader is not None)
    if show is not None:
        _write_picture(show, draw_draft(grey, fields))
    typer.echo(f"wrote {path} and {out / f'{name}.png'}")
    typer.echo(f"check it on filled scans: digitize template check {path} SCAN...")


def _print_draft(fields: list[dict[str, Any]], *, captions: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from segmentation.template_draft import rules_text

    table = Table(title=f"{len(fields)} fields found", title_justify="left")
    for column in ("name", "kind", "cells", "box (x y w h)", "rules"):
        table.add_column(column)
    for f in fields:
        cells = str(f["cells"]) if f.get("cells") else ""
        box = " ".join(str(v) for v in f["box"])
        table.add_row(f["name"], f["kind"], cells, box, rules_text(f) or "—")
    Console().print(table)
    if not captions:
        typer.echo(
            "(Tesseract is not installed: fields are named field_1, field_2, … in reading order)"
        )


@template_app.command("check")
def template_check(
    template: Path = typer.Argument(..., help="Template JSON (or a folder of them)."),
    scans: list[Path] = typer.Argument(..., help="Filled scans of the form."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for the <scan>.check.png pictures; default: the current folder "
        "(never beside the scans: a watched folder would take them for new scans).",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Model file; default: the shipped one."
    ),
) -> None:
    """Read filled scans with a template: where each field lands, what it reads, how sure."""
    from model.inference import get_recognizer
    from segmentation.template_pictures import draw_check
    from segmentation.templates import load_templates
    from worker.pipeline import POOR_REGISTRATION, read_page

    settings = get_settings()
    templates = load_templates([template])
    recognizer = get_recognizer(model or settings.model_path)
    folder = out if out is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    unregistered: list[str] = []
    failed = read = 0
    for scan in scans:
        try:
            pages = _pages(scan)
        except DigitizeError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            failed += 1
            continue
        read += len(pages)
        for page in pages:
            label = str(scan) if len(pages) == 1 else f"{scan}#{page.number}"
            result = read_page(page, templates, recognizer, settings)
            used = next((t for t in templates if t.name == result.template), None)
            stem = scan.stem if len(pages) == 1 else f"{scan.stem}-{page.number}"
            picture = folder / f"{stem}.check.png"
            _write_picture(
                picture, draw_check(page.image, used, result, poor_below=POOR_REGISTRATION)
            )
            if used is None:
                unregistered.append(label)
                typer.secho(
                    f"{label}: did not register against the template (no fit above the "
                    f"threshold); it would be read template-free. Picture: {picture}",
                    fg=typer.colors.RED,
                )
                continue
            _print_check(label, result, poor=POOR_REGISTRATION)
            typer.echo(f"picture: {picture}")
    if unregistered:
        raise ProcessingFailedError(
            f"{len(unregistered)} of {read} pages did not register against the template: "
            + ", ".join(unregistered)
        )
    if failed:
        raise typer.Exit(code=BadInputError.exit_code)


def _print_check(label: str, result: PageResult, *, poor: float) -> None:
    from rich.console import Console
    from rich.table import Table

    quality = result.registration_quality or 0.0
    verdict = "good fit" if quality >= poor else "POOR fit: every field needs review"
    typer.secho(
        f"{label}: template {result.template}, registration quality {quality:.3f} ({verdict})",
        fg=typer.colors.GREEN if quality >= poor else typer.colors.RED,
    )
    table = Table()
    for column in ("field", "value", "confidence", "review"):
        table.add_column(column)
    for f in result.fields:
        review = ", ".join(f.reasons) or ("yes" if f.needs_review else "")
        style = "red" if f.needs_review else "green"
        table.add_row(f.name, f.value or "—", f"{f.confidence:.3f}", review, style=style)
    Console().print(table)
