"""A broad, seeded evaluation corpus of filled and scanned forms (issue 27): see docs/corpus.md."""
