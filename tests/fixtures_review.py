"""Fixtures for the review tests."""

from __future__ import annotations
