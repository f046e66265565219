"""Training digits drawn in handwriting fonts (Google Fonts' handwriting families, from npm).

Each font comes from its ``@fontsource/NAME`` npm package (``npm pack``, no install), from which
the latin 400 ``.woff`` file is extracted into ``~/.cache/digitize/fonts`` (Pillow's FreeType
reads WOFF; where it cannot, the file is converted to TTF with fontTools). Nothing comes from the
system's font packages, so the digits are the same on every machine.

The fonts are split once and for all (``bench.corpus`` uses the same split):

* ``TRAIN_FONTS`` and ``EXTRA_TRAIN_FONTS`` may be used to train or adapt models;
* ``HELD_OUT_FONTS`` are never used for any training. Their first half (``VALIDATION_FONTS``) is
  for choices, the second half (``TEST_FONTS``) only for reporting.

MNIST's writers are some 500 American clerks and students; a font's digit is another hand's
shape. ``render_digit`` draws one with a random size, slant, width, smooth elastic jitter, pen
width and now and then a pen-lift gap, and ``font_digits`` makes a training set of them
(MNIST-style 28×28 uint8), a share cut out the reader's way (``crop_ink`` + ``to_mnist``).
Without npm or network the fonts that cannot be fetched are skipped with a warning.
"""

from __future__ import annotations

import logging
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from model.training.augment import cut_gap, jitter
from segmentation.normalize import to_mnist
from segmentation.strokes import crop_ink

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

