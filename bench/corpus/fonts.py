"""Handwriting fonts from Google Fonts' handwriting families, fetched on demand with npm.

The fetching and the split live in ``model.training.fonts`` (training draws digits from them
too); this module keeps the corpus's names. The twelve corpus fonts are split once and for all:

* ``TRAIN_FONTS`` may be used to train or adapt models (``model.training.fonts`` adds more
  training-only families, ``EXTRA_TRAIN_FONTS``);
* ``HELD_OUT_FONTS`` are never used for any training. Their first half
  (``VALIDATION_FONTS``) is for choices (``--digits validation``), the second half
  (``TEST_FONTS``) only for reporting (``--digits test``).
"""

from __future__ import annotations

from model.training.fonts import (
    EXTRA_TRAIN_FONTS,
    HELD_OUT_FONTS,
    TEST_FONTS,
    TRAIN_FONTS,
    VALIDATION_FONTS,
    FontUnavailableError,
    cache_dir,
    font_path,
    font_paths,
)

__all__ = [
    "EXTRA_TRAIN_FONTS",
    "HELD_OUT_FONTS",
    "TEST_FONTS",
    "TRAIN_FONTS",
    "VALIDATION_FONTS",
    "FontUnavailableError",
    "cache_dir",
    "font_path",
    "font_paths",
]
