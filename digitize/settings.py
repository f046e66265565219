"""One settings object for the CLI, workers, watcher and web app (``DIGITIZE_*`` variables)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Configuration with sane defaults: a SQLite file here, Redis on localhost."""

    model_config = SettingsConfigDict(env_prefix="DIGITIZE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///digitize.db",
        description="SQLAlchemy URL: SQLite file by default, postgresql+psycopg://... when shared.",
    )
    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="Celery broker URL.")
    storage_url: str = Field(
        default="db",
        description="Where original bytes live: 'db' (in the database, reachable by every worker) "
        "or a directory path for a content-addressed store shared by all workers.",
    )
    review_threshold: float = Field(
        default=0.92,
        ge=0.0,
        le=1.0,
        description="A field whose calibrated confidence is below this needs review.",
    )
    digit_review_threshold: float = Field(
        default=0.90, ge=0.0, le=1.0, description="A digit below this confidence is flagged."
    )
    model_path: Path | None = Field(
        default=None, description="Model file (.tflite with its .json config); default: shipped."
    )
    templates: list[Path] = Field(default_factory=list, description="Default form templates.")
    template_dir: Path | None = Field(
        default=None,
        description="Where the web template editor saves templates; default: the first folder "
        "in templates, else templates/ in the working directory (beside the default database).",
    )
    cache_dir: Path | None = Field(
        default=Path("~/.cache/digitize"),
        description="Derived data kept between runs (prepared templates); empty: none.",
    )
    pdf_dpi: int = Field(default=200, ge=50, le=600, description="DPI for rendering PDF pages.")
    max_pixels: int = Field(
        default=120_000_000, description="Pages larger than this are refused (decompression bombs)."
    )
    max_file_bytes: int = Field(default=200 * 1024 * 1024, description="Largest accepted file.")
    stale_after_s: int = Field(
        default=900, description="Documents queued/processing longer than this are re-enqueued."
    )
    task_max_retries: int = Field(default=5)
    visibility_timeout_s: int = Field(
        default=3600,
        description="Broker visibility timeout: an unacknowledged task is redelivered after this "
        "(longer than the slowest document; a dead worker's task comes back after it).",
    )
    log_level: str = Field(default="INFO")
    log_format: str = Field(
        default="text", pattern="^(text|json)$", description="'json': one JSON object per log line."
    )
    metrics_port: int | None = Field(
        default=None, description="A worker serves Prometheus metrics on this port (none: off)."
    )
    secret_key: str = Field(default="change-me-in-production", description="Web session secret.")
    api_token: str | None = Field(default=None, description="Bearer token for the JSON API.")
    secure_cookies: bool = Field(default=False, description="Set Secure on cookies (behind HTTPS).")

    @field_validator("cache_dir", mode="before")
    @classmethod
    def _no_cache_when_empty(cls, value: object) -> object:
        return None if value in ("", "none") else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
