"""Guardrails on a stream: restore placeholders, and scan the answer as it is written.

Each text of a stream — a choice's content, a tool call's arguments — passes through a
:class:`TextScreen`. With only placeholders to restore, it holds back nothing but a
tail that could still become a placeholder, so time to first token doesn't grow. With
output rules that block or redact, it also holds back what a match may still be
forming in: the last ``HOLD_CHARS`` characters, the word being written, and any
finding that reaches the end of what has arrived. Scans see ``CONTEXT_CHARS`` of the
text already released too, so a value keeps the words before it ("password:") that
make it recognisable. Released text has its redactions applied; a blocking finding
ends the stream with the catalogue's error event. Flag rules, isolated (worker)
scanners and whole-text scanners (JSON validity) read each text once the stream ends;
a block rule among them can no longer withhold the text, but it still refuses the
stream: ``[DONE]`` waits for it, and the stream ends with the error event instead.

The store keeps the stream as the upstream sent it but with output redactions applied
and placeholders not restored — also when the stream ends early.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import orjson

from gatehouse.errors import GuardrailUnavailable
from gatehouse.guard.content import Slot, system_text
from gatehouse.guard.policies import Policy, Rule, blocked_error, refuse_if_blocked
from gatehouse.guard.redaction import Redactor, StreamRestorer, mask
from gatehouse.guard.scanners.base import Finding, ScanContext, Scanner
from gatehouse.guard.scanners.registry import build
from gatehouse.routing.streams import event_data

if TYPE_CHECKING:
    from gatehouse.guard.guardrails import Guardrails
    from gatehouse.pipeline.exchange import Exchange

#: Characters held back behind the newest text while a block or redact rule applies:
#: longer than a spaced IBAN (42), a spaced card number or a phone number.
HOLD_CHARS = 48
#: A word longer than this is released from its start anyway (text without spaces).
MAX_WORD_HOLD = 512
#: Released text a scan still reads, for context words ("password:", "SSN").
CONTEXT_CHARS = 96
#: Never hold more than this: a finding still open past it (a private key's BEGIN line
#: with no END) is judged as it stands — masked to here, or the stream blocked.
MAX_HOLD_CHARS = 8192
_OUTPUT = ScanContext(direction="output", role="assistant")
log = logging.getLogger("gatehouse.guard")

#: Where a text sits: (choice index, tool call index, or -1 for the content, or
#: LEGACY_CALL for the arguments of a legacy ``function_call``).
TextKey = tuple[int, int]
LEGACY_CALL = -2


@dataclass(slots=True)
class TextScreen:
    """One text of a stream: what has arrived, what was released, what was found."""

    rules: list[tuple[Rule, Scanner]]  # inline rules that block or redact
    redactor: Redactor | None
    scan_context: ScanContext = _OUTPUT  # what the request asked (system prompt, canary)
    restorer: StreamRestorer | None = None
    pending: str = ""  # arrived, not yet released (upstream text, placeholders included)
    context: str = ""  # the end of what was released, as the upstream wrote it
    base: int = 0  # offset of `pending` in the whole text
    found: list[tuple[Rule, Finding]] = field(default_factory=list)  # whole-text offsets
    blocked: Rule | None = None

    def __post_init__(self) -> None:
        if self.redactor is not None:
            self.restorer = StreamRestorer(self.redactor)

    @property
    def holding(self) -> bool:
        return bool(self.pending) or (self.restorer is not None and self.restorer.holding)

    def feed(self, piece: str, final: bool = False) -> tuple[str, str]:
        """(what the client gets, what the store keeps) of the text released now."""
        if not self.rules:
            return self._restore(piece, final), piece
        text = self.pending + piece
        lead = len(self.context)
        found = self._scan(self.context + text, lead)
        cut = len(text) if final else _safe_cut(text, found)
        if len(text) - cut > MAX_HOLD_CHARS:
            # Held too long (a finding that never closes): release up to the cap, and
            # judge whatever crosses the cut as it stands, clipped there.
            cut = len(text) - MAX_HOLD_CHARS
        released: list[Finding] = []
        for rule, f in found:
            if f.start >= cut:
                continue  # may still be forming: held back, judged when it is whole
            if f.end > cut:
                f = Finding(f.type, f.start, cut, f.score)
            self.found.append((rule, _shifted(f, self.base)))
            if rule.action == "block":
                self.blocked = self.blocked or rule
            else:
                released.append(f)
        if self.blocked is not None:
            self.pending = ""
            return "", ""
        stored = mask(text[:cut], released) if released else text[:cut]
        self.context = (self.context + text[:cut])[-CONTEXT_CHARS:]
        self.pending, self.base = text[cut:], self.base + cut
        return self._restore(stored, final), stored

    def _scan(self, text: str, lead: int) -> list[tuple[Rule, Finding]]:
        """Findings in ``text`` (context + pending), with offsets into the pending part;
        those wholly inside the context were judged before."""
        found = []
        for rule, scanner in self.rules:
            try:
                kept = rule.keep(scanner.scan(text, self.scan_context))
            except Exception:
                log.exception("guardrail scanner %r failed on a stream", rule.scanner)
                raise GuardrailUnavailable(
                    f"guardrail scanner '{rule.scanner}' failed on the output; the stream "
                    "was stopped",
                    code="scanner_failed",
                ) from None
            if self.redactor is not None:
                kept = self.redactor.outside(text, kept)
            for f in kept:
                if f.end > lead:
                    start = max(f.start, lead) - lead
                    found.append((rule, Finding(f.type, start, f.end - lead, f.score)))
        return found

    def _restore(self, text: str, final: bool) -> str:
        if self.restorer is None:
            return text
        out = self.restorer.feed(text) if text else ""
        return out + self.restorer.flush() if final else out


def _safe_cut(text: str, found: list[tuple[Rule, Finding]]) -> int:
    """How much of ``text`` can go now: not the tail, not the word being written, and
    no part of a finding that reaches past the cut (until the cut stops moving)."""
    cut = len(text) - HOLD_CHARS
    word = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
    cut = min(cut, max(word, len(text) - MAX_WORD_HOLD))
    moved = True
    while moved and cut > 0:
        moved = False
        for _, f in found:
            if f.start < cut < f.end:
                cut, moved = f.start, True
    return max(cut, 0)


def _shifted(f: Finding, by: int) -> Finding:
    return Finding(f.type, f.start + by, f.end + by, f.score) if by else f


class StreamScreen:
    """Everything one stream's guardrails keep between blocks."""

    def __init__(self, guardrails: Guardrails, exchange: Exchange, policy: Policy) -> None:
        self.guardrails = guardrails
        self.exchange = exchange
        self.policy = policy
        self.redactor = exchange.redactor
        self.completions = exchange.operation == "completions"
        self.strict = [
            (r, build(r.scanner, r.options))
            for r in policy.output.inline
            if r.action in ("block", "redact") and not r.whole
        ]
        strict_rules = {r for r, _ in self.strict}
        #: Rules that read the whole text at the end (flags, isolated and whole-text
        #: scanners). A block rule among them ends the stream with an error event in
        #: place of ``[DONE]``, so ``[DONE]`` waits for them.
        self.at_end = [r for r in policy.output.rules if r not in strict_rules]
        self.ends_blocking = any(r.action == "block" for r in self.at_end)
        self.done: bytes | None = None
        self.content_context = output_context(exchange)
        self.call_context = replace(self.content_context, response_format=None)
        self.texts: dict[TextKey, TextScreen] = {}
        self.said: dict[TextKey, list[str]] = {}
        self.stored: list[bytes] | None = [] if exchange.captured is not None else None

    def text(self, key: TextKey) -> TextScreen:
        screen = self.texts.get(key)
        if screen is None:
            context = self.content_context if key[1] == -1 else self.call_context
            screen = self.texts[key] = TextScreen(self.strict, self.redactor, context)
        return screen

    def rewrite(self, block: bytes) -> bytes:
        """The block as the client gets it (the store's version is kept aside)."""
        if (
            not self.strict
            and not self.at_end
            and not any(t.holding for t in self.texts.values())
            and (self.redactor is None or (b"<" not in block and b"\\u003c" not in block))
        ):
            if self.stored is not None:
                self.stored.append(block)
            return block
        client: list[bytes] = []
        stored: list[bytes] = []
        for event in block.split(b"\n\n"):
            if _is_done(event):
                for out, kept in self._flush():
                    client.append(out)
                    stored.append(kept)
                if self.ends_blocking:
                    self.done = event
                    stored.append(event)
                    continue
            chunk = event_data(event)
            if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
                client.append(event)
                stored.append(event)
                continue
            out, kept = self._chunk(chunk, event)
            client.append(out)
            stored.append(kept)
            if self.blocked() is not None:
                break
        if self.stored is not None:
            self.stored.append(b"\n\n".join(stored))
        return b"\n\n".join(client)

    def _chunk(self, chunk: dict[str, Any], event: bytes) -> tuple[bytes, bytes]:
        edits: list[tuple[dict[str, Any], str, str, str]] = []
        for holder, key, text_key, final in texts_of(chunk, self.completions):
            text = holder.get(key)
            piece = text if isinstance(text, str) else ""
            if not piece and not final:
                continue
            if piece and self.at_end:
                self.said.setdefault(text_key, []).append(piece)
            out, kept = self.text(text_key).feed(piece, final)
            if out != piece or kept != piece:
                edits.append((holder, key, out, kept))
        calls = [k for k in self.texts if k[1] != -1 and _finished(chunk, k[0])]
        if final_tools := calls:
            for k in final_tools:  # tool-call arguments end with their choice
                out, kept = self.texts[k].feed("", final=True)
                if out or kept:
                    edits.append(_tail_holder(chunk, k, out, kept))
        if not edits:
            return event, event
        for holder, key, _, kept in edits:
            holder[key] = kept
        kept_event = b"data: " + orjson.dumps(chunk)
        for holder, key, out, _ in edits:
            holder[key] = out
        return b"data: " + orjson.dumps(chunk), kept_event

    def _flush(self) -> list[tuple[bytes, bytes]]:
        """What the texts still hold when the stream ends without a finish_reason."""
        out, kept = [], []
        for (index, tool), screen in sorted(self.texts.items()):
            client_text, stored_text = screen.feed("", final=True)
            if not (client_text or stored_text):
                continue
            if self.completions:
                out.append({"index": index, "text": client_text})
                kept.append({"index": index, "text": stored_text})
            elif tool == LEGACY_CALL:
                out.append({"index": index, "delta": {"function_call": {"arguments": client_text}}})
                kept.append(
                    {"index": index, "delta": {"function_call": {"arguments": stored_text}}}
                )
            elif tool < 0:
                out.append({"index": index, "delta": {"content": client_text}})
                kept.append({"index": index, "delta": {"content": stored_text}})
            else:
                calls = [{"index": tool, "function": {"arguments": client_text}}]
                stored_calls = [{"index": tool, "function": {"arguments": stored_text}}]
                out.append({"index": index, "delta": {"tool_calls": calls}})
                kept.append({"index": index, "delta": {"tool_calls": stored_calls}})
        if not out:
            return []
        head = {"object": "text_completion" if self.completions else "chat.completion.chunk"}
        return [
            (
                b"data: " + orjson.dumps({**head, "choices": out}),
                b"data: " + orjson.dumps({**head, "choices": kept}),
            )
        ]

    def blocked(self) -> tuple[TextKey, Rule] | None:
        for key, screen in self.texts.items():
            if screen.blocked is not None:
                return key, screen.blocked
        return None

    def settle(self) -> None:
        """What the store keeps, and the verdicts of the rules that ran as it streamed.
        Runs however the stream ended (finished, failed, cut by the client)."""
        guardrails, exchange, policy = self.guardrails, self.exchange, self.policy
        if self.stored is not None:
            exchange.stored_response = b"".join(self.stored)
        if not self.strict or not self.texts:
            return
        for screen in self.texts.values():
            if screen.pending and screen.blocked is None:
                # Judged for the verdict, never sent. A scanner failure here is logged;
                # the stream's own outcome stands.
                with contextlib.suppress(GuardrailUnavailable):
                    screen.feed("", final=True)
        keys = sorted(self.texts)
        slots = [Slot(_path(k, self.completions), "", "assistant") for k in keys]
        results = []
        for rule, _ in self.strict:
            per_slot = [[f for r, f in self.texts[k].found if r is rule] for k in keys]
            results.append((rule, per_slot))
        guardrails.record(exchange, policy, "output", slots, results)

    async def scan_at_end(self) -> None:
        """The flag and isolated rules, on each whole text, once the stream ended."""
        if not (self.at_end and self.said):
            return
        guardrails, exchange, policy = self.guardrails, self.exchange, self.policy
        budget = guardrails.config.max_scan_chars
        keys = sorted(self.said)
        slots = [
            Slot(_path(k, self.completions), "".join(self.said[k])[:budget], "assistant")
            for k in keys
        ]
        side = policy.output.only(self.at_end)
        results = await guardrails.scan(policy, side, "output", slots, exchange)
        # A rule that couldn't run comes back as "timeout" or "error": it is still the
        # configured block rule, and fails the stream closed (or open) as a call would.
        blocking = {(r.scanner, r.scope) for r in self.at_end if r.action == "block"}
        ends = [x for x in results if (x[0].scanner, x[0].scope) in blocking]
        flags = [x for x in results if (x[0].scanner, x[0].scope) not in blocking]
        if flags:
            guardrails.record(exchange, policy, "output", slots, flags, note="stream")
        if ends:
            # The text is out already; what can still be refused is the stream's end.
            guardrails.record(exchange, policy, "output", slots, ends)
            guardrails.refuse_unscanned(exchange, policy, "output", ends)
            refuse_if_blocked(policy, "output", slots, ends)


