"""review queue: partial index over the fields still waiting for a person

The review queue, its count and the next-field claim all read exactly the fields with
``needs_review AND reviewed_at IS NULL`` in confidence order; a partial index on that set keeps
them index-only however many reviewed fields accumulate.

Revision ID: 0002_review_queue
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_review_queue"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_fields_pending",
        "fields",
        ["confidence", "id"],
        unique=False,
        postgresql_where=sa.text("needs_review AND reviewed_at IS NULL"),
        sqlite_where=sa.text("needs_review = 1 AND reviewed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_fields_pending", table_name="fields")
