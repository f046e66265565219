"""The whole schema: jobs (batches, documents, blobs), results (pages, fields, digits) and review.

Large binary columns (field images, digit crops, page previews, original bytes) are deferred so the
result and queue queries never load them unless asked. ``Field.version`` is a SQLAlchemy version
counter: an UPDATE that lost a race raises ``StaleDataError`` instead of silently overwriting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Document life cycle. ``queued`` and ``processing`` are re-enqueued by ``recover`` when stale.
#: ``duplicate`` lists a file whose bytes an earlier document holds (``duplicate_of``): never read.
QUEUED, PROCESSING, DONE, FAILED = "queued", "processing", "done", "failed"
DUPLICATE = "duplicate"
DOCUMENT_STATUSES = (QUEUED, PROCESSING, DONE, FAILED, DUPLICATE)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(150), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in browser. The signed cookie carries a random id; only its SHA-256 is stored.

    A request is let in while the row is not revoked (sign-out, password change, user disabled)
    and not expired, and its user is active.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Batch(Base):
    """One submission (a ``process``/``submit`` run or a ``watch`` session)."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    origin: Mapped[str] = mapped_column(String(20), default="process")  # process|submit|watch
    #: Template files (absolute paths) every worker reads this batch with; [] = settings/free.
    templates: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    documents: Mapped[list[Document]] = relationship(back_populates="batch")


class Blob(Base):
    """Original bytes kept in the database (the default storage), keyed by SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Document(Base):
    __tablename__ = "documents"
    # One document read per file per batch: a repeated submission cannot create a twin to read
    # (its repeats are listed as ``duplicate`` rows, which the partial index leaves out).
    __table_args__ = (
        Index(
            "uq_documents_batch_id_sha256_read",
            "batch_id",
            "sha256",
            unique=True,
            sqlite_where=text("duplicate_of IS NULL"),
            postgresql_where=text("duplicate_of IS NULL"),
        ),
        Index("ix_documents_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(1024))  # the original file name
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    storage: Mapped[str] = mapped_column(String(16), default="db")  # db|dir
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    worker: Mapped[str | None] = mapped_column(String(255))
    timings_ms: Mapped[dict[str, Any] | None]
    #: For a ``duplicate``: the earlier document with the same bytes, which holds the reading.
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )

    batch: Mapped[Batch] = relationship(back_populates="documents")
    pages: Mapped[list[Page]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="Page.number"
    )


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based
    template: Mapped[str | None] = mapped_column(String(255))
    registration_quality: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    #: Downscaled greyscale JPEG of the page as read, for "show the field on the page"
    #: (PNG when stored before migration 0003).
    preview_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    preview_scale: Mapped[float | None] = mapped_column(Float)  # preview px / page px
    timings_ms: Mapped[dict[str, Any] | None]

    document: Mapped[Document] = relationship(back_populates="pages")
    fields: Mapped[list[Field]] = relationship(
        back_populates="page", cascade="all, delete-orphan", order_by="Field.position"
    )


class Field(Base):
    __tablename__ = "fields"
    __table_args__ = (
        Index("ix_fields_needs_review_confidence", "needs_review", "confidence"),
        Index("ix_fields_batch_id_needs_review", "batch_id", "needs_review"),
        # The review queue: fields still waiting for a person (migration 0002_review_queue).
        Index(
            "ix_fields_pending",
            "confidence",
            "id",
            postgresql_where=text("needs_review AND reviewed_at IS NULL"),
            sqlite_where=text("needs_review = 1 AND reviewed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    # Denormalised for the result and review-queue queries (no joins on 100k-row tables).
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    template: Mapped[str | None] = mapped_column(String(255), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on the page
    name: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str] = mapped_column(String(255), default="")
    confidence: Mapped[float] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    box: Mapped[list[Any]] = mapped_column()  # [x, y, w, h] in page pixels
    image_jpeg: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # PNG < 0003
    # Review: the person's value replaces ``value`` in results.
    reviewed_value: Mapped[str | None] = mapped_column(String(255))
    review_status: Mapped[str | None] = mapped_column(String(20))  # confirmed|corrected|unreadable
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    locked_until: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    page: Mapped[Page] = relationship(back_populates="fields")
    digits: Mapped[list[Digit]] = relationship(
        back_populates="field", cascade="all, delete-orphan", order_by="Digit.position"
    )


class Digit(Base):
    __tablename__ = "digits"
    __table_args__ = (Index("ix_digits_needs_review_value", "needs_review", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("fields.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    value: Mapped[int | None] = mapped_column(Integer)  # None: "not a digit"
    confidence: Mapped[float] = mapped_column(Float)
    alternatives: Mapped[list[Any]] = mapped_column(default=list)  # [[digit, prob], ...]
    box: Mapped[list[Any]] = mapped_column()
    crop_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    corrected_value: Mapped[int | None] = mapped_column(Integer)
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    field: Mapped[Field] = relationship(back_populates="digits")


class ReviewEvent(Base):
    """The audit trail: every change a person made, old → new."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    username: Mapped[str] = mapped_column(String(150))  # kept if the user is deleted
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(20))  # confirm|correct|unreadable|skip
    field_id: Mapped[int | None] = mapped_column(
        ForeignKey("fields.id", ondelete="CASCADE"), index=True
    )
    digit_id: Mapped[int | None] = mapped_column(
        ForeignKey("digits.id", ondelete="CASCADE"), index=True
    )
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str | None] = mapped_column(String(255))
