"""The sections of ``digitize bench``: name and runner(quick) -> figures, in the order they run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.end_to_end import end_to_end_section
from bench.pipeline_sections import database_section, pipeline_section
from digitize.settings import get_settings


def classifier_section(quick: bool) -> dict[str, Any]:
    """The model the product would use: ``DIGITIZE_MODEL_PATH`` if set, else the shipped one."""
    from bench.classifier import run  # Keras, the baseline: the ``train`` extra

    return run(quick=quick, model_path=get_settings().model_path)


SECTIONS: list[tuple[str, Callable[[bool], dict[str, Any]]]] = [
    ("classifier", classifier_section),
    ("pipeline", pipeline_section),  # the stages of a page, one core
    ("database", database_section),  # writing results, SQLite and PostgreSQL
    ("end_to_end", end_to_end_section),  # workers and broker, against Tesseract
]
#: Sections whose keys are also copied to the top level of the JSON (the headline figures).
HEADLINE = ("classifier",)
