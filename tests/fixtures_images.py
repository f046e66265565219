"""Fixtures for the images tests."""

from __future__ import annotations