def output_context(exchange: Exchange) -> ScanContext:
    """The context of an answer's content: the request's system prompt, canary and
    ``response_format`` (tool-call arguments get it without the format)."""
    body = exchange.body
    fmt = body.get("response_format")
    return ScanContext(
        "output",
        "assistant",
        True,
        exchange.model,
        exchange.key.id if exchange.key is not None else None,
        system_text(body),
        exchange.canary or "",
        fmt if isinstance(fmt, dict) else None,
    )


def _is_done(event: bytes) -> bool:
    return any(
        line[5:].strip() == b"[DONE]" for line in event.split(b"\n") if line.startswith(b"data:")
    )


def _index(choice: dict[str, Any]) -> int:
    index = choice.get("index", 0)
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def texts_of(
    chunk: dict[str, Any], completions: bool
) -> Iterator[tuple[dict[str, Any], str, TextKey, bool]]:
    """(holder, key, text key, final) of every text in a chunk."""
    for choice in chunk["choices"]:
        if not isinstance(choice, dict):
            continue
        index = _index(choice)
        final = choice.get("finish_reason") is not None
        delta = choice.get("delta")
        if completions:
            yield choice, "text", (index, -1), final
            continue
        if not isinstance(delta, dict):  # a chat chunk without a delta (e.g. the last)
            delta = choice["delta"] = {}
        yield delta, "content", (index, -1), final
        legacy = delta.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("arguments"), str):
            yield legacy, "arguments", (index, LEGACY_CALL), False
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for j, call in enumerate(calls):
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    tool = call.get("index", j)
                    tool = tool if isinstance(tool, int) and not isinstance(tool, bool) else j
                    yield function, "arguments", (index, tool), False


