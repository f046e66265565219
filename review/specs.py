"""What the form says about a field (kind, comb cells, how many digits), for the review page.

Templates are stored per batch (``batches.templates``: packed JSON + reference files in storage,
or local paths; ``[]`` means the configured defaults, as ``worker.pipeline.templates_for_batch``
reads them). Only the template JSON is read here, never the reference picture: the page needs the
field's shape, not registration. Parsed specs are cached (packed templates are content-addressed,
so a cache entry never goes stale; local files are keyed by their modification time).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db import review_queue as rq
from db.storage import get_storage
from digitize.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldInfo:
    """The part of a template's field spec the review page uses."""

    kind: str  # comb | box | line
    cells: int | None = None
    min_digits: int | None = None
    max_digits: int | None = None

    @property
    def comb(self) -> bool:
        return self.kind == "comb" and bool(self.cells)

    @property
    def expected_length(self) -> int | None:
        """How many characters the value should take: the comb's cells, else ``max_digits``."""
        if self.comb:
            return self.cells
        return self.max_digits


#: template name → field name → info
Specs = dict[str, dict[str, FieldInfo]]
_cache: dict[Any, Specs] = {}
_lock = threading.Lock()
_MAX_CACHE = 256


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def parse(data: Any) -> tuple[str, dict[str, FieldInfo]] | None:
    """A template JSON object → its name and field infos (None when it is not a template)."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    out: dict[str, FieldInfo] = {}
    for f in data.get("fields") or []:
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            out[f["name"]] = FieldInfo(
                kind=str(f.get("kind") or "box"),
                cells=_int(f.get("cells")),
                min_digits=_int(f.get("min_digits")),
                max_digits=_int(f.get("max_digits")),
            )
    return data["name"], out


def _json_files(path: Path) -> Iterable[Path]:
    return sorted(path.glob("*.json")) if path.is_dir() else [path]


def _local(paths: Iterable[str | Path]) -> Specs:
    specs: Specs = {}
    for p in paths:
        for f in _json_files(Path(p)):
            try:
                parsed = parse(json.loads(f.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                log.warning("template %s unreadable for review: %s", f, exc)
                continue
            if parsed:
                specs[parsed[0]] = parsed[1]
    return specs


def _local_key(paths: Iterable[str | Path]) -> tuple[Any, ...]:
    key: list[Any] = []
    for p in paths:
        for f in _json_files(Path(p)):
            try:
                key.append((str(f), f.stat().st_mtime_ns))
            except OSError:
                key.append((str(f), None))
    return ("local", *key)


def _packed(db: Session, entries: list[dict[str, Any]], settings: Settings) -> Specs:
    specs: Specs = {}
    for e in entries:
        try:
            sha = e["files"][e["json"]]
            raw = get_storage(settings.storage_url, e.get("storage", "db")).get(db, sha)
            parsed = parse(json.loads(raw))
        except Exception as exc:  # a missing or odd template must not break the page
            log.warning("stored template unreadable for review: %s", exc)
            continue
        if parsed:
            specs[parsed[0]] = parsed[1]
    return specs


def batch_specs(db: Session, batch_id: int, settings: Settings) -> Specs:
    """Every template the batch was read with, as field infos by template and field name."""
    entries = rq.batch_templates(db, batch_id)
    if not entries:
        paths: list[Any] = [str(p) for p in settings.templates]
        key: Any = _local_key(paths)
        build = lambda: _local(paths)  # noqa: E731
    elif all(isinstance(e, str) for e in entries):
        key = _local_key(entries)
        build = lambda: _local(entries)  # noqa: E731
    else:
        packed = [e for e in entries if isinstance(e, dict)]
        key = ("packed", json.dumps(packed, sort_keys=True, default=str))
        build = lambda: _packed(db, packed, settings)  # noqa: E731
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    specs = build()
    with _lock:
        if len(_cache) >= _MAX_CACHE:
            _cache.clear()
        _cache[key] = specs
    return specs


def field_info(
    db: Session, settings: Settings, batch_id: int, template: str | None, name: str
) -> FieldInfo | None:
    """The spec of one field (None for free-form reading or a field no template describes)."""
    if not template:
        return None
    return batch_specs(db, batch_id, settings).get(template, {}).get(name)
