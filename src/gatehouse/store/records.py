"""The shape of what the recorder hands to the store: one record per client call.

This is the request-log schema as the rest of the gateway sees it. Times are Unix
epoch seconds (float); durations are milliseconds; token counts are what the
provider reported (``usage_estimated`` says when they were estimated instead).
Team and subject ids are on every record, and bodies live apart from the record
(with the id of the key that encrypts them) so that erasure and encryption at rest
do not need a rewrite.
"""

from __future__ import annotations

from typing import Any, TypedDict


class AttemptRecord(TypedDict):
    idx: int  # 0-based, in the order attempts started
    span_id: str  # 16 hex: the attempt's span, also sent upstream in traceparent
    model: str  # the public model it served (a fallback's name when it was one)
    deployment: str
    provider: str
    upstream_model: str
    hedge: bool
    started_at: float
    ended_at: float | None
    duration_ms: float | None
    outcome: str  # ok | error | cancelled
    status: int | None  # HTTP status of a failed attempt, as the gateway classed it
    error_type: str | None
    error_code: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None
    cache_write_tokens: int | None  # input tokens written to the prompt cache (Anthropic)
    usage_estimated: bool
    cost_usd: float | None


class BodyRecord(TypedDict):
    request: bytes | None  # the client's request body, as received
    response: bytes | None  # the response as sent (a stream: its SSE text)
    truncated: bool  # cut at recording.max_body_bytes
    encryption_key_id: str | None  # None: stored in clear


class RequestRecord(TypedDict):
    id: str  # the gateway's id of the call (x-request-id unless the client sent one)
    client_request_id: str | None  # the x-request-id the client sent, if any
    trace_id: str  # 32 hex
    span_id: str  # 16 hex: the gateway's span for the whole call
    parent_span_id: str | None  # the client's span, from its traceparent
    sampled: bool  # the trace's sampled flag: the client's, else the gateway's sample_ratio
    session_id: str | None
    subject_id: str | None  # the end user (x-gatehouse-subject or the OpenAI `user` field)
    key_id: str | None  # the API key that made the call (access control fills it)
    team_id: str | None  # the key's team
    user_id: str | None  # the key's owner
    operation: str  # chat | completions | embeddings
    client_api: str  # the API the client called: openai | anthropic (/v1/messages)
    model: str  # the public model the client asked for
    served_model: str | None  # the public model that answered (a fallback's name)
    deployment: str | None
    provider: str | None
    upstream_model: str | None
    stream: bool
    status: int  # HTTP status the client got (499: the client went away)
    error_type: str | None
    error_code: str | None
    error_message: str | None
    received_at: float
    first_token_at: float | None
    done_at: float | None
    latency_ms: float | None  # received → done
    ttft_ms: float | None  # received → first token (streams only)
    itl_ms: float | None  # mean inter-token latency after the first token (streams)
    output_tokens_per_s: float | None
    input_tokens: int | None
    output_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None
    cache_write_tokens: int | None  # input tokens written to the prompt cache (Anthropic)
    usage_estimated: bool
    cost_usd: float | None  # every attempt's cost, not only the winner's
    cache_hit: bool
    finish_reason: str | None
    guard: Any  # guard verdicts (JSON-able), filled by the guardrails
    attempts: list[AttemptRecord]
    metadata: dict[str, str]  # client-supplied, filterable
    body: BodyRecord | None  # None under the `metadata` and `none` policies
