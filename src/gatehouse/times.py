"""Durations and points in time as people write them, for the API and the CLI alike.

A duration is ``90s``, ``15m``, ``1h``, ``7d``, ``2w`` or plain seconds; a point in time
is Unix seconds or ISO 8601, read as UTC when it names no zone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float | None:
    """Seconds, or None when ``text`` is not a finite duration."""
    text = text.strip().lower()
    match = _DURATION.fullmatch(text)
    if match:
        return float(match[1]) * _UNITS[match[2]]
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


def parse_time(text: str) -> float | None:
    """Epoch seconds, or None when ``text`` is neither Unix seconds nor ISO 8601."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) else None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
