"""The request log: requests, their attempts, metadata pairs and bodies.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the types in tables.py: a revision must not change when that does.
Time: sa.Double[float] = sa.Double()


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("client_request_id", sa.Text),
        sa.Column("trace_id", sa.Text, nullable=False),
        sa.Column("span_id", sa.Text, nullable=False),
        sa.Column("parent_span_id", sa.Text),
        sa.Column("session_id", sa.Text),
        sa.Column("subject_id", sa.Text),
        sa.Column("key_id", sa.Text),
        sa.Column("team_id", sa.Text),
        sa.Column("operation", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("served_model", sa.Text),
        sa.Column("deployment", sa.Text),
        sa.Column("provider", sa.Text),
        sa.Column("upstream_model", sa.Text),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_type", sa.Text),
        sa.Column("error_code", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("received_at", Time, nullable=False),
        sa.Column("first_token_at", Time),
        sa.Column("done_at", Time),
        sa.Column("latency_ms", sa.Double),
        sa.Column("ttft_ms", sa.Double),
        sa.Column("itl_ms", sa.Double),
        sa.Column("output_tokens_per_s", sa.Double),
        sa.Column("input_tokens", sa.Integer),
        sa.Column("output_tokens", sa.Integer),
        sa.Column("cached_tokens", sa.Integer),
        sa.Column("reasoning_tokens", sa.Integer),
        sa.Column("usage_estimated", sa.Boolean, nullable=False),
        sa.Column("cost_usd", sa.Double),
        sa.Column("cache_hit", sa.Boolean, nullable=False),
        sa.Column("finish_reason", sa.Text),
        sa.Column("guard", sa.Text),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("attempt_span_id", sa.Text),
        sa.Column("attempt_started_at", Time),
    )
    op.create_index("ix_requests_received_at", "requests", ["received_at"])
    op.create_index("ix_requests_model_received_at", "requests", ["model", "received_at"])
    op.create_index(
        "ix_requests_served_model_received_at", "requests", ["served_model", "received_at"]
    )
    op.create_index("ix_requests_deployment_received_at", "requests", ["deployment", "received_at"])
    op.create_index("ix_requests_trace_id", "requests", ["trace_id"])
    for name, columns in (
        ("key_id", ["key_id", "received_at"]),
        ("subject_id", ["subject_id"]),
        ("session_id", ["session_id"]),
        ("client_request_id", ["client_request_id"]),
    ):
        set_only = sa.column(name).isnot(None)
        op.create_index(
            f"ix_requests_{name}",
            "requests",
            columns,
            sqlite_where=set_only,
            postgresql_where=set_only,
        )

    op.create_table(
        "request_attempts",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("span_id", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("deployment", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("upstream_model", sa.Text, nullable=False),
        sa.Column("hedge", sa.Boolean, nullable=False),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time),
        sa.Column("duration_ms", sa.Double),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("error_type", sa.Text),
        sa.Column("error_code", sa.Text),
        sa.Column("input_tokens", sa.Integer),
        sa.Column("output_tokens", sa.Integer),
        sa.Column("cached_tokens", sa.Integer),
        sa.Column("reasoning_tokens", sa.Integer),
        sa.Column("usage_estimated", sa.Boolean, nullable=False),
        sa.Column("cost_usd", sa.Double),
    )
    op.create_index(
        "ix_request_attempts_deployment_started_at",
        "request_attempts",
        ["deployment", "started_at"],
    )

    op.create_table(
        "request_metadata",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_request_metadata_key_value", "request_metadata", ["key", "value"])

    op.create_table(
        "request_bodies",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("request", sa.LargeBinary),
        sa.Column("response", sa.LargeBinary),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.Column("encryption_key_id", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("request_bodies")
    op.drop_table("request_metadata")
    op.drop_table("request_attempts")
    op.drop_table("requests")
