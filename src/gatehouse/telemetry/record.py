"""Turning a finished Exchange into its request-log record.

Runs off the request path (the recorder drains finished exchanges on the next loop
turn), so it may parse and compute: usage normalised across providers, cost of
every attempt (retries, hedges and cancelled streams included), timings in epoch
seconds, and the bodies when the policy keeps them.
"""

from __future__ import annotations

import logging
from typing import Any, overload

import orjson

from gatehouse.errors import GatehouseError
from gatehouse.guard.bodies import BodyMasker
from gatehouse.pipeline.exchange import Exchange
from gatehouse.store.records import AttemptRecord, BodyRecord, RequestRecord
from gatehouse.telemetry.cost import (
    PriceTable,
    Usage,
    cost_usd,
    estimate_input_tokens,
    estimate_output_tokens,
    normalize_usage,
)

SUBJECT_HEADER = "x-gatehouse-subject"
SESSION_HEADER = "x-gatehouse-session-id"
_MAX_MESSAGE = 1000

log = logging.getLogger("gatehouse.telemetry")


class RecordBuilder:
    """Builds records with the gateway's price table and body policy."""

    def __init__(self, prices: PriceTable, bodies: str, max_body_bytes: int) -> None:
        self.prices = prices
        self.keep_bodies = bodies in ("full", "redacted")
        self.masker: BodyMasker | None = BodyMasker() if bodies == "redacted" else None
        self.max_body_bytes = max_body_bytes

    def build(self, ex: Exchange) -> RequestRecord:
        # perf_counter instants become epoch seconds through the one pair taken together.
        offset = ex.received_wall - ex.received
        body = ex.body
        attempts: list[AttemptRecord] = []
        cost: float | None = None
        estimated = False
        input_estimate: int | None = None
        served_usage: Usage | None = None
        for idx, a in enumerate(ex.attempts):
            usage = normalize_usage(a.usage)
            if a.usage is not None and a.usage is ex.usage:
                served_usage = usage
            a_estimated = False
            if usage is None and a.content_events:
                if input_estimate is None:
                    input_estimate = estimate_input_tokens(body)
                usage = Usage(input_estimate, estimate_output_tokens(a.content_events), 0, 0)
                a_estimated = True
            started_at = a.started + offset
            ended_at = None if a.ended is None else a.ended + offset
            a_cost = None
            if usage is not None:
                price = self.prices.price_for(a.deployment, a.upstream_model, started_at)
                if price is not None:
                    a_cost = cost_usd(usage, price)
                    cost = a_cost if cost is None else cost + a_cost
            estimated = estimated or (a_estimated and a_cost is not None)
            attempts.append(
                {
                    "idx": idx,
                    "span_id": a.span_id,
                    "model": a.model,
                    "deployment": a.deployment,
                    "provider": a.provider,
                    "upstream_model": a.upstream_model,
                    "hedge": a.hedge,
                    "started_at": started_at,
                    "ended_at": ended_at,
                    # From the stored instants, so that a reader computes the same value.
                    "duration_ms": None if ended_at is None else (ended_at - started_at) * 1000.0,
                    "outcome": "cancelled" if a.outcome == "pending" else a.outcome,
                    "status": a.status,
                    "error_type": a.error_type,
                    "error_code": a.error_code,
                    "input_tokens": usage.input if usage else None,
                    "output_tokens": usage.output if usage else None,
                    "cached_tokens": usage.cached if usage else None,
                    "reasoning_tokens": usage.reasoning if usage else None,
                    "cache_write_tokens": usage.cache_write if usage else None,
                    "usage_estimated": a_estimated,
                    "cost_usd": a_cost,
                }
            )

        served = _served_attempt(ex)
        usage = served_usage if served_usage is not None else normalize_usage(ex.usage)
        if usage is None and served is not None and attempts[served]["usage_estimated"]:
            won = attempts[served]
            usage = Usage(won["input_tokens"] or 0, won["output_tokens"] or 0, 0, 0)
            estimated = True
        done = ex.done
        latency_ms = None if done is None else (done - ex.received) * 1000
        ttft_ms = itl_ms = tps = None
        output = usage.output if usage else None
        if ex.first_token is not None:
            ttft_ms = (ex.first_token - ex.received) * 1000
            if done is not None and output:
                generating = done - ex.first_token
                if output > 1:
                    itl_ms = generating * 1000 / (output - 1)
                if generating > 0:
                    tps = output / generating
        elif latency_ms and output:
            tps = output * 1000 / latency_ms

        err = ex.error
        dep = ex.deployment
        metadata = _metadata(ex)
        key = ex.key
        return {
            "id": ex.request_id,
            "client_request_id": ex.client_request_id,
            "trace_id": ex.trace_id,
            "span_id": ex.span_id,
            "parent_span_id": ex.parent_span_id,
            "session_id": _text(_header(ex, SESSION_HEADER) or metadata.get("session_id")),
            "subject_id": _text(_subject(ex)),
            "key_id": key.id if key is not None else None,
            "team_id": key.team if key is not None else None,
            "user_id": key.owner if key is not None else None,
            "operation": ex.operation,
            "client_api": ex.client_api,
            "model": _text(ex.model),
            "served_model": ex.served_model,
            "deployment": dep.name if dep is not None else None,
            "provider": dep.provider.name if dep is not None else None,
            "upstream_model": dep.model if dep is not None else None,
            "stream": ex.stream,
            "status": ex.status,
            "error_type": err.error_type if isinstance(err, GatehouseError) else None,
            "error_code": err.code if isinstance(err, GatehouseError) else None,
            "error_message": _message(err),
            "received_at": ex.received_wall,
            "first_token_at": None if ex.first_token is None else ex.first_token + offset,
            "done_at": None if done is None else done + offset,
            "latency_ms": latency_ms,
            "ttft_ms": ttft_ms,
            "itl_ms": itl_ms,
            "output_tokens_per_s": tps,
            "input_tokens": usage.input if usage else None,
            "output_tokens": output,
            "cached_tokens": usage.cached if usage else None,
            "reasoning_tokens": usage.reasoning if usage else None,
            "cache_write_tokens": usage.cache_write if usage else None,
            "usage_estimated": estimated,
            "cost_usd": cost,
            "cache_hit": ex.cache_hit,
            "finish_reason": _finish_reason(ex.response_data),
            "guard": ex.guard,
            "attempts": attempts,
            "metadata": metadata,
            "body": self._body(ex) if self.keep_bodies else None,
            "sampled": ex.sampled,
        }

    def _body(self, ex: Exchange) -> BodyRecord:
        limit = self.max_body_bytes
        request = ex.raw_body
        if ex.stored_request is not None:  # guardrails blocked or redacted it
            request = ex.stored_request
        if ex.stored_response is not None:  # guardrails changed what the client got
            response: bytes | None = ex.stored_response
        elif ex.response_body is not None:
            response = ex.response_body
        elif ex.captured is not None:
            response = b"".join(ex.captured)
        else:
            response = ex.error.to_json() if isinstance(ex.error, GatehouseError) else None
        if self.masker is not None:
            # Masked later, in the recorder's thread (mask_bodies), not on the event loop;
            # kept a little past the stored length so a value across the cut is still
            # recognised there.
            margin = limit + _MASK_MARGIN
            return {
                "request": None if request is None else request[:margin],
                "response": None if response is None else response[:margin],
                "truncated": False,
                "encryption_key_id": None,
            }
        truncated = False
        if request is not None and len(request) > limit:
            request, truncated = request[:limit], True
        if response is not None and len(response) > limit:
            response, truncated = response[:limit], True
        return {
            "request": request,
            "response": response,
            "truncated": truncated,
            "encryption_key_id": None,
        }

    def mask_bodies(self, records: list[RequestRecord]) -> None:
        """Mask and cut the bodies of records built under ``recording.bodies: redacted``.

        Runs in the recorder's thread, before the records are written.
        """
        masker, limit = self.masker, self.max_body_bytes
        if masker is None:
            return
        for record in records:
            body = record.get("body")
            if body is None:
                continue
            try:
                truncated = False
                for side in ("request", "response"):
                    raw = body[side]
                    if raw is None:
                        continue
                    masked = masker.body(raw)
                    if len(raw) >= limit + _MASK_MARGIN:
                        # Cut before masking: a value split at that cut went unrecognised,
                        # so the margin it sits in is dropped too.
                        masked, truncated = masked[: max(0, len(masked) - _MASK_MARGIN)], True
                    if len(masked) > limit:
                        masked, truncated = masked[:limit], True
                    body[side] = masked
                body["truncated"] = truncated
            except Exception:
                # Never store a body that couldn't be masked; the record itself stays.
                log.exception("masking a stored body failed; the body is not stored")
                record["body"] = None


