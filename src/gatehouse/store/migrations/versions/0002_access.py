"""Virtual API keys, and the request log's team and user columns for budgets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the types in tables.py: a revision must not change when that does.
Time: sa.Double[float] = sa.Double()

# Spend per team and per owner is summed from the log over a budget period: indexed
# only where set, like key_id in 0001.
_SPARSE = (("team_id", ["team_id", "received_at"]), ("user_id", ["user_id", "received_at"]))


def upgrade() -> None:
    op.add_column("requests", sa.Column("user_id", sa.Text))
    for name, columns in _SPARSE:
        set_only = sa.column(name).isnot(None)
        op.create_index(
            f"ix_requests_{name}",
            "requests",
            columns,
            sqlite_where=set_only,
            postgresql_where=set_only,
        )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("team", sa.Text),
        sa.Column("models", sa.Text, nullable=False),
        sa.Column("expires_at", Time),
        sa.Column("revoked_at", Time),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("limits", sa.Text, nullable=False),
        sa.Column("budget", sa.Text),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_index("ix_api_keys_hash", "api_keys", ["hash"], unique=True)
    op.create_index("ix_api_keys_updated_at", "api_keys", ["updated_at"])


def downgrade() -> None:
    op.drop_table("api_keys")
    for name, _ in reversed(_SPARSE):
        op.drop_index(f"ix_requests_{name}", table_name="requests")
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): batch mode would rebuild the
    # table from reflection, which may not carry the partial indexes' WHERE clauses.
    op.drop_column("requests", "user_id")
