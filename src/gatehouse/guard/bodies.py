"""Bodies as the store keeps them under ``recording.bodies: redacted``.

Every string of a JSON body (or of each event of a stored stream) has what the
inline scanners find masked as ``<TYPE>``. It runs when the record is built, off the
request path; the heavy scanners are not used here.
"""

from __future__ import annotations

from typing import Any

import orjson

from gatehouse.guard.redaction import mask, mask_pieces
from gatehouse.guard.scanners.base import Finding, Scanner
from gatehouse.guard.scanners.registry import build
from gatehouse.routing.streams import event_data

#: What the store masks: the pattern scanners, at the policies' default threshold.
STORAGE_SCANNERS = ("pii", "secrets")
STORAGE_THRESHOLD = 0.5


class BodyMasker:
    def __init__(self, scanners: tuple[str, ...] = STORAGE_SCANNERS) -> None:
        self.scanners: list[Scanner] = [build(name) for name in scanners]

    def text(self, value: str) -> str:
        found = self._found(value)
        return mask(value, found) if found else value

    def body(self, raw: bytes) -> bytes:
        """``raw`` (JSON, or SSE events of JSON) with its strings masked."""
        try:
            return orjson.dumps(self._walk(orjson.loads(raw)))
        except orjson.JSONDecodeError:
            pass
        except RecursionError:  # JSON nested deeper than the walk goes: mask it as text
            return self.text(raw.decode("utf-8", "replace")).encode()
        if b"data:" in raw[:256]:
            return self._stream(raw)
        return self.text(raw.decode("utf-8", "replace")).encode()

    def _stream(self, raw: bytes) -> bytes:
        """A stream's events, each text masked as a whole: a value split across chunks
        is found in the joined text and masked in every chunk it touches."""
        from gatehouse.guard.streaming import texts_of

        events: list[bytes | dict[str, Any]] = []
        pieces: dict[tuple[int, int], list[tuple[dict[str, Any], str]]] = {}
        for event in raw.split(b"\n\n"):
            chunk = event_data(event)
            if not isinstance(chunk, dict):  # [DONE], comments, text that isn't JSON
                events.append(self._raw(event))
                continue
            choices = chunk.get("choices")
            if isinstance(choices, list):
                completions = chunk.get("object") == "text_completion" or any(
                    isinstance(c, dict) and "delta" not in c and "text" in c for c in choices
                )
                for holder, key, text_key, _ in texts_of(chunk, completions):
                    if isinstance(holder.get(key), str):
                        pieces.setdefault(text_key, []).append((holder, key))
            events.append(chunk)
        for places in pieces.values():
            texts = [holder[key] for holder, key in places]
            found = self._found("".join(texts))
            if found:
                for (holder, key), masked in zip(places, mask_pieces(texts, found), strict=True):
                    holder[key] = masked
        # Every other string (an error event's message, a refusal, ids) on its own.
        return b"\n\n".join(
            e if isinstance(e, bytes) else b"data: " + orjson.dumps(self._walk(e)) for e in events
        )

    def _raw(self, event: bytes) -> bytes:
        return self.text(event.decode("utf-8", "replace")).encode()

    def _found(self, value: str) -> list[Finding]:
        return [
            f
            for scanner in self.scanners
            for f in scanner.scan(value)
            if f.score >= STORAGE_THRESHOLD
        ]

    def _walk(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            return {k: self._walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._walk(v) for v in node]
        return node
