"""``digitize bench``: speed figures, one section per stage, merged into one JSON object."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from digitize.cli import app
from digitize.cli.output import document_stream


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def bench(
    output_format: OutputFormat = typer.Option(OutputFormat.table, "--format"),
    quick: bool = typer.Option(
        False, "--quick", help="Fewer items and repeats (seconds, not minutes)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON here."),
    only: list[str] | None = typer.Option(
        None, "--section", help="Run only these sections (repeatable); default: all."
    ),
) -> None:
    """Measure throughput and latency on this machine (medians over repeats)."""
    from bench.sections import HEADLINE, SECTIONS

    known = [name for name, _ in SECTIONS]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown section {unknown}; known: {known}")
    chosen = [(n, f) for n, f in SECTIONS if not only or n in only]
    result: dict[str, Any] = {"cpus": os.cpu_count(), "quick": quick}
    for name, fn in chosen:
        section = fn(quick)
        result[name] = section
        if name in HEADLINE:
            result = {**section, **result}
    text = json.dumps(result, indent=2)
    if out:
        out.write_text(text + "\n")
    if output_format is OutputFormat.json:
        typer.echo(text, file=document_stream())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("section", "figure", "value")
    for name, _ in chosen:
        for k, v in result[name].items():
            table.add_row(name, k, str(v))
    Console().print(table)
