"""What a call carries besides its body: trace context and the client's metadata.

Read from the headers when the call arrives: ``traceparent`` (W3C Trace Context)
joins the call to the client's trace, or a new trace starts; ``x-gatehouse-metadata``
is a JSON object of labels stored with the call's record and filterable later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson

from gatehouse.errors import InvalidRequest
from gatehouse.pipeline.exchange import Exchange
from gatehouse.telemetry.tracing import new_span_id, new_trace_id, parse_traceparent

METADATA_HEADER = "x-gatehouse-metadata"
MAX_METADATA_KEYS = 16
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 512


def start_trace(
    exchange: Exchange,
    headers: Mapping[str, str],
    sample: Callable[[str, bool | None], bool] | None = None,
) -> None:
    """Join the client's trace or start one; ``sample`` decides a new trace's flag."""
    given = headers.get("traceparent")
    parsed = parse_traceparent(given) if given else None
    if parsed is None:
        exchange.trace_id = new_trace_id()
        if sample is not None:
            exchange.sampled = sample(exchange.trace_id, None)
    else:
        exchange.trace_id, exchange.parent_span_id, exchange.sampled = parsed
    exchange.span_id = new_span_id()


def parse_metadata(raw: str) -> dict[str, str]:
    """The header's JSON object, as string pairs; 400 for anything else."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"{METADATA_HEADER} must be a JSON object of string keys to string values",
            code="invalid_metadata",
        )
    if len(value) > MAX_METADATA_KEYS:
        raise InvalidRequest(
            f"{METADATA_HEADER} has {len(value)} keys; at most {MAX_METADATA_KEYS} are allowed",
            code="invalid_metadata",
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        if not key or len(key) > MAX_KEY_CHARS:
            raise InvalidRequest(
                f"{METADATA_HEADER}: keys must be 1 to {MAX_KEY_CHARS} characters",
                code="invalid_metadata",
            )
        if isinstance(item, bool | int | float):
            item = orjson.dumps(item).decode()
        if not isinstance(item, str) or len(item) > MAX_VALUE_CHARS or "\x00" in item + key:
            raise InvalidRequest(
                f"{METADATA_HEADER}: the value of {key!r} must be a string (or number) of at "
                f"most {MAX_VALUE_CHARS} characters, without NUL",
                code="invalid_metadata",
            )
        out[key] = item
    return out
