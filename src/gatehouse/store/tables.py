"""The store's schema: the request log's four tables and the API keys, in one ``MetaData``.

``requests`` holds one row per client call; attempts, metadata pairs and bodies live
in their own tables keyed by ``request_id``, so a call's rows are erased with four
``DELETE … WHERE request_id IN (…)`` and bodies can be dropped or re-encrypted alone.
There are no foreign keys: they would cost every insert a lookup, and the writer
always inserts a call's rows together in one transaction.

The column order of ``requests`` and ``request_attempts`` is the order of the record's
fields: the writer builds rows as tuples in that order.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Epoch seconds and durations need more than float4's 7 digits.
Time: sa.Double[float] = sa.Double()
Millis: sa.Double[float] = sa.Double()

#: Indexes over columns that are often NULL: partial (WHERE column IS NOT NULL).
SPARSE_INDEXES: dict[str, tuple[str, ...]] = {
    "key_id": ("key_id", "received_at"),
    "team_id": ("team_id", "received_at"),
    "user_id": ("user_id", "received_at"),
    "subject_id": ("subject_id",),
    "session_id": ("session_id",),
    "client_request_id": ("client_request_id",),
}

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("client_request_id", sa.Text),
    sa.Column("trace_id", sa.Text, nullable=False),
    sa.Column("span_id", sa.Text, nullable=False),
    sa.Column("parent_span_id", sa.Text),
    sa.Column("session_id", sa.Text),
    sa.Column("subject_id", sa.Text),
    sa.Column("key_id", sa.Text),
    sa.Column("team_id", sa.Text),
    sa.Column("user_id", sa.Text),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("client_api", sa.Text),  # openai | anthropic (null: logged before 0003)
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
    sa.Column("latency_ms", Millis),
    sa.Column("ttft_ms", Millis),
    sa.Column("itl_ms", Millis),
    sa.Column("output_tokens_per_s", sa.Double),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("cached_tokens", sa.Integer),
    sa.Column("reasoning_tokens", sa.Integer),
    sa.Column("cache_write_tokens", sa.Integer),
    sa.Column("usage_estimated", sa.Boolean, nullable=False),
    sa.Column("cost_usd", sa.Double),
    sa.Column("cache_hit", sa.Boolean, nullable=False),
    sa.Column("finish_reason", sa.Text),
    # Derived by the writer, not fields of the record's scalars: the guard verdicts as
    # JSON text and the number of attempts (so listings need no join).
    sa.Column("guard", sa.Text),
    sa.Column("attempt_count", sa.Integer, nullable=False),
    # A call served by its one and only attempt keeps that attempt here, not as a row of
    # request_attempts (most calls: one row written instead of two). The attempt's other
    # fields are the call's own (deployment, usage, cost, done_at).
    sa.Column("attempt_span_id", sa.Text),
    sa.Column("attempt_started_at", Time),
    sa.Index("ix_requests_received_at", "received_at"),
    sa.Index("ix_requests_model_received_at", "model", "received_at"),
    sa.Index("ix_requests_served_model_received_at", "served_model", "received_at"),
    sa.Index("ix_requests_deployment_received_at", "deployment", "received_at"),
    sa.Index("ix_requests_trace_id", "trace_id"),
    # Columns most calls leave empty are indexed only where set: an empty one costs
    # an insert nothing.
    *(
        sa.Index(
            f"ix_requests_{name}",
            *columns,
            sqlite_where=sa.column(name).isnot(None),
            postgresql_where=sa.column(name).isnot(None),
        )
        for name, columns in SPARSE_INDEXES.items()
    ),
)

request_attempts = sa.Table(
    "request_attempts",
    metadata,
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
    sa.Column("duration_ms", Millis),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error_type", sa.Text),
    sa.Column("error_code", sa.Text),
    sa.Column("input_tokens", sa.Integer),
    sa.Column("output_tokens", sa.Integer),
    sa.Column("cached_tokens", sa.Integer),
    sa.Column("reasoning_tokens", sa.Integer),
    sa.Column("cache_write_tokens", sa.Integer),
    sa.Column("usage_estimated", sa.Boolean, nullable=False),
    sa.Column("cost_usd", sa.Double),
    sa.Index("ix_request_attempts_deployment_started_at", "deployment", "started_at"),
)

request_metadata = sa.Table(
    "request_metadata",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_request_metadata_key_value", "key", "value"),
)

request_bodies = sa.Table(
    "request_bodies",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("request", sa.LargeBinary),
    sa.Column("response", sa.LargeBinary),
    sa.Column("truncated", sa.Boolean, nullable=False),
    sa.Column("encryption_key_id", sa.Text),
)

# Fields of RequestRecord and AttemptRecord, in column order (the columns the writer
# fills straight from the record: all but the four derived ones at the end of
# `requests` — guard, attempt_count, attempt_span_id, attempt_started_at — and
# `request_id`).
REQUEST_FIELDS: tuple[str, ...] = tuple(c.name for c in requests.columns)[:-4]
ATTEMPT_FIELDS: tuple[str, ...] = tuple(c.name for c in request_attempts.columns)[1:]

# Virtual API keys (guard/keystore.py). Not part of the request log: the writer never
# touches it. The secret itself is never stored, only its SHA-256 (`hash`); list and
# object columns are JSON text, so both databases read them the same way.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
    sa.Column("roles", sa.Text, nullable=False),  # JSON list of role names
    sa.Column("owner", sa.Text),
    sa.Column("team", sa.Text),
    sa.Column("models", sa.Text, nullable=False),  # JSON list of names or patterns
    sa.Column("expires_at", Time),
    sa.Column("revoked_at", Time),
    sa.Column("metadata", sa.Text, nullable=False),  # JSON object, str → str
    sa.Column("limits", sa.Text, nullable=False),  # KeyLimits, defaults left out
    sa.Column("budget", sa.Text),  # BudgetConfig or NULL
    sa.Column("created_at", Time, nullable=False),
    # Every write moves it forward: workers poll for keys changed since their last look.
    sa.Column("updated_at", Time, nullable=False),
    sa.Index("ix_api_keys_hash", "hash", unique=True),
    sa.Index("ix_api_keys_updated_at", "updated_at"),
)
