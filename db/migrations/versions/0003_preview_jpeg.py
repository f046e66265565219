"""pages: the preview is a JPEG now, so its column is ``preview_jpeg``

Encoding a 1000-pixel page preview as PNG cost ~10 ms a page, about a tenth of a page's CPU;
JPEG costs under 1 ms and the preview is only looked at (the review app outlines a field on
it). Previews stored before this revision stay PNG bytes: the review app tells them apart by
their signature.

Revision ID: 0003_preview_jpeg
Revises: 0002_review_queue
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_preview_jpeg"
down_revision: str | None = "0002_review_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.alter_column("preview_png", new_column_name="preview_jpeg")


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.alter_column("preview_jpeg", new_column_name="preview_png")
