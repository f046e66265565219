"""Template JSON: the documented example loads; every kind of mistake is a clear TemplateError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from digitize.errors import TemplateError
from segmentation.templates import FieldSpec, load_template, load_templates, template_problems

DOC_EXAMPLE = {
    "name": "claim",
    "reference": "claim.png",
    "size": [1654, 2339],
    "fields": [
        {"name": "account", "box": [300, 420, 780, 100], "kind": "comb", "cells": 10},
        {"name": "amount", "box": [300, 780, 620, 110], "kind": "box"},
        {"name": "phone", "box": [300, 1000, 800, 100], "kind": "line"},
    ],
}


def write(tmp: Path, data: Any, ref_size: tuple[int, int] | None = (1654, 2339)) -> Path:
    if ref_size is not None:
        cv2.imwrite(str(tmp / "claim.png"), np.full((ref_size[1], ref_size[0]), 255, np.uint8))
    path = tmp / "claim.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_the_documented_example_loads(tmp_path: Path) -> None:
    t = load_template(write(tmp_path, DOC_EXAMPLE))
    assert t.name == "claim" and t.size == (1654, 2339)
    assert t.reference.shape == (2339, 1654) and t.reference.dtype == np.uint8
    assert t.fields[0] == FieldSpec("account", (300, 420, 780, 100), "comb", cells=10)
    assert [f.kind for f in t.fields] == ["comb", "box", "line"]


def test_optional_constraints_are_read(tmp_path: Path) -> None:
    data = json.loads(json.dumps(DOC_EXAMPLE))
    data["fields"][1].update(
        {"pattern": r"\d{3,7}", "min_digits": 3, "max_digits": 7, "range": [100, 9999999]}
    )
    data["fields"][0]["checksum"] = "luhn"
    t = load_template(write(tmp_path, data))
    assert t.fields[1].range == (100.0, 9999999.0) and t.fields[1].pattern == r"\d{3,7}"
    assert t.fields[0].checksum == "luhn"


def test_reference_is_relative_to_the_json_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, DOC_EXAMPLE)
    monkeypatch.chdir("/")
    assert load_template(path).reference.shape == (2339, 1654)


def _broken(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(DOC_EXAMPLE))
    for key, value in changes.items():
        if key.startswith("field0_"):
            data["fields"][0][key.removeprefix("field0_")] = value
        elif value is None:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (_broken(name=None), "name"),
        (_broken(fields=[]), "fields"),
        (_broken(size=[0, 10]), "size"),
        (_broken(field0_kind="circle"), "kind"),
        (_broken(field0_box=[10, 10, -5, 10]), "box"),
        (_broken(field0_box=[1600, 10, 200, 10]), "extends past"),
        (_broken(field0_pattern="([0-9"), "regular expression"),
        (_broken(field0_checksum="crc"), "checksum"),
        (_broken(field0_range=[10, 1]), "lo > hi"),
        (_broken(field0_min_digits=9, field0_max_digits=3), "min_digits"),
        (_broken(field0_cells=0), "cells"),
        (_broken(field0_colour="red"), "colour"),
        (_broken(fields=[DOC_EXAMPLE["fields"][0]] * 2), "used twice"),  # type: ignore[index]
        (_broken(reference="missing.png"), "not found"),
    ],
)
def test_mistakes_are_reported_clearly(tmp_path: Path, data: Any, fragment: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(TemplateError, match=fragment) as info:
        load_template(path)
    assert str(path) in str(info.value)


def test_reference_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="1000×1000"):
        load_template(write(tmp_path, DOC_EXAMPLE, ref_size=(1000, 1000)))


def test_reference_that_is_not_a_picture_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, DOC_EXAMPLE, ref_size=None)
    (tmp_path / "claim.png").write_text("hello")
    with pytest.raises(TemplateError, match="unusable"):
        load_template(path)


def test_missing_template_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not found"):
        load_template(tmp_path / "nope.json")


def test_directory_loads_every_json_and_names_must_be_unique(
    tmp_path: Path, form_templates: list[Path]
) -> None:
    folder = form_templates[0].parent
    loaded = load_templates([folder])
    assert sorted(t.name for t in loaded) == sorted(p.stem for p in form_templates)
    with pytest.raises(TemplateError, match="also used by"):
        load_templates([folder, form_templates[0]])
    with pytest.raises(TemplateError, match=r"no \*\.json"):
        load_templates([tmp_path])


def test_a_misspelt_key_is_named_once_with_the_field_and_the_closest_key(tmp_path: Path) -> None:
    path = write(tmp_path, _broken(field0_cels=10))
    with pytest.raises(TemplateError) as info:
        load_template(path)
    text = str(info.value)
    assert "field 'account'" in text and "did you mean 'cells'?" in text
    assert text.count("cels") == 1 and "fields.0" not in text


def test_problems_name_each_field_once_and_find_all_of_them() -> None:
    data = _broken(field0_cels=10, field0_kind="bx")
    data["fields"][1]["max_digit"] = 3
    data["fields"].append({"name": "account", "box": [1600, 10, 200, 10], "kind": "box"})
    problems = template_problems(data)
    assert [(p.field, p.key) for p in problems] == [
        ("account", "kind"),
        ("account", "cels"),
        ("amount", "max_digit"),
    ]
    assert "did you mean 'max_digits'?" in problems[2].message
    layout = template_problems(_broken(fields=[DOC_EXAMPLE["fields"][0]] * 2))  # type: ignore[index]
    assert [(p.field, p.key) for p in layout] == [("account", "name")]
    assert template_problems(DOC_EXAMPLE) == []


def test_a_key_with_nothing_close_lists_the_known_keys() -> None:
    (problem,) = template_problems(_broken(field0_colour="red"))
    assert problem.field == "account" and "known keys:" in problem.message
    assert "cells" in problem.message
