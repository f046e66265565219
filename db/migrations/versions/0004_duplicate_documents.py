"""documents: a repeated file is listed as ``duplicate``, pointing at the document it repeats

A byte-identical second file used to be reported on the console and then vanish from the
results. It now gets its own row (status ``duplicate``, ``duplicate_of`` the earlier document),
so a batch's results name every file given. Uniqueness of (batch, sha256) holds for the
documents that are read, not for those rows: a partial unique index replaces the constraint.

Revision ID: 0004_duplicates
Revises: 0003_jpeg_pictures
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_duplicates"
down_revision: str | None = "0003_jpeg_pictures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READ_ONLY_ONCE = sa.text("duplicate_of IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_documents_duplicate_of_documents",
            "documents",
            ["duplicate_of"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.drop_constraint("uq_documents_batch_id_sha256", type_="unique")
    op.create_index(
        "uq_documents_batch_id_sha256_read",
        "documents",
        ["batch_id", "sha256"],
        unique=True,
        sqlite_where=READ_ONLY_ONCE,
        postgresql_where=READ_ONLY_ONCE,
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM documents WHERE duplicate_of IS NOT NULL"))
    op.drop_index("uq_documents_batch_id_sha256_read", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.create_unique_constraint("uq_documents_batch_id_sha256", ["batch_id", "sha256"])
        batch.drop_constraint("fk_documents_duplicate_of_documents", type_="foreignkey")
        batch.drop_column("duplicate_of")
