"""Guardrails on a stream: restore placeholders, and scan the answer as it is written.

Each choice's text passes through a :class:`ChoiceScreen`. With only placeholders to
restore, it holds back nothing but a tail that could still become a placeholder, so
time to first token doesn't grow. With output rules that block or redact, it also
holds back what a match may still be forming in: the last ``HOLD_CHARS`` characters,
the word being written, and any finding that reaches the end of what has arrived.
Released text has its redactions applied; a blocking finding ends the stream with the
catalogue's error event. Flag-only and isolated (worker) rules read the whole text
once the stream ends, and are recorded as flags.

The store keeps the stream as the upstream sent it but with output redactions applied
and placeholders not restored: no original value is ever stored.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from gatehouse.guard.redaction import Redactor, StreamRestorer, mask
from gatehouse.guard.scanners.base import Finding, ScanContext, Scanner
from gatehouse.guard.scanners.registry import build

if TYPE_CHECKING:
    from gatehouse.guard.guardrails import Guardrails, Policy, Rule
    from gatehouse.pipeline.exchange import Exchange

#: Characters held back behind the newest text while a block or redact rule applies:
#: longer than a spaced IBAN (42), a spaced card number or a phone number.
HOLD_CHARS = 48
#: A word longer than this is released from its start anyway (text without spaces).
MAX_WORD_HOLD = 512
_DONE = b"data: [DONE]"
_OUTPUT = ScanContext(direction="output", role="assistant")


@dataclass(slots=True)
class ChoiceScreen:
    """One choice's text: what has arrived, what was released, what was found."""

    rules: list[tuple[Rule, Scanner]]  # inline rules that block or redact
    redactor: Redactor | None
    restorer: StreamRestorer | None = None
    pending: str = ""  # arrived, not yet released (upstream text, placeholders included)
    base: int = 0  # offset of `pending` in the whole text
    found: list[tuple[Rule, Finding]] = field(default_factory=list)  # whole-text offsets
    blocked: Rule | None = None

    def __post_init__(self) -> None:
        if self.redactor is not None:
            self.restorer = StreamRestorer(self.redactor)

    def feed(self, piece: str, final: bool = False) -> tuple[str, str]:
        """(what the client gets, what the store keeps) of the text released now."""
        if not self.rules:
            stored = self.pending + piece if final else piece
            self.pending = ""
            return self._restore(stored, final), stored
        text = self.pending + piece
        found = self._scan(text)
        cut = len(text) if final else self._safe_cut(text, found)
        released: list[Finding] = []
        for rule, f in found:
            if f.end > cut:
                continue  # may still be forming: held back, judged when it is whole
            self.found.append((rule, _shifted(f, self.base)))
            if rule.action == "block":
                self.blocked = self.blocked or rule
            else:
                released.append(f)
        if self.blocked is not None:
            self.pending = ""
            return "", ""
        stored = mask(text[:cut], released) if released else text[:cut]
        self.pending, self.base = text[cut:], self.base + cut
        return self._restore(stored, final), stored

    @property
    def holding(self) -> bool:
        return bool(self.pending) or (self.restorer is not None and self.restorer.holding)

    def _scan(self, text: str) -> list[tuple[Rule, Finding]]:
        found = []
        for rule, scanner in self.rules:
            for f in rule.keep(scanner.scan(text, _OUTPUT)):
                found.append((rule, f))
        redactor = self.redactor
        if redactor is not None and found and "<" in text:
            ours = [m.span() for m in redactor.placeholder_spans(text)]
            found = [
                (r, f) for r, f in found if not any(f.start < e and s < f.end for s, e in ours)
            ]
        return found

    @staticmethod
    def _safe_cut(text: str, found: list[tuple[Rule, Finding]]) -> int:
        cut = len(text) - HOLD_CHARS
        word = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
        cut = min(cut, max(word, len(text) - MAX_WORD_HOLD))
        for _, f in found:
            if f.end > cut:
                cut = min(cut, f.start)
        return max(cut, 0)

    def _restore(self, text: str, final: bool) -> str:
        if self.restorer is None:
            return text
        out = self.restorer.feed(text) if text else ""
        return out + self.restorer.flush() if final else out


