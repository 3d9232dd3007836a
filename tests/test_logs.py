"""JSON log lines carry an event's fields."""

from __future__ import annotations

import logging

import orjson

from gatehouse.logs import JsonFormatter


def test_json_lines_carry_extra_fields() -> None:
    record = logging.LogRecord("gatehouse.events", logging.WARNING, "f", 1, "crossed", None, None)
    record.event = "budget.threshold"
    record.threshold = 0.8
    line = orjson.loads(JsonFormatter().format(record))
    assert line["event"] == "budget.threshold" and line["threshold"] == 0.8
    assert line["msg"] == "crossed" and line["logger"] == "gatehouse.events"
    plain = orjson.loads(
        JsonFormatter().format(logging.LogRecord("x", logging.INFO, "f", 1, "m", None, None))
    )
    assert set(plain) == {"ts", "level", "logger", "msg", "request_id"}
