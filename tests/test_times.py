"""Durations and times as people write them."""

from __future__ import annotations

from gatehouse.times import parse_duration, parse_time


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration(" 15m ") == 900
    assert parse_duration("1.5h") == 5400
    assert parse_duration("7d") == 7 * 86_400
    assert parse_duration("2W") == 14 * 86_400
    assert parse_duration("30") == 30
    for bad in ("", "soon", "5y", "inf", "nan", "1h30m"):
        assert parse_duration(bad) is None, bad


def test_times() -> None:
    assert parse_time("1700000000") == 1_700_000_000
    assert parse_time("2026-12-31T00:00:00Z") == parse_time("2026-12-31")  # no zone: UTC
    assert parse_time("2026-12-31T01:00:00+01:00") == parse_time("2026-12-31T00:00:00Z")
    for bad in ("", "tomorrow", "inf", "2026-13-01"):
        assert parse_time(bad) is None, bad