TRAIN_FONTS: tuple[str, ...] = (
    "caveat",
    "indie-flower",
    "patrick-hand",
    "kalam",
    "gochi-hand",
    "shadows-into-light",
)
#: More handwriting families for training only (those npm cannot fetch are skipped).
EXTRA_TRAIN_FONTS: tuple[str, ...] = (
    "dancing-script",
    "satisfy",
    "handlee",
    "nothing-you-could-do",
    "just-another-hand",
    "coming-soon",
    "schoolbell",
    "architects-daughter",
    "gloria-hallelujah",
    "sue-ellen-francisco",
    "waiting-for-the-sunrise",
    "la-belle-aurore",
    "zeyada",
    "cedarville-cursive",
    "dawning-of-a-new-day",
    "over-the-rainbow",
    "loved-by-the-king",
    "the-girl-next-door",
    "give-you-glory",
    "annie-use-your-telescope",
    "short-stack",
    "mali",
    "sriracha",
    "itim",
    "neucha",
    "pangolin",
    "caveat-brush",
    "nanum-brush-script",
    "yellowtail",
    "kristi",
    "mrs-saint-delafield",
    "swanky-and-moo-moo",
    "crafty-girls",
    "walter-turncoat",
    "just-me-again-down-here",
    "gaegu",
    "gamja-flower",
    "single-day",
    "poor-story",
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
ALL_TRAIN_FONTS: tuple[str, ...] = TRAIN_FONTS + EXTRA_TRAIN_FONTS


class FontUnavailableError(RuntimeError):
    """npm is missing or the package could not be fetched."""


class FetchFailedError(FontUnavailableError):
    """``npm pack`` itself failed (no npm, no network): the next fetches would fail too."""


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
            raise FetchFailedError(f"npm pack @fontsource/{name}: {exc}") from exc
        (tgz,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tgz) as tar:
            try:
                data = tar.extractfile(member)
            except KeyError:
                data = None
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


def cached_font(name: str, directory: str | None = None) -> Path | None:
    folder = Path(directory) if directory else cache_dir()
    for ext in ("woff", "ttf"):
        if (folder / f"{name}.{ext}").exists():
            return folder / f"{name}.{ext}"
    return None


def available_fonts(names: Sequence[str], directory: str | None = None) -> list[Path]:
    """The fonts of ``names`` that can be had; each one that cannot is logged and skipped.

    Once ``npm pack`` fails (no npm, no network) only fonts already in the cache are used.
    """
    held = sorted(set(names) & set(HELD_OUT_FONTS))
    if held:
        raise ValueError(f"held-out fonts are never trained on: {held}")
    found: list[Path] = []
    offline = False
    for name in names:
        if offline and cached_font(name, directory) is None:
            continue
        try:
            found.append(font_path(name, directory))
        except FetchFailedError as exc:
            log.warning("cannot fetch fonts (%s): training with the cached ones only", exc)
            offline = True
        except (FontUnavailableError, OSError, ValueError) as exc:
            log.warning("font %s unavailable, training without it: %s", name, exc)
    return found


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def crop_to_ink(a: F32, level: float = 0.05) -> F32:
    """``a`` cut to the bounding box of its values above ``level`` (all of it when none are)."""
    ys, xs = np.nonzero(a > level)
    if not len(ys):
        return a
    return a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def draw_glyph(path: str, digit: int | str, size: int) -> F32:
    """``digit`` (or another character: a currency sign) drawn in the font file at ``path``,
    ``size`` pixels, white on black in [0, 1], on a canvas three times the size (the corpus's
    font writers draw theirs here too)."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (3 * size, 3 * size), 0)
    ImageDraw.Draw(canvas).text((size, size // 2), str(digit), fill=255, font=_font(path, size))
    return np.asarray(canvas, np.float32) / 255.0


def _glyph_hershey(face: int, digit: int, size: int) -> F32:
    """OpenCV's Hershey fonts: a stand-in with no files (tests, no network)."""
    canvas = np.zeros((3 * size, 3 * size), np.uint8)
    scale = size / 30
    cv2.putText(canvas, str(digit), (size, 2 * size), face, scale, 255, max(1, size // 12))
    return canvas.astype(np.float32) / 255.0


def render_digit(
    font: str | int, digit: int, rng: np.random.Generator, page_style: bool = False
) -> F32:
    """One digit in ``font`` (a font file, or an OpenCV Hershey face number) as a 28×28 crop.

    Random size, slant (mostly to the right), width, elastic jitter and pen width; 10 % get a
    pen-lift gap. ``page_style``: binarised and cut out by the reader's ``crop_ink`` + ``to_mnist``;
    otherwise a grey MNIST-like digit (``to_mnist`` of the anti-aliased ink).
    """
    size = int(rng.integers(40, 72))
    a = (
        _glyph_hershey(font, digit, size)
        if isinstance(font, int)
        else draw_glyph(font, digit, size)
    )
    a = crop_to_ink(a)
    if a.size < 4 or a.max() <= 0:
        return np.zeros((28, 28), np.float32)
    pad = max(8, a.shape[0] // 3)
    a = cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    h, w = a.shape
    shear = float(rng.uniform(-0.4, 0.2))  # most people slant right
    m = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], np.float32)
    m[0, :] *= rng.uniform(0.8, 1.2)  # narrower or wider hands
    a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR)
    a = jitter(a, rng, amount=float(rng.uniform(0.01, 0.045)) * h)
    r = int(rng.integers(-1, 3))  # pen: thinner than the font's, or fatter
    if r:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(r) + 1, 2 * abs(r) + 1))
        other = cv2.dilate(a, k) if r > 0 else cv2.erode(a, k)
        if (other > 0.5).sum() >= 0.6 * (a > 0.5).sum():  # a thin font is not eroded away
            a = other
    mask = a > 0.5
    if rng.random() < 0.1:
        cut_gap(mask, rng, pen=30, keep=0.7)
    if mask.sum() < 5:
        return to_mnist(a)
    ink = crop_ink(mask)  # strokes to MNIST's pen width, as the reader evens them out
    if page_style:
        return to_mnist(ink)
    blurred = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), max(0.7, max(ink.shape) / 40))
    return to_mnist(blurred)


def font_digits(
    fonts: Sequence[str | int | Path],
    n: int,
    seed: int,
    page_style: float = 0.3,
) -> tuple[U8, npt.NDArray[np.int64]]:
    """``n`` digits (uint8 28×28, MNIST style) evenly over the digits, each in a random font."""
    if not fonts or n <= 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    rng = np.random.default_rng([seed, 77])
    faces = [f if isinstance(f, int) else str(f) for f in fonts]
    labels = np.arange(n, dtype=np.int64) % 10
    rng.shuffle(labels)
    out = np.empty((n, 28, 28), np.uint8)
    for i, d in enumerate(labels):
        face = faces[int(rng.integers(len(faces)))]
        crop = render_digit(face, int(d), rng, page_style=bool(rng.random() < page_style))
        out[i] = np.clip(np.rint(crop * 255), 0, 255).astype(np.uint8)
    return out, labels


def training_font_digits(n: int, seed: int) -> tuple[U8, npt.NDArray[np.int64]]:
    """``n`` digits in every training font that can be had (none: a warning and no digits)."""
    if n <= 0:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    paths = available_fonts(ALL_TRAIN_FONTS)
    if not paths:
        log.warning("no handwriting fonts available: training on MNIST alone")
    else:
        log.info("font digits: %d from %d fonts", n, len(paths))
    return font_digits(paths, n, seed)
