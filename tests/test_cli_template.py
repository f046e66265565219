"""``digitize template new`` and ``digitize template check`` on drawn forms.

The detector is swapped for one that answers the drawn fields (see tests/test_template_draft.py),
so a template is drafted from a filled form and then checked on a scan of another filled copy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner, Result

from digitize.cli import _register, app
from digitize.errors import BadInputError, ConfigError, ProcessingFailedError, UsageError
from model.training.synthetic import DigitSource
from segmentation import template_draft
from segmentation.templates import load_template
from tests.fixtures_images import page_image
from tests.test_template_draft import FIELDS, draw_form, fake_detector, fill_form


def _invoke(*args: str) -> Result:
    _register()
    return CliRunner().invoke(app, list(args))


def _scan(image: npt.NDArray[np.uint8], angle: float = 2.0, scale: float = 0.9) -> np.ndarray:
    """The page as a scanner gives it back: turned a little, smaller, shifted, a bit noisy."""
    h, w = image.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += (25, -15)
    out = cv2.warpAffine(image, m, (w, h), borderValue=255, flags=cv2.INTER_AREA)
    noise = np.random.default_rng(1).normal(0, 6, out.shape)
    return np.clip(out.astype(np.float64) - 10 + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def drafted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, font_digits: DigitSource
) -> tuple[Path, Path]:
    """A template drafted by ``template new`` from a filled form, and the form's picture."""
    blank, found = draw_form()
    fake_detector(monkeypatch, found)
    monkeypatch.setattr(template_draft.shutil, "which", lambda name: None)
    filled = tmp_path / "meter form.png"
    cv2.imwrite(str(filled), fill_form(blank, font_digits))
    out = tmp_path / "templates"
    result = _invoke(
        "template", "new", str(filled), "--out", str(out), "--name", "meter",
        "--show", str(tmp_path / "found.png"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / "meter.json", filled


@pytest.mark.slow
def test_new_writes_a_template_that_loads(drafted: tuple[Path, Path], tmp_path: Path) -> None:
    path, filled = drafted
    template = load_template(path)
    assert template.name == "meter"
    assert [f.name for f in template.fields] == [f"field_{i}" for i in range(1, len(FIELDS) + 1)]
    assert [f.cells for f in template.fields] == [cells for *_, cells in FIELDS]
    assert template.fields[1].max_digits == 4  # a comb of four cells
    assert (path.parent / "meter.png").exists()
    # the reference is the form without the handwriting
    blank, _ = draw_form()
    written = cv2.imread(str(filled), cv2.IMREAD_GRAYSCALE)
    assert written is not None
    assert np.count_nonzero(np.abs(written.astype(int) - blank) > 60) > 2000
    assert np.count_nonzero(np.abs(template.reference.astype(int) - blank) > 60) < 200
    shown = cv2.imread(str(tmp_path / "found.png"))
    assert shown is not None
    assert shown.shape[:2] == blank.shape


def test_new_prints_what_it_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, font_digits: DigitSource
) -> None:
    blank, found = draw_form()
    fake_detector(monkeypatch, found)
    captions = iter(["Account number", "Year of birth", "Age", "Meter reading", "Percent used"])
    monkeypatch.setattr(
        template_draft, "tesseract_caption_reader", lambda: lambda crop: next(captions)
    )
    form = tmp_path / "water.png"
    cv2.imwrite(str(form), blank)
    result = _invoke("template", "new", str(form), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    for word in ("account_number", "comb", "year_of_birth", "min_digits 4", "range 0–130"):
        assert word in result.output
    assert "480 360 480 80" in result.output
    data = json.loads((tmp_path / "water.json").read_text())  # the default name: the file's stem
    assert data["name"] == "water" and data["reference"] == "water.png"


def test_new_refuses_a_form_without_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_detector(monkeypatch, [])
    form = tmp_path / "empty.png"
    cv2.imwrite(str(form), np.full((600, 400), 255, np.uint8))
    result = _invoke("template", "new", str(form), "--out", str(tmp_path / "t"))
    assert isinstance(result.exception, BadInputError)
    assert "no fields found" in str(result.exception) and "empty.png" in str(result.exception)
    assert not (tmp_path / "t" / "empty.json").exists()


def test_new_keeps_an_existing_template(drafted: tuple[Path, Path]) -> None:
    path, filled = drafted
    before = path.read_text()
    result = _invoke("template", "new", str(filled), "--out", str(path.parent), "--name", "meter")
    assert isinstance(result.exception, ConfigError) and "--force" in str(result.exception)
    assert path.read_text() == before


def test_new_refuses_a_name_that_is_no_file_name(tmp_path: Path) -> None:
    result = _invoke("template", "new", "form.png", "--out", str(tmp_path), "--name", "../up")
    assert isinstance(result.exception, UsageError) and "--name" in str(result.exception)


def test_new_reports_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "form.png"
    bad.write_text("not a picture")
    result = _invoke("template", "new", str(bad), "--out", str(tmp_path))
    assert isinstance(result.exception, BadInputError) and "form.png" in str(result.exception)


@pytest.mark.slow
def test_check_shows_where_fields_land(
    drafted: tuple[Path, Path], tmp_path: Path, font_digits: DigitSource
) -> None:
    path, _ = drafted
    blank, _ = draw_form()
    values = ["93150724", "1987", "41", "2650", "88"]
    scan = tmp_path / "scan 1.png"
    cv2.imwrite(str(scan), _scan(fill_form(blank, font_digits, values)))
    out = tmp_path / "checks"
    result = _invoke("template", "check", str(path), str(scan), "--out", str(out))
    assert result.exit_code == 0, result.output
    quality = re.search(r"registration quality (\d\.\d+)", result.output)
    assert quality is not None and float(quality.group(1)) >= 0.9, result.output
    for name in ("field_1", "field_5"):
        assert name in result.output
    assert sum(v in result.output for v in values) >= 3, result.output
    picture = cv2.imread(str(out / "scan 1.check.png"))
    assert picture is not None
    assert picture.shape[1] == blank.shape[1] and picture.shape[0] > blank.shape[0]  # + header
    b, g, r = (picture[..., i].astype(int) for i in range(3))
    assert (np.abs(g - r) > 80).any() and (np.abs(g - b) > 80).any()  # fields drawn in colour


@pytest.mark.slow
def test_check_says_when_a_page_does_not_register(
    drafted: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = drafted
    other = tmp_path / "other form.png"
    cv2.imwrite(str(other), page_image(1240, 1500))
    monkeypatch.chdir(tmp_path)  # the pictures' default folder: the current one
    result = _invoke("template", "check", str(path), str(other))
    assert isinstance(result.exception, ProcessingFailedError)
    assert "other form.png" in str(result.exception)
    assert "did not register" in result.output
    assert (tmp_path / "other form.check.png").exists()
