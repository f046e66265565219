"""Fixtures for the db tests."""

from __future__ import annotations
