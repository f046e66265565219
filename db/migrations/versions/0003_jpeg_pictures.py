"""page previews and field images are JPEG now: ``preview_jpeg``, ``image_jpeg``

Encoding them as PNG cost ~20 ms a page (scanner noise compresses badly), a sixth of a page's
CPU; JPEG costs ~2 ms, and both pictures are only looked at (the review app shows them). Digit
crops, which become training data, stay PNG. Pictures stored before this revision stay PNG
bytes: the review app tells them apart by their signature.

Revision ID: 0003_jpeg_pictures
Revises: 0002_review_queue
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_jpeg_pictures"
down_revision: str | None = "0002_review_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.alter_column("preview_png", new_column_name="preview_jpeg")
    with op.batch_alter_table("fields") as batch:
        batch.alter_column("image_png", new_column_name="image_jpeg")


def downgrade() -> None:
    with op.batch_alter_table("fields") as batch:
        batch.alter_column("image_jpeg", new_column_name="image_png")
    with op.batch_alter_table("pages") as batch:
        batch.alter_column("preview_jpeg", new_column_name="preview_png")