def _finished(chunk: dict[str, Any], index: int) -> bool:
    return any(
        isinstance(c, dict) and _index(c) == index and c.get("finish_reason") is not None
        for c in chunk["choices"]
    )


def _tail_holder(
    chunk: dict[str, Any], key: TextKey, out: str, kept: str
) -> tuple[dict[str, Any], str, str, str]:
    """Where a tool call's held-back arguments go in its choice's last chunk."""
    for choice in chunk["choices"]:
        if isinstance(choice, dict) and _index(choice) == key[0]:
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = choice["delta"] = {}
            function: dict[str, Any] = {"arguments": ""}
            if key[1] == LEGACY_CALL:
                delta["function_call"] = function
                return function, "arguments", out, kept
            calls = delta.get("tool_calls")
            if not isinstance(calls, list):
                calls = delta["tool_calls"] = []
            calls.append({"index": key[1], "function": function})
            return function, "arguments", out, kept
    raise AssertionError("a finished choice is in its chunk")


def _path(key: TextKey, completions: bool) -> tuple[str | int, ...]:
    index, tool = key
    if completions:
        return ("choices", index, "text")
    if tool == LEGACY_CALL:
        return ("choices", index, "delta", "function_call", "arguments")
    if tool < 0:
        return ("choices", index, "delta", "content")
    return ("choices", index, "delta", "tool_calls", tool, "function", "arguments")


async def screened(
    guardrails: Guardrails, exchange: Exchange, policy: Policy, events: AsyncGenerator[bytes, None]
) -> AsyncGenerator[bytes, None]:
    """The client's stream through the screen; a blocking finding ends it with an error."""
    screen = StreamScreen(guardrails, exchange, policy)
    finished = False
    try:
        async for block in events:
            out = screen.rewrite(block)
            blocked = screen.blocked()
            if blocked is not None:
                key, rule = blocked
                found = [f for r, f in screen.texts[key].found if r is rule]
                where = Slot(_path(key, screen.completions), "", "assistant").where
                raise blocked_error(policy, rule, "output", found, where)
            if out:
                yield out
        finished = True
    finally:
        try:
            await events.aclose()
        finally:
            screen.settle()
    if finished:
        await screen.scan_at_end()
        if screen.done is not None:
            yield screen.done + b"\n\n"
