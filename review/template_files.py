"""Template files for the web editor: where they live, drafts from an uploaded blank form, saving.

Templates are found where the settings say (``templates``: files and folders) and in the editor's
own folder (``template_folder``), where saving writes ``<name>.json`` and the reference picture
``<name>.png`` beside it. A draft is an uploaded blank form waiting to become a template: its
picture and drafted JSON live in ``<folder>/.drafts/<id>.png|.json`` (not a template yet: loading a
folder reads only its own ``*.json``) until it is saved under a name.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from digitize.errors import BadInputError, InputTooLargeError, NotFoundError
from digitize.files import write_atomic
from digitize.settings import Settings
from segmentation.loading import load_pages, sniff

DRAFTS = ".drafts"
DRAFT_ID = re.compile(r"^[0-9a-f]{16}$")
#: A template's name is also its file name: letters, digits, ``_ . -``, a letter or digit first.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
#: The keys in the order a person reads them (others keep their place after these).
TEMPLATE_KEYS = ("name", "description", "version", "reference", "size", "fields")
FIELD_KEYS = ("name", "box", "kind", "cells", "pattern", "min_digits", "max_digits", "checksum")


@dataclass(frozen=True)
class Source:
    """What the editor has open: a saved template (by name) or a draft (by id)."""

    kind: Literal["template", "draft"]
    key: str


@dataclass(frozen=True)
class Entry:
    """A template file found where the settings point (``error``: why it does not parse)."""

    name: str
    path: Path
    in_folder: bool  # in the editor's folder (saving overwrites it) or elsewhere (saved as a copy)
    fields: int
    error: str | None = None


@dataclass(frozen=True)
class Draft:
    id: str
    name: str
    created: datetime


@dataclass(frozen=True)
class Problem:
    """One problem as the editor shows it: ``field`` is a field's name (None: the template)."""

    field: str | None
    key: str | None
    message: str


def template_folder(settings: Settings) -> Path:
    """Where the editor saves: ``template_dir``, else the first folder among ``templates``, else
    ``templates/`` in the working directory (beside the default SQLite database)."""
    if settings.template_dir is not None:
        return settings.template_dir.expanduser()
    for p in settings.templates:
        if p.expanduser().is_dir():
            return p.expanduser()
    return Path("templates")


def _json_files(settings: Settings) -> list[Path]:
    folder = template_folder(settings)
    out: list[Path] = []
    for p in [folder, *settings.templates]:
        p = p.expanduser()
        found = sorted(p.glob("*.json")) if p.is_dir() else [p] if p.is_file() else []
        out.extend(f for f in found if f.resolve() not in {o.resolve() for o in out})
    return out


def list_templates(settings: Settings) -> list[Entry]:
    """Every template file the settings and the editor's folder hold, by name (first one wins)."""
    folder = template_folder(settings).resolve()
    out: dict[str, Entry] = {}
    for path in _json_files(settings):
        in_folder = path.resolve().parent == folder
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            out.setdefault(path.stem, Entry(path.stem, path, in_folder, 0, f"unreadable: {exc}"))
            continue
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            out.setdefault(path.stem, Entry(path.stem, path, in_folder, 0, "no template name"))
            continue
        fields = data.get("fields")
        out.setdefault(name, Entry(name, path, in_folder, len(fields or [])))
    return sorted(out.values(), key=lambda e: e.name.lower())


def find_template(settings: Settings, name: str) -> Entry:
    for entry in list_templates(settings):
        if entry.name == name:
            return entry
    raise NotFoundError(f"no template named {name!r} where the settings point")


def _drafts_dir(settings: Settings) -> Path:
    return template_folder(settings) / DRAFTS


def _draft_paths(settings: Settings, draft_id: str) -> tuple[Path, Path]:
    if not DRAFT_ID.match(draft_id):
        raise NotFoundError(f"no draft {draft_id!r}")
    base = _drafts_dir(settings) / draft_id
    json_path, png_path = base.with_suffix(".json"), base.with_suffix(".png")
    if not json_path.is_file() or not png_path.is_file():
        raise NotFoundError(f"no draft {draft_id!r} (saved or deleted already?)")
    return json_path, png_path


def list_drafts(settings: Settings) -> list[Draft]:
    out = []
    for path in _drafts_dir(settings).glob("*.json"):
        if not DRAFT_ID.match(path.stem):
            continue
        try:
            name = str(json.loads(path.read_text(encoding="utf-8")).get("name", path.stem))
        except (OSError, ValueError, AttributeError):
            continue
        created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        out.append(Draft(path.stem, name, created))
    return sorted(out, key=lambda d: d.created, reverse=True)


