"""digitize: handwritten digits off scanned forms into a SQL database."""

from __future__ import annotations

__version__ = "0.1.0"