class StreamScreen:
    """Everything one stream's guardrails keep between blocks."""

    def __init__(self, guardrails: Guardrails, exchange: Exchange, policy: Policy) -> None:
        self.guardrails = guardrails
        self.exchange = exchange
        self.policy = policy
        self.redactor = exchange.redactor
        self.strict = [
            (r, build(r.scanner)) for r in policy.output.inline if r.action in ("block", "redact")
        ]
        #: Rules that read the whole text at the end (flags, and isolated scanners).
        self.at_end = [r for r in policy.output.rules if r not in {s[0] for s in self.strict}]
        self.choices: dict[int, ChoiceScreen] = {}
        self.said: dict[int, list[str]] = {}
        self.stored: list[bytes] | None = [] if exchange.captured is not None else None

    def choice(self, index: int) -> ChoiceScreen:
        screen = self.choices.get(index)
        if screen is None:
            screen = self.choices[index] = ChoiceScreen(self.strict, self.redactor)
        return screen

    def rewrite(self, block: bytes) -> bytes:
        """The block as the client gets it (the store's version is kept aside)."""
        holding = any(
            c.pending or (c.restorer and c.restorer.holding) for c in self.choices.values()
        )
        if (
            not self.strict
            and not self.at_end
            and not holding
            and (self.redactor is None or b"<" not in block)
        ):
            if self.stored is not None:
                self.stored.append(block)
            return block
        client: list[bytes] = []
        stored: list[bytes] = []
        for event in block.split(b"\n\n"):
            if event.startswith(_DONE):
                for out, kept in self._flush():
                    client.append(out)
                    stored.append(kept)
            if not event.startswith(b"data:") or event.startswith(_DONE):
                client.append(event)
                stored.append(event)
                continue
            try:
                chunk = orjson.loads(event[5:])
            except orjson.JSONDecodeError:
                client.append(event)
                stored.append(event)
                continue
            out, kept = self._chunk(chunk, event)
            client.append(out)
            stored.append(kept)
            if any(c.blocked for c in self.choices.values()):
                break
        if self.stored is not None:
            self.stored.append(b"\n\n".join(stored))
        return b"\n\n".join(client)

    def _chunk(self, chunk: dict[str, Any], event: bytes) -> tuple[bytes, bytes]:
        edits: list[tuple[dict[str, Any], str, str, str]] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            holder, key = (delta, "content") if isinstance(delta, dict) else (choice, "text")
            text = holder.get(key)
            final = choice.get("finish_reason") is not None
            if not (isinstance(text, str) and text) and not final:
                continue
            piece = text if isinstance(text, str) else ""
            if piece and self.at_end:
                self.said.setdefault(index, []).append(piece)
            out, kept = self.choice(index).feed(piece, final)
            if out != piece or kept != piece:
                edits.append((holder, key, out, kept))
        if not edits:
            return event, event
        for holder, key, _, kept in edits:
            holder[key] = kept
        kept_event = b"data: " + orjson.dumps(chunk)
        for holder, key, out, _ in edits:
            holder[key] = out
        return b"data: " + orjson.dumps(chunk), kept_event

    def _flush(self) -> list[tuple[bytes, bytes]]:
        """What the choices still hold when the stream ends without a finish_reason."""
        out, kept = [], []
        for index, screen in sorted(self.choices.items()):
            client_text, stored_text = screen.feed("", final=True)
            if client_text or stored_text:
                out.append({"index": index, "delta": {"content": client_text}})
                kept.append({"index": index, "delta": {"content": stored_text}})
        if not out:
            return []
        head = {"object": "chat.completion.chunk"}
        return [
            (
                b"data: " + orjson.dumps({**head, "choices": out}),
                b"data: " + orjson.dumps({**head, "choices": kept}),
            )
        ]

    async def finish(self) -> None:
        """Verdicts of the whole stream, and what the store keeps of it."""
        from gatehouse.guard.content import Slot

        guardrails, exchange, policy = self.guardrails, self.exchange, self.policy
        if self.stored is not None:
            exchange.stored_response = b"".join(self.stored)
        if self.strict:
            slots = [
                Slot(("choices", i, "delta", "content"), "", "assistant")
                for i in sorted(self.choices)
            ]
            order = {i: n for n, i in enumerate(sorted(self.choices))}
            results = []
            for rule, _ in self.strict:
                per_slot: list[list[Finding]] = [[] for _ in slots]
                for index, screen in self.choices.items():
                    per_slot[order[index]] = [f for r, f in screen.found if r is rule]
                results.append((rule, per_slot))
            guardrails.record(exchange, policy, "output", slots, results)
        if self.at_end and self.said:
            budget = guardrails.config.max_scan_chars
            slots = [
                Slot(("choices", i, "delta", "content"), "".join(parts)[:budget], "assistant")
                for i, parts in sorted(self.said.items())
            ]
            side = type(policy.output)(
                tuple(r for r in policy.output.inline if r in self.at_end),
                tuple(r for r in policy.output.isolated if r in self.at_end),
            )
            results = await guardrails.scan(policy, side, "output", slots, exchange.model)
            guardrails.record(exchange, policy, "output", slots, results, note="stream")

    def blocked_by(self) -> tuple[int, Rule] | None:
        for index, screen in self.choices.items():
            if screen.blocked is not None:
                return index, screen.blocked
        return None


def _shifted(f: Finding, by: int) -> Finding:
    return Finding(f.type, f.start + by, f.end + by, f.score) if by else f


async def screened(
    guardrails: Guardrails, exchange: Exchange, policy: Policy, events: AsyncGenerator[bytes, None]
) -> AsyncGenerator[bytes, None]:
    """The client's stream through the screen; a blocking finding ends it with an error."""
    from gatehouse.guard.guardrails import blocked_error

    screen = StreamScreen(guardrails, exchange, policy)
    try:
        async for block in events:
            out = screen.rewrite(block)
            blocked = screen.blocked_by()
            if blocked is not None:
                await screen.finish()
                index, rule = blocked
                found = [f for r, f in screen.choices[index].found if r is rule]
                where = f"choices[{index}].delta.content"
                raise blocked_error(policy, rule, "output", found, where)
            if out:
                yield out
    finally:
        await events.aclose()
    await screen.finish()