def safe_name(text: str) -> str:
    """``text`` as a usable template name (a file stem): unsafe characters become ``_``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip()).strip("._-")[:80]
    return name or "form"


def _png(grey: npt.NDArray[np.uint8]) -> bytes:
    ok, buf = cv2.imencode(".png", grey)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 picture
        raise BadInputError("the picture could not be encoded as PNG")
    return bytes(buf.tobytes())


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def create_draft(settings: Settings, data: bytes, filename: str, name: str) -> str:
    """A draft from an uploaded picture of the form (PNG, JPEG, PDF: its first page); its id.

    As ``digitize template new`` does: fields found and named from their captions (Tesseract,
    when installed), and the reference kept to the form's print inside the found fields (a filled
    form works too)."""
    from segmentation.template_draft import blank_reference, draft, tesseract_caption_reader

    if len(data) > settings.max_file_bytes:
        raise InputTooLargeError(
            f"the file is over {settings.max_file_bytes} bytes", source=filename
        )
    pages = load_pages(data, filename, dpi=settings.pdf_dpi, max_pixels=settings.max_pixels)
    grey = pages[0].image
    name = safe_name(name or Path(filename).stem)
    drafted = draft(grey, name, f"{name}.png", read_caption=tesseract_caption_reader())
    draft_id = secrets.token_hex(8)
    base = _drafts_dir(settings) / draft_id
    write_atomic(base.with_suffix(".png"), _png(blank_reference(grey, drafted.found)))
    write_atomic(base.with_suffix(".json"), _dump(drafted.template))
    return draft_id


def delete_draft(settings: Settings, draft_id: str) -> None:
    for path in _draft_paths(settings, draft_id):
        path.unlink(missing_ok=True)


def open_source(settings: Settings, source: Source) -> dict[str, Any]:
    """The template JSON the editor starts from."""
    if source.kind == "draft":
        path = _draft_paths(settings, source.key)[0]
    else:
        entry = find_template(settings, source.key)
        if entry.error:
            raise BadInputError(f"{entry.path} cannot be edited here: {entry.error}")
        path = entry.path
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise BadInputError(f"{path} is not a JSON object")
    return data


def _reference_path(settings: Settings, source: Source) -> Path:
    if source.kind == "draft":
        return _draft_paths(settings, source.key)[1]
    entry = find_template(settings, source.key)
    data = open_source(settings, source)
    ref = data.get("reference")
    if not isinstance(ref, str) or not ref:
        raise NotFoundError(f"template {source.key!r} names no reference picture")
    path = entry.path.parent / ref
    if not path.is_file():
        raise NotFoundError(f"the reference picture {ref!r} of {source.key!r} is missing")
    return path


def reference_picture(settings: Settings, source: Source) -> tuple[bytes, str]:
    """The reference picture as a browser shows it: PNG/JPEG as stored, anything else as PNG."""
    path = _reference_path(settings, source)
    raw = path.read_bytes()
    kind = sniff(raw)
    if kind in ("png", "jpeg"):
        return raw, f"image/{kind}"
    return _png(_reference_grey(settings, path, raw)), "image/png"


def _reference_grey(
    settings: Settings, path: Path, raw: bytes | None = None
) -> npt.NDArray[np.uint8]:
    raw = path.read_bytes() if raw is None else raw
    return load_pages(raw, str(path), max_pixels=settings.max_pixels)[0].image


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """The JSON as saved: empty values dropped, keys in reading order."""

    def ordered(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        kept = {k: v for k, v in obj.items() if v is not None and v != ""}
        return {**{k: kept[k] for k in keys if k in kept}, **kept}

    out = ordered(data, TEMPLATE_KEYS)
    if isinstance(out.get("fields"), list):
        out["fields"] = [
            ordered(f, FIELD_KEYS) if isinstance(f, dict) else f for f in out["fields"]
        ]
    return out


def problems(settings: Settings, source: Source, data: dict[str, Any]) -> list[Problem]:
    """What stops ``data`` from being saved for ``source``: the template's own problems
    (``segmentation.templates.template_problems``), then the name as a file name."""
    from segmentation.templates import template_problems

    out = [Problem(p.field, p.key, p.message) for p in template_problems(_clean(data))]
    name = data.get("name")
    if isinstance(name, str) and name and not SAFE_NAME.match(name):
        out.append(
            Problem(None, "name", "the name is the file name too: use letters, digits, _ . - only")
        )
    elif isinstance(name, str) and name:
        clash = _clash(settings, source, name)
        if clash:
            out.append(Problem(None, "name", clash))
    return out


def _clash(settings: Settings, source: Source, name: str) -> str | None:
    """Why saving ``source`` as ``name`` would overwrite or shadow another template."""
    target = (template_folder(settings) / f"{name}.json").resolve()
    editing = (
        find_template(settings, source.key).path.resolve() if source.kind == "template" else None
    )
    for entry in list_templates(settings):
        if entry.path.resolve() == editing:
            continue
        if entry.name == name or entry.path.resolve() == target:
            return f"another template is called {name!r} ({entry.path}): choose another name"
    return None


@dataclass(frozen=True)
class Saved:
    path: Path
    name: str


def save(settings: Settings, source: Source, data: dict[str, Any]) -> Saved | list[Problem]:
    """Write ``data`` as ``<folder>/<name>.json`` with its reference as ``<name>.png`` when it
    has no problems (else the problems, nothing written). A saved draft is gone from the drafts."""
    ref_path = _reference_path(settings, source)
    grey = _reference_grey(settings, ref_path)
    name = data.get("name")
    fixed = {**data, "reference": f"{name}.png", "size": [grey.shape[1], grey.shape[0]]}
    found = problems(settings, source, fixed)
    if found:
        return found
    assert isinstance(name, str)
    folder = template_folder(settings)
    json_path, png_path = folder / f"{name}.json", folder / f"{name}.png"
    if png_path.resolve() != ref_path.resolve():
        write_atomic(png_path, _png(grey))
    write_atomic(json_path, _dump(_clean(fixed)))
    if source.kind == "draft":
        delete_draft(settings, source.key)
    return Saved(json_path, name)
