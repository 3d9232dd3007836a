"""Budget periods: calendar days, ISO weeks and months in UTC, or the key's whole life.

Every process that counts spend must agree on where a period starts and how it is
named, so these are pure functions of the period and an epoch time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("day", "week", "month", "total")


def _utc(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _start(period: str, now: float) -> datetime | None:
    day = _utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())  # back to Monday
    if period == "month":
        return day.replace(day=1)
    if period == "total":
        return None
    raise ValueError(f"unknown budget period {period!r}: use one of {', '.join(PERIODS)}")


def period_start(period: str, now: float) -> float:
    """Epoch seconds at which the period holding ``now`` began (0.0 for ``total``)."""
    start = _start(period, now)
    return 0.0 if start is None else start.timestamp()


def period_end(period: str, now: float) -> float | None:
    """Epoch seconds at which the period holding ``now`` ends; None for ``total``."""
    start = _start(period, now)
    if start is None:
        return None
    if period == "day":
        return (start + timedelta(days=1)).timestamp()
    if period == "week":
        return (start + timedelta(days=7)).timestamp()
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1).timestamp()
    return start.replace(month=start.month + 1).timestamp()


def period_label(period: str, now: float) -> str:
    """The period's name: ``2026-11-29``, ``2026-W48`` (ISO week), ``2026-11`` or ``total``."""
    start = _start(period, now)
    if start is None:
        return "total"
    if period == "day":
        return start.strftime("%Y-%m-%d")
    if period == "week":
        # The ISO year: the week of Monday 2024-12-30 is 2025-W01.
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m")
