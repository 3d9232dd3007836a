"""What Anthropic's API brought to the request log: the input tokens a call wrote to the
provider's prompt cache (Anthropic's cache creation), and which API the client called.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: adding it is a catalogue change on both databases,
    # not a rewrite of the log.
    op.add_column("requests", sa.Column("cache_write_tokens", sa.Integer))
    op.add_column("request_attempts", sa.Column("cache_write_tokens", sa.Integer))
    op.add_column("requests", sa.Column("client_api", sa.Text))


def downgrade() -> None:
    # A plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), as in 0002.
    op.drop_column("requests", "client_api")
    op.drop_column("request_attempts", "cache_write_tokens")
    op.drop_column("requests", "cache_write_tokens")
