"""Handwriting fonts from Google Fonts' handwriting families, fetched on demand with npm.

Each font comes from its ``@fontsource/NAME`` npm package (``npm pack``, no install), from which
the latin 400 ``.woff`` file is extracted into ``~/.cache/digitize/fonts`` (Pillow's FreeType
reads WOFF; where it cannot, the file is converted to TTF with fontTools). Nothing comes from the
system's font packages, so the corpus is the same on every machine.

The twelve fonts are split once and for all:

* ``TRAIN_FONTS`` may be used to train or adapt models;
* ``HELD_OUT_FONTS`` are never used for any training. Their first half
  (``VALIDATION_FONTS``) is for choices (``--digits validation``), the second half
  (``TEST_FONTS``) only for reporting (``--digits test``).
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path

TRAIN_FONTS: tuple[str, ...] = (
    "caveat",
    "indie-flower",
    "patrick-hand",
    "kalam",
    "gochi-hand",
    "shadows-into-light",
)
HELD_OUT_FONTS: tuple[str, ...] = (
    "homemade-apple",
    "reenie-beanie",
    "covered-by-your-grace",
    "nanum-pen-script",
    "rock-salt",
    "permanent-marker",
)
VALIDATION_FONTS: tuple[str, ...] = HELD_OUT_FONTS[:3]
TEST_FONTS: tuple[str, ...] = HELD_OUT_FONTS[3:]


class FontUnavailableError(RuntimeError):
    """npm is missing or the package could not be fetched."""


def cache_dir() -> Path:
    return Path.home() / ".cache" / "digitize" / "fonts"


def _loads(path: Path) -> bool:
    from PIL import ImageFont

    try:
        ImageFont.truetype(str(path), 40).getbbox("0123456789")
    except OSError:
        return False
    return True


@cache
def font_path(name: str, directory: str | None = None) -> Path:
    """The cached font file of ``@fontsource/<name>`` (fetched with ``npm pack`` when missing)."""
    folder = Path(directory) if directory else cache_dir()
    for ext in ("woff", "ttf"):
        cached = folder / f"{name}.{ext}"
        if cached.exists() and _loads(cached):
            return cached
    folder.mkdir(parents=True, exist_ok=True)
    member = f"package/files/{name}-latin-400-normal.woff"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                ["npm", "pack", "--silent", f"@fontsource/{name}"],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise FontUnavailableError(f"npm pack @fontsource/{name}: {exc}") from exc
        (tgz,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tgz) as tar:
            data = tar.extractfile(member)
            if data is None:
                raise FontUnavailableError(f"@fontsource/{name} has no {member}")
            woff = folder / f"{name}.woff"
            woff.write_bytes(data.read())
    if _loads(woff):
        return woff
    from fontTools.ttLib import TTFont  # FreeType without WOFF support: convert

    ttf = folder / f"{name}.ttf"
    font = TTFont(str(woff))
    font.flavor = None
    font.save(str(ttf))
    return ttf


def font_paths(names: tuple[str, ...]) -> list[Path]:
    return [font_path(n) for n in names]
