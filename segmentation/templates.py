"""Form templates: a JSON file beside a picture of the blank form (format: docs/templates.md).

The JSON is validated with pydantic so a typo in a template is reported with the file, the field
and what is wrong, at load time, instead of surfacing as a misread page later.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from digitize.errors import BadInputError, TemplateError
from digitize.types import Box


@dataclass
class FieldSpec:
    name: str
    box: Box
    kind: str  # "comb" | "box" | "line"
    cells: int | None = None
    pattern: str | None = None
    min_digits: int | None = None
    max_digits: int | None = None
    checksum: str | None = None
    range: tuple[float, float] | None = None

    def margins(self) -> tuple[int, int]:
        """How far (x, y) past the box handwriting of this field may lie and still be read.

        A box or line field gets room for a digit written on past either end (people run out
        of room); a comb's cells hold its digits, so its margin only catches strokes that
        cross the border.
        """
        w, h = self.box[2], self.box[3]
        x = max(round(0.06 * w), round((0.2 if self.kind == "comb" else SPILL_PAD) * h))
        return x, round(0.25 * h)


#: Field heights each side of a box or line field where writing that ran on is still read.
SPILL_PAD = 1.3


@dataclass
class Template:
    name: str
    path: Path
    reference: npt.NDArray[np.uint8]  # the blank form, grey
    size: tuple[int, int]  # (width, height) of the reference in pixels
    fields: list[FieldSpec]
    #: Derived data (features, masks) computed once by registration; not part of the format.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class _FieldModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    box: tuple[int, int, int, int]
    kind: Literal["comb", "box", "line"]
    cells: int | None = Field(default=None, ge=1, le=100)
    pattern: str | None = None
    min_digits: int | None = Field(default=None, ge=0)
    max_digits: int | None = Field(default=None, ge=1)
    checksum: Literal["luhn"] | None = None
    range: tuple[float, float] | None = None
    description: str | None = None

    @field_validator("box")
    @classmethod
    def _box_positive(cls, v: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        if v[0] < 0 or v[1] < 0 or v[2] <= 0 or v[3] <= 0:
            raise ValueError("box must be [x, y, w, h] with x, y >= 0 and w, h > 0")
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return v

    @model_validator(mode="after")
    def _consistent(self) -> _FieldModel:
        lo, hi = self.min_digits, self.max_digits
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_digits {self.min_digits} > max_digits {self.max_digits}")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range [{self.range[0]}, {self.range[1]}] has lo > hi")
        if self.cells is not None and self.kind != "comb":
            raise ValueError(f"cells is only meaningful for kind 'comb', not {self.kind!r}")
        return self


class _TemplateModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    size: tuple[int, int]
    fields: list[_FieldModel] = Field(min_length=1)
    description: str | None = None
    version: int | None = None

    @field_validator("size")
    @classmethod
    def _size_positive(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] <= 0 or v[1] <= 0:
            raise ValueError("size must be [width, height] in pixels, both > 0")
        return v


@dataclass(frozen=True)
class TemplateProblem:
    """One thing wrong with a template, said once: the field by name, the key, what is wrong."""

    field: str | None  # the field's name (``fields[i]`` when it has none); None: the template's
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"field {self.field!r}" if self.field is not None else "template"
        return f"{where}: {self.message}"


_KEYS = {
    "template": tuple(_TemplateModel.model_fields),
    "field": tuple(_FieldModel.model_fields),
}


def _field_label(data: dict[str, Any], index: int) -> str:
    fields = data.get("fields")
    if isinstance(fields, list) and index < len(fields) and isinstance(fields[index], dict):
        name = fields[index].get("name")
        if isinstance(name, str) and name:
            return name
    return f"fields[{index}]"


def _problem(data: dict[str, Any], err: Any) -> TemplateProblem:
    loc = list(err["loc"])
    field_name: str | None = None
    valid = _KEYS["template"]
    if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
        field_name = _field_label(data, loc[1])
        loc = loc[2:]
        valid = _KEYS["field"]
    key = str(loc[0]) if loc else None
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and key is not None:
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(valid)})"
        msg = f"unknown key {key!r}{hint}"
    elif err["type"] == "missing" and key is not None:
        msg = f"{key!r} is required"
    elif key is not None:
        msg = f"{key}: {msg}"
    return TemplateProblem(field_name, key, msg)


def template_problems(data: dict[str, Any]) -> list[TemplateProblem]:
    """Everything wrong with a template's JSON (empty when valid), each problem once.

    Problems name the field by its name, not its position, and a misspelt key comes with the
    closest valid one, so the file can be fixed in one pass (the CLI and the web editor both
    show these).
    """
    try:
        model = _TemplateModel.model_validate(data)
    except ValidationError as exc:
        out: list[TemplateProblem] = []
        for err in exc.errors():
            problem = _problem(data, err)
            if problem not in out:
                out.append(problem)
        return out
    return _layout_problems(model)


def _layout_problems(model: _TemplateModel) -> list[TemplateProblem]:
    """What only the fields together can get wrong: names used twice, boxes off the page."""
    w, h = model.size
    out: list[TemplateProblem] = []
    seen: set[str] = set()
    for f in model.fields:
        if f.name in seen:
            out.append(TemplateProblem(f.name, "name", "the name is used twice"))
        seen.add(f.name)
        x, y, bw, bh = f.box
        if x + bw > w or y + bh > h:
            message = f"box {list(f.box)} extends past the page size [{w}, {h}]"
            out.append(TemplateProblem(f.name, "box", message))
    return out


def _validated(data: dict[str, Any], path: Path) -> _TemplateModel:
    problems = template_problems(data)
    if problems:
        raise TemplateError("; ".join(str(p) for p in problems), source=str(path))
    return _TemplateModel.model_validate(data)


def parse_template(data: dict[str, Any], path: Path, reference: npt.NDArray[np.uint8]) -> Template:
    """A ``Template`` from already-decoded JSON and reference image (validated)."""
    model = _validated(data, path)
    return _build(model, path, reference)


def _build(model: _TemplateModel, path: Path, reference: npt.NDArray[np.uint8]) -> Template:
    w, h = model.size
    if reference.shape[:2] != (h, w):
        raise TemplateError(
            f"the reference picture is {reference.shape[1]}×{reference.shape[0]} pixels but the "
            f"template's size says {w}×{h}; boxes are in reference pixels, so they must agree",
            source=str(path),
        )
    fields = [
        FieldSpec(
            name=f.name,
            box=f.box,
            kind=f.kind,
            cells=f.cells,
            pattern=f.pattern,
            min_digits=f.min_digits,
            max_digits=f.max_digits,
            checksum=f.checksum,
            range=f.range,
        )
        for f in model.fields
    ]
    return Template(model.name, path, reference, (w, h), fields)


def load_template(path: Path | str) -> Template:
    """Read and validate one template JSON and its reference picture (relative to the JSON)."""
    from segmentation.loading import load_pages

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TemplateError("template file not found", source=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read the template ({exc})", source=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", source=str(path)
        ) from exc
    if not isinstance(data, dict):
        raise TemplateError("the template must be a JSON object", source=str(path))
    model = _validated(data, path)
    ref_path = path.parent / model.reference
    try:
        raw = ref_path.read_bytes()
    except OSError as exc:
        raise TemplateError(
            f"reference picture {model.reference!r} not found beside the template ({ref_path})",
            source=str(path),
        ) from exc
    try:
        reference = load_pages(raw, str(ref_path))[0].image
    except BadInputError as exc:
        raise TemplateError(
            f"reference picture {model.reference!r} is unusable: {exc.message}", source=str(path)
        ) from exc
    return _build(model, path, reference)


def load_templates(paths: Iterable[Path | str]) -> list[Template]:
    """Load templates from files and directories (every ``*.json`` in a directory), names unique."""
    out: list[Template] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(p.glob("*.json"))
            if not files:
                raise TemplateError("the directory holds no *.json template", source=str(p))
            out.extend(load_template(f) for f in files)
        else:
            out.append(load_template(p))
    names: dict[str, Path] = {}
    for t in out:
        if t.name in names:
            raise TemplateError(
                f"template name {t.name!r} is also used by {names[t.name]}", source=str(t.path)
            )
        names[t.name] = t.path
    return out