_MASK_MARGIN = 4096


def _served_attempt(ex: Exchange) -> int | None:
    for i in range(len(ex.attempts) - 1, -1, -1):
        if ex.attempts[i].outcome == "ok" or (
            ex.deployment is not None and ex.attempts[i].deployment == ex.deployment.name
        ):
            return i
    return None


def _header(ex: Exchange, name: str) -> str | None:
    if ex.headers is None:
        return None
    value = ex.headers.get(name)
    return value[:256] if value else None


def _subject(ex: Exchange) -> str | None:
    subject = _header(ex, SUBJECT_HEADER)
    if subject:
        return subject
    for field in ("user", "safety_identifier"):
        value = ex.body.get(field)
        if isinstance(value, str) and value:
            return value[:256]
    return None


def _metadata(ex: Exchange) -> dict[str, str]:
    """The header's pairs over the OpenAI ``metadata`` field's (both string to string)."""
    out: dict[str, str] = {}
    given = ex.body.get("metadata")
    if isinstance(given, dict):
        for key, value in list(given.items())[:16]:
            if isinstance(key, str) and key and isinstance(value, str | int | float | bool):
                text = orjson.dumps(value).decode() if not isinstance(value, str) else value
                out[_text(key[:64])] = _text(text[:512])
    if ex.metadata:
        out.update(ex.metadata)
    return out


@overload
def _text(value: str) -> str: ...
@overload
def _text(value: str | None) -> str | None: ...
def _text(value: str | None) -> str | None:
    """Client text as a database takes it: PostgreSQL's text type cannot hold NUL."""
    if value is not None and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def _message(err: Exception | None) -> str | None:
    if err is None:
        return None
    text = err.message if isinstance(err, GatehouseError) else type(err).__name__
    return text[:_MAX_MESSAGE]


def _finish_reason(data: dict[str, Any] | None) -> str | None:
    if not data:
        return None
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
        return reason if isinstance(reason, str) else None
    return None
