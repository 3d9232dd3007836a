from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gatehouse.guard.periods import period_end, period_label, period_start


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


SUNDAY = ts("2026-11-29T15:30:12")


@pytest.mark.parametrize(
    ("period", "start", "end", "label"),
    [
        ("day", "2026-11-29T00:00:00", "2026-11-30T00:00:00", "2026-11-29"),
        ("week", "2026-11-23T00:00:00", "2026-11-30T00:00:00", "2026-W48"),
        ("month", "2026-11-01T00:00:00", "2026-12-01T00:00:00", "2026-11"),
    ],
)
def test_calendar_periods_in_utc(period: str, start: str, end: str, label: str) -> None:
    assert period_start(period, SUNDAY) == ts(start)
    assert period_end(period, SUNDAY) == ts(end)
    assert period_label(period, SUNDAY) == label


def test_total_has_no_start_or_end() -> None:
    assert period_start("total", SUNDAY) == 0.0
    assert period_end("total", SUNDAY) is None
    assert period_label("total", SUNDAY) == "total"


def test_a_boundary_belongs_to_the_period_it_starts() -> None:
    monday = ts("2026-11-30T00:00:00")
    assert period_start("week", monday) == monday
    assert period_label("week", monday) == "2026-W49"
    assert period_start("day", monday - 0.001) == ts("2026-11-29T00:00:00")


def test_december_ends_at_new_year_and_weeks_use_the_iso_year() -> None:
    new_years_eve = ts("2024-12-31T23:59:59")
    assert period_end("month", new_years_eve) == ts("2025-01-01T00:00:00")
    assert period_label("month", new_years_eve) == "2024-12"
    # Monday 2024-12-30 starts ISO week 1 of 2025.
    assert period_start("week", new_years_eve) == ts("2024-12-30T00:00:00")
    assert period_label("week", new_years_eve) == "2025-W01"
    # Friday 2027-01-01 is still in 2026's last ISO week, which began on Monday 2026-12-28.
    assert period_label("week", ts("2027-01-01T12:00:00")) == "2026-W53"


def test_the_local_time_zone_does_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    try:
        assert period_start("day", SUNDAY) == ts("2026-11-29T00:00:00")
        assert period_label("day", ts("2026-11-29T23:00:00")) == "2026-11-29"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown budget period 'year'"):
        period_start("year", SUNDAY)
    with pytest.raises(ValueError):
        period_label("fortnight", SUNDAY)
