"""Exports: corrections as training data, and the results as a spreadsheet.

``write_results_xlsx`` writes the wide table (``db.results.wide_rows``: one row per document, one
column per field) to an XLSX file, with a second sheet of the fields that still need review.

Corrections become training data: person-labelled digit crops written to a folder.

Layout (documented in docs/corrections.md, read by ``digitize train --extra DIR``)::

    DIR/crops/<label>/<digit_id>.png   the crop as scanned (greyscale, dark ink on light paper)
    DIR/labels.csv                     one row per crop (file, label, predicted, confidence, ...)
    DIR/labels.json                    the same rows plus format metadata
    DIR/mnist.npz                      x: (N, 28, 28) float32 MNIST-style crops, y: (N,) labels

Every digit whose ``corrected_value`` a person set (typed in field review, or confirmed in group
verification) is exported; ``changed`` says whether the person disagreed with the machine.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image
from sqlalchemy.orm import Session

from db.corrections import labelled_digits
from db.results import WIDE_COLUMNS, pending_rows, wide_rows
from segmentation.normalize import SIZE, to_mnist

FORMAT = "digitize-corrections/1"
COLUMNS = (
    "file",
    "label",
    "predicted",
    "confidence",
    "changed",
    "digit_id",
    "field_id",
    "field",
    "document_id",
    "source",
    "reviewer",
    "corrected_at",
)


@dataclass
class Row:
    file: str
    label: int
    predicted: int | None
    confidence: float
    changed: bool
    digit_id: int
    field_id: int
    field: str
    document_id: int
    source: str
    reviewer: str
    corrected_at: str


def crop_to_mnist(png: bytes) -> npt.NDArray[np.float32]:
    """A scanned crop (dark ink on paper) as a 28×28 MNIST-style array (white ink on black)."""
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.uint8)
    paper = float(np.median(grey))
    ink = np.clip(paper - grey.astype(np.float32), 0, 255).astype(np.uint8)
    if ink.max() == 0:
        return np.zeros((SIZE, SIZE), np.float32)
    otsu, _ = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink[ink < otsu * 0.5] = 0  # paper texture and JPEG noise out, stroke edges kept
    return to_mnist(ink)


def _clear_previous(out_dir: Path) -> None:
    """Remove an earlier export's crops (only when the folder really holds one of ours)."""
    meta = out_dir / "labels.json"
    if not meta.exists():
        return
    try:
        ours = json.loads(meta.read_text(encoding="utf-8")).get("format") == FORMAT
    except (ValueError, AttributeError):
        ours = False
    if ours and (out_dir / "crops").is_dir():
        shutil.rmtree(out_dir / "crops")


def export_corrections(db: Session, out_dir: Path, *, batch_id: int | None = None) -> int:
    """Write every person-labelled crop under ``out_dir``; returns how many."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous(out_dir)
    rows: list[Row] = []
    xs: list[npt.NDArray[np.float32]] = []
    for did, label, pred, conf, png, at, fid, fname, docid, source, who in labelled_digits(
        db, batch_id=batch_id
    ):
        if png is None or label is None:  # excluded by the query; keeps the types honest
            continue
        rel = Path("crops") / str(label) / f"{did}.png"
        (out_dir / rel.parent).mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_bytes(png)
        xs.append(crop_to_mnist(png))
        rows.append(
            Row(
                file=rel.as_posix(),
                label=int(label),
                predicted=pred,
                confidence=round(float(conf), 6),
                changed=pred != label,
                digit_id=did,
                field_id=fid,
                field=fname,
                document_id=docid,
                source=source,
                reviewer=who or "",
                corrected_at=at.isoformat() if at else "",
            )
        )
    with (out_dir / "labels.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow(asdict(r))
    meta = {
        "format": FORMAT,
        "count": len(rows),
        "crops": "PNG as scanned: greyscale, dark ink on light paper, any size",
        "mnist": "mnist.npz: x (N,28,28) float32 in [0,1], white ink on black; y (N,) int64",
        "items": [asdict(r) for r in rows],
    }
    (out_dir / "labels.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    x = np.stack(xs) if xs else np.zeros((0, SIZE, SIZE), np.float32)
    y = np.array([r.label for r in rows], dtype=np.int64)
    np.savez_compressed(out_dir / "mnist.npz", x=x, y=y)
    return len(rows)


def load_corrections(folder: Path) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Read an export back as MNIST-style ``x (N, 28, 28)`` and labels ``y (N,)``.

    Uses ``mnist.npz`` when present, else rebuilds it from ``labels.csv`` and the PNG crops (so
    a folder people edited by hand — a crop deleted, a label fixed — still loads).
    """
    npz = folder / "mnist.npz"
    csv_path = folder / "labels.csv"
    if npz.exists() and (not csv_path.exists() or npz.stat().st_mtime >= csv_path.stat().st_mtime):
        data = np.load(npz)
        return data["x"].astype(np.float32), data["y"].astype(np.int64)
    xs: list[npt.NDArray[np.float32]] = []
    ys: list[int] = []
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            crop = folder / row["file"]
            if crop.exists():
                xs.append(crop_to_mnist(crop.read_bytes()))
                ys.append(int(row["label"]))
    x = np.stack(xs) if xs else np.zeros((0, SIZE, SIZE), np.float32)
    return x, np.array(ys, dtype=np.int64)


#: The columns of the "needs review" sheet (keys of ``db.results.result_rows``).
PENDING_COLUMNS = (
    "document_id",
    "source",
    "page",
    "template",
    "field",
    "value",
    "confidence",
    "reasons",
)
MAX_WIDTH = 60


def _sheet(ws: Any, columns: list[str], rows: list[dict[str, Any]], text: set[str]) -> None:
    """Header in bold and frozen, then the rows; cells of the ``text`` columns are text (leading
    zeros kept). Strings never become formulas; widths fit the longest cell."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    widths = [len(c) for c in columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for r, row in enumerate(rows, start=2):
        for c, name in enumerate(columns, start=1):
            value = row.get(name, "")
            if isinstance(value, str) or name in text:
                value = ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # "=1+1" in a file name stays text
            if name in text:
                cell.number_format = "@"
            widths[c - 1] = max(widths[c - 1], len(str(value)))
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(width + 2, MAX_WIDTH)


def write_results_xlsx(results: dict[str, Any], path: Path) -> None:
    """The results (``db.results.query_results``) as an XLSX workbook at ``path``: sheet
    "results" one row per document with a column per field, sheet "needs review" the fields still
    waiting for a person. Written beside ``path`` and moved into place when complete."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "results"
    columns, rows = wide_rows(results)
    _sheet(ws, columns, rows, set(columns) - set(WIDE_COLUMNS))
    _sheet(wb.create_sheet("needs review"), list(PENDING_COLUMNS), pending_rows(results), {"value"})
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
