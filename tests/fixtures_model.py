"""Fixtures for the model tests."""

from __future__ import annotations
