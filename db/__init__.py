"""Storage: SQLAlchemy models, engine/session creation, queries and Alembic migrations."""
