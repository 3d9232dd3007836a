"""Alembic migrations of the request log, run programmatically by ``Database.upgrade``."""
