"""One call to one deployment, successful or not, as kept on the Exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Attempt:
    model: str  # the public model this attempt served (a fallback's name when it was one)
    deployment: str
    started: float
    ended: float | None = None
    outcome: str = "pending"  # ok | error | cancelled
    error_type: str | None = None
    error_code: str | None = None
    status: int | None = None
    hedge: bool = False
    usage: dict[str, Any] | None = None
    span_id: str = ""  # its span; the upstream gets it as the parent in traceparent
    provider: str = ""
    upstream_model: str = ""
    content_events: int = 0  # stream events relayed: the output estimate without usage

    def describe(self) -> str:
        text = f"{self.model}={self.deployment}"
        if self.hedge:
            text += " [hedge]"
        if self.outcome not in ("ok", "pending"):  # pending: the stream being relayed
            text += f" ({self.outcome}" + (f": {self.error_code}" if self.error_code else "") + ")"
        return text
