"""Bodies as the store keeps them under ``recording.bodies: redacted``.

Every string of a JSON body (or of each event of a stored stream) has what the
inline scanners find masked as ``<TYPE>``. It runs when the record is built, off the
request path; the heavy scanners are not used here.
"""

from __future__ import annotations

from typing import Any

import orjson

from gatehouse.guard.redaction import mask
from gatehouse.guard.scanners.base import Scanner
from gatehouse.guard.scanners.registry import build

#: What the store masks: the pattern scanners, at the policies' default threshold.
STORAGE_SCANNERS = ("pii", "secrets")
STORAGE_THRESHOLD = 0.5


class BodyMasker:
    def __init__(self, scanners: tuple[str, ...] = STORAGE_SCANNERS) -> None:
        self.scanners: list[Scanner] = [build(name) for name in scanners]

    def text(self, value: str) -> str:
        found = [
            f
            for scanner in self.scanners
            for f in scanner.scan(value)
            if f.score >= STORAGE_THRESHOLD
        ]
        return mask(value, found) if found else value

    def body(self, raw: bytes) -> bytes:
        """``raw`` (JSON, or SSE events of JSON) with its strings masked."""
        try:
            return orjson.dumps(self._walk(orjson.loads(raw)))
        except orjson.JSONDecodeError:
            pass
        if raw.lstrip().startswith(b"data:"):
            events = []
            for event in raw.split(b"\n\n"):
                if event.startswith(b"data:") and not event.startswith(b"data: [DONE]"):
                    try:
                        event = b"data: " + orjson.dumps(self._walk(orjson.loads(event[5:])))
                    except orjson.JSONDecodeError:
                        event = self.text(event.decode("utf-8", "replace")).encode()
                events.append(event)
            return b"\n\n".join(events)
        return self.text(raw.decode("utf-8", "replace")).encode()

    def _walk(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            return {k: self._walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._walk(v) for v in node]
        return node
