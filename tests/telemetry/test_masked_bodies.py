"""recording.bodies: redacted — bodies masked in the recorder's thread, never stored raw."""

from __future__ import annotations

from typing import Any

import orjson

from gatehouse.telemetry.cost import PriceTable
from gatehouse.telemetry.record import RecordBuilder

EMAIL = "ann.smith@example.com"


def _record(request: bytes | None, response: bytes | None) -> dict[str, Any]:
    body = {"request": request, "response": response, "truncated": False}
    return {"body": body | {"encryption_key_id": None}}


def _builder(limit: int = 1 << 20) -> RecordBuilder:
    return RecordBuilder(PriceTable(), "redacted", limit)


def test_one_bad_body_doesnt_let_the_others_through_unmasked():
    deep = b'{"a":' * 900 + b"1" + b"}" * 900  # deeper than a recursive walk goes
    records = [
        _record(deep, None),
        _record(orjson.dumps({"m": EMAIL}), None),
        _record(b"\xff\xfe not json " + EMAIL.encode(), None),
    ]
    _builder().mask_bodies(records)  # type: ignore[arg-type]
    for record in records:
        assert record["body"] is None or EMAIL.encode() not in (record["body"]["request"] or b"")
    assert records[1]["body"]["request"] == b'{"m":"<EMAIL_ADDRESS>"}'


def test_a_stored_stream_masks_error_events_and_values_across_chunks():
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "mail ann.smith@exa"}}]},
        {"choices": [{"index": 0, "delta": {"content": "mple.com now"}}]},
        {"error": {"message": f"upstream said {EMAIL}"}},
    ]
    raw = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    records = [_record(None, raw)]
    _builder().mask_bodies(records)  # type: ignore[arg-type]
    stored = records[0]["body"]["response"]
    assert b"ann.smith" not in stored and b"example.com" not in stored
    assert stored.count(b"<EMAIL_ADDRESS>") == 2


def test_a_body_cut_before_masking_is_marked_truncated_and_keeps_no_partial_value():
    limit = 1000
    text = "x " * 2540 + "card 4111 1111 1111 1111 end"  # the card straddles the cut
    record = _record(orjson.dumps({"t": text})[: limit + 4096], None)
    _builder(limit).mask_bodies([record])  # type: ignore[list-item]
    body = record["body"]
    assert body["truncated"] is True and len(body["request"]) <= limit
    assert b"4111" not in body["request"]
