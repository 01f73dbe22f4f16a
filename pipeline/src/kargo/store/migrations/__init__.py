"""Alembic migrations of the store, run programmatically (no alembic.ini)."""
