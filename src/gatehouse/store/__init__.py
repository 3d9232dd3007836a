"""The request log: tables, migrations, the batched writer and the read-side queries.

``Database`` opens SQLite or PostgreSQL and migrates it; ``BatchWriter`` takes the
recorder's batches (spooling while the database is down); ``Queries`` serves the
admin API's listings, traces and stats. See docs/store.md.
"""

from __future__ import annotations

from gatehouse.store.db import Database, SchemaNotCurrent
from gatehouse.store.queries import InvalidQuery, Queries, RequestFilter, RequestPage
from gatehouse.store.records import AttemptRecord, BodyRecord, RequestRecord
from gatehouse.store.stats import GroupBy, GroupStats, Percentiles, StatsReport
from gatehouse.store.writer import BatchWriter

__all__ = [
    "AttemptRecord",
    "BatchWriter",
    "BodyRecord",
    "Database",
    "GroupBy",
    "GroupStats",
    "InvalidQuery",
    "Percentiles",
    "Queries",
    "RequestFilter",
    "RequestPage",
    "RequestRecord",
    "SchemaNotCurrent",
    "StatsReport",
]
