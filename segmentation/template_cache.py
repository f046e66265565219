"""Prepared templates on disk: the features and masks registration derives from each template.

Deriving them costs ~0.1 s of CPU per template, paid by every worker process at start-up; for a
``digitize process`` of a hundred pages on two cores that is a few per cent of the whole run.
They are stored as one uncompressed ``.npz`` per template (no pickle), named by a digest of the
template (reference pixels, size, fields) *and* of the code that derives them, so editing
either makes a new entry rather than reusing a stale one. A damaged or unreadable entry is
ignored and rebuilt: the cache can only save time, never change a result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from segmentation import align, inkremoval, registration
from segmentation.templates import Template

log = logging.getLogger(__name__)

_CODE = (align, inkremoval, registration)


def _code_digest() -> str:
    h = hashlib.sha256()
    for module in _CODE:
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()


_CODE_DIGEST = _code_digest()


def key(t: Template) -> str:
    """Digest of everything the prepared data depends on: ``TEMPLATE-CODE``."""
    h = hashlib.sha256()
    spec = {"size": list(t.size), "fields": [asdict(f) for f in t.fields]}
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    h.update(str(t.reference.shape).encode())
    h.update(np.ascontiguousarray(t.reference).data)
    return f"{h.hexdigest()[:24]}-{_CODE_DIGEST[:12]}"


def _flatten(cache: dict[str, Any]) -> dict[str, npt.NDArray[Any]]:
    out: dict[str, npt.NDArray[Any]] = {}
    printed, clean = cache["printed"]
    out["printed/0"], out["printed/1"] = printed, clean
    out["regions"] = np.asarray(cache["regions"], np.int64).reshape(-1, 4)
    for name, value in cache["ink_masks"].items():
        out[f"ink_masks/{name}"] = value
    prep = cache["registration"]
    for f in fields(prep):
        value = getattr(prep, f.name)
        if value is not None:
            out[f"registration/{f.name}"] = np.asarray(value)
    return out


def _unflatten(arrays: dict[str, npt.NDArray[Any]]) -> dict[str, Any]:
    prep_fields: dict[str, Any] = {}
    for f in fields(registration._Prep):
        value = arrays.get(f"registration/{f.name}")
        prep_fields[f.name] = value.item() if value is not None and value.ndim == 0 else value
    return {
        "printed": (arrays["printed/0"], arrays["printed/1"]),
        "regions": [tuple(int(v) for v in row) for row in arrays["regions"]],
        "ink_masks": {
            k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("ink_masks/")
        },
        "registration": registration._Prep(**prep_fields),
    }


def warm(templates: Sequence[Template], cache_dir: Path | None) -> None:
    """Fill each template's in-memory cache: from ``cache_dir`` when there, else computed (and
    stored there). ``cache_dir`` None: compute only."""
    for t in templates:
        if cache_dir is None:
            registration.warm([t])  # features, masks and field regions
            continue
        path = cache_dir / "templates" / f"{t.name}-{key(t)}.npz"
        if _load(t, path):
            continue
        registration.warm([t])
        _store(t, path)
        _forget_older(path)


def _load(t: Template, path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as data:
            t.cache.update(_unflatten({k: data[k] for k in data.files}))
        return True
    except FileNotFoundError:
        return False
    except Exception as exc:  # damaged, truncated, from another layout: rebuild
        log.warning("ignoring prepared template %s: %s", path, exc)
        return False


def _forget_older(path: Path) -> None:
    """Remove this template's entries made by other versions of the code (never read again)."""
    prefix = path.name.rsplit("-", 1)[0] + "-"  # NAME-TEMPLATE-, whatever the code digest
    for old in path.parent.iterdir():
        if old != path and old.name.startswith(prefix) and old.suffix == ".npz":
            old.unlink(missing_ok=True)


def _store(t: Template, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, **_flatten(t.cache))  # type: ignore[arg-type]  # numpy's stub
        os.replace(tmp, path)  # atomic: a concurrent reader sees all of it or nothing
    except OSError as exc:  # a read-only home: just slower next time
        log.info("cannot store prepared template %s: %s", path, exc)
