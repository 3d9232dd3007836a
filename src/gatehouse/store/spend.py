"""Settled spend from the request log: what keys, teams and users paid since a time,
and when each key was last used.

Budgets count reservations live (guard/limits.py); this is the ground truth they are
raised to, and what ``gatehouse keys show`` reports. Synchronous: run it in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa

from gatehouse.store.db import Database
from gatehouse.store.tables import requests

SpendColumn = Literal["key_id", "team_id", "user_id"]
_COLUMNS: frozenset[str] = frozenset({"key_id", "team_id", "user_id"})
# Ids per query: far below SQLite's bound-parameter limit, and plans stay simple.
_CHUNK = 500


def settled_spend(
    database: Database,
    column: SpendColumn,
    since: float,
    ids: Sequence[str] | None = None,
) -> dict[str, float]:
    """USD spent per id of ``column`` in calls received at or after ``since``.

    ``ids`` limits the answer to those ids (all of them when None). Calls without an id
    in that column are not counted, and ids with no call are absent, not 0.0.
    """
    if column not in _COLUMNS:
        raise ValueError(f"cannot sum spend by {column!r}: use key_id, team_id or user_id")
    owner = requests.c[column]
    # `owner IS NOT NULL` lets the partial index on (owner, received_at) serve the query.
    query = (
        sa.select(owner, sa.func.sum(requests.c.cost_usd))
        .where(owner.isnot(None), requests.c.received_at >= since)
        .group_by(owner)
    )
    if ids is None:
        chunks: list[Sequence[str] | None] = [None]
    else:
        unique = sorted(set(ids))
        chunks = [unique[i : i + _CHUNK] for i in range(0, len(unique), _CHUNK)]
    spent: dict[str, float] = {}
    with database.engine.connect() as conn:
        for chunk in chunks:
            bounded = query if chunk is None else query.where(owner.in_(chunk))
            for owner_id, total in conn.execute(bounded):
                spent[owner_id] = float(total or 0.0)
    return spent


def last_used(database: Database, key_ids: Sequence[str]) -> dict[str, float]:
    """When each key's latest recorded call arrived; keys with none are absent.

    One indexed lookup per key (the newest entry of (key_id, received_at)), not a
    GROUP BY, which would read every call of a busy key.
    """
    newest = (
        sa.select(sa.func.max(requests.c.received_at))
        .where(requests.c.key_id == sa.bindparam("key_id"))
        .scalar_subquery()
    )
    query = sa.select(newest)
    found: dict[str, float] = {}
    with database.engine.connect() as conn:
        for key_id in dict.fromkeys(key_ids):
            at = conn.execute(query, {"key_id": key_id}).scalar()
            if at is not None:
                found[key_id] = float(at)
    return found
