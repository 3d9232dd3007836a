"""Guardrail policies on the request path: scan the text, then block, redact or flag.

Policies are compiled once from config. For a call, :meth:`Guardrails.policy_for`
picks the most specific one (key, team, model, default); the :class:`Screen` stage
scans the request before it is routed and the response after. Pattern scanners run
inline (tens of microseconds); isolated ones (NER) go to the scan worker under a time
budget, sent first so both kinds run at once.

Every scanner that ran leaves a verdict on the exchange for the request log: scanner,
action, outcome, best score, and each finding's type, offsets and place (never the
text). Findings inside a placeholder the gateway itself issued are not the model's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from gatehouse.config.guardrails import GuardrailsConfig
from gatehouse.errors import GuardrailBlocked, GuardrailUnavailable, RequestTooLarge
from gatehouse.guard.canary import new_canary, planted
from gatehouse.guard.content import (
    Slot,
    request_slots,
    response_slots,
    rewritten,
)
from gatehouse.guard.policies import (
    Policy,
    Rule,
    Side,
    compile_policy,
    refuse_if_blocked,
)
from gatehouse.guard.redaction import Redactor, mask
from gatehouse.guard.scanners.base import Direction, Finding, ScanContext
from gatehouse.guard.scanners.registry import build, scanner_class
from gatehouse.guard.scanworker import ScanUnavailable, ScanWorker
from gatehouse.guard.streaming import output_context, screened

if TYPE_CHECKING:
    from gatehouse.pipeline.exchange import Exchange
    from gatehouse.telemetry.metrics import GatewayMetrics

Next = Callable[["Exchange"], Awaitable[None]]
log = logging.getLogger("gatehouse.guard")

#: Findings kept per verdict in the request log; the count says how many there were.
MAX_LOGGED_FINDINGS = 50


class Guardrails:
    """Every policy of the config, which call gets which, and the scan worker."""

    def __init__(self, config: GuardrailsConfig, metrics: GatewayMetrics | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.policies = {name: compile_policy(name, p) for name, p in config.policies.items()}
        pick = self.policies.get
        self.default = pick(config.default) if config.default else None
        self.by_model = {m: self.policies[p] for m, p in config.models.items()}
        self.by_team = {t: self.policies[p] for t, p in config.teams.items()}
        self.by_key = {k: self.policies[p] for k, p in config.keys.items()}
        used = [self.default, *self.by_model.values(), *self.by_team.values()]
        used += self.by_key.values()
        isolated = {
            r.scanner for p in used if p is not None for r in p.input.isolated + p.output.isolated
        }
        self.worker = (
            ScanWorker(sorted(isolated), config.worker.start_timeout_s, config.worker.model_path)
            if isolated
            else None
        )
        budget = config.worker.timeout_ms
        if budget is None:  # the slowest isolated scanner in use says what it needs
            budget = max((worker_budget_ms(name) for name in isolated), default=250)
        self.timeout_s = budget / 1000
        self.fail_open = config.worker.on_timeout == "allow"
        #: Whether any call can get a policy at all: without one the stage isn't built.
        self.enabled = any(p is not None and (p.input.rules or p.output.rules) for p in used)

    async def start(self) -> None:
        if self.worker is not None:
            await self.worker.start()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.close()

    def policy_for(self, exchange: Exchange) -> Policy | None:
        key = exchange.key
        if key is not None:
            if self.by_key:
                policy = self.by_key.get(key.id) or self.by_key.get(key.name)
                if policy is not None:
                    return policy
            if key.team is not None and self.by_team:
                policy = self.by_team.get(key.team)
                if policy is not None:
                    return policy
        return self.by_model.get(exchange.model, self.default)

    # --- scanning -------------------------------------------------------------------------

    async def scan(
        self,
        policy: Policy,
        side: Side,
        direction: Direction,
        slots: Sequence[Slot],
        exchange: Exchange,
    ) -> list[tuple[Rule, list[list[Finding]]]]:
        """Per rule, per slot, the findings that count. Records nothing.

        A rule whose scanner could not run (the worker late or gone) comes back with the
        action ``timeout`` and no findings; :meth:`refuse_unscanned` decides what then.
        """
        contexts = scan_contexts(direction, slots, exchange)
        texts = [s.text for s in slots]
        sent: asyncio.Future[dict[str, list[list[Finding]]]] | None = None
        # Only the texts some isolated rule reads go to the worker (a model's time is
        # the scarce thing there): an untrusted-only rule doesn't embed the user's turn.
        wanted = [
            i for i, c in enumerate(contexts) if any(r.reads(c.trusted) for r in side.isolated)
        ]
        if wanted and self.worker is not None:
            names = sorted({r.scanner for r in side.isolated})
            chosen = ([texts[i] for i in wanted], [contexts[i] for i in wanted])
            # Sent first: the worker scans while the inline scanners run here.
            sent = asyncio.ensure_future(self.worker.scan(names, *chosen, self.timeout_s))
        started = time.perf_counter()
        try:
            if sum(map(len, texts)) > INLINE_THREAD_CHARS:
                # A long text would hold the event loop for milliseconds: scan it in a
                # thread, so other calls' I/O goes on between the scanner's slices.
                results = await asyncio.to_thread(_inline, side.inline, texts, contexts)
            else:
                results = _inline(side.inline, texts, contexts)
        except BaseException:
            if sent is not None:
                sent.cancel()
            raise
        if self.metrics is not None and side.inline:
            self.metrics.guardrail_seconds.labels(direction, "inline").observe(
                time.perf_counter() - started
            )
        if sent is not None:
            began = time.perf_counter()
            try:
                found = await sent
            except ScanUnavailable as exc:
                log.warning("guardrail scan worker unavailable (%s): %s", direction, exc)
                empty: list[list[Finding]] = [[] for _ in texts]
                for r in side.isolated:
                    results.append((r.failed("timeout"), empty))
                return results
            if self.metrics is not None:
                self.metrics.guardrail_seconds.labels(direction, "worker").observe(
                    time.perf_counter() - began
                )
            for rule in side.isolated:
                per_slot: list[list[Finding]] = [[] for _ in texts]
                for i, f in zip(wanted, found[rule.scanner], strict=True):
                    if rule.reads(contexts[i].trusted):
                        per_slot[i] = rule.keep(f)
                results.append((rule, per_slot))
        elif side.isolated:
            # No text for the worker: clean. No worker while there is text (a used
            # policy never lacks one): not scanned, which fails closed.
            for rule in side.isolated:
                results.append((rule.failed("error") if wanted else rule, [[] for _ in texts]))
        return results

    def check_size(
        self,
        exchange: Exchange,
        policy: Policy,
        side: Side,
        direction: Direction,
        slots: Sequence[Slot],
    ) -> None:
        """More text than may be scanned, under a rule that must see it all: 413, and
        the store keeps no body it couldn't scan."""
        size = sum(len(s.text) for s in slots)
        if size > self.config.max_scan_chars and _must_see(side, slots):
            _not_stored(exchange, direction)
            raise RequestTooLarge(
                f"{size} characters of {direction} text exceed what guardrail policy "
                f"'{policy.name}' may scan (guardrails.max_scan_chars = "
                f"{self.config.max_scan_chars})",
                code="guardrail_scan_limit",
            )

    def refuse_unscanned(
        self,
        exchange: Exchange,
        policy: Policy,
        direction: Direction,
        results: list[tuple[Rule, list[list[Finding]]]],
    ) -> None:
        """Fail closed (unless configured open) when a scanner couldn't run."""
        # A late worker fails closed or open by config; a scanner that raised is a bug,
        # and a bug never lets text through unscanned.
        late = [
            r
            for r, _ in results
            if r.action == "error" or (r.action == "timeout" and not self.fail_open)
        ]
        if late:
            _not_stored(exchange, direction)
            raise GuardrailUnavailable(
                f"guardrail policy '{policy.name}' could not run scanner '{late[0].scanner}' "
                f"on the {direction} in time, and fails closed",
                code="scanner_unavailable",
            )

    def record(
        self,
        exchange: Exchange,
        policy: Policy,
        direction: Direction,
        slots: Sequence[Slot],
        results: list[tuple[Rule, list[list[Finding]]]],
        note: str | None = None,
    ) -> None:
        verdicts = exchange.guard if exchange.guard is not None else []
        metrics = self.metrics
        for rule, per_slot in results:
            found = [(slots[i], f) for i, fs in enumerate(per_slot) for f in fs]
            if rule.action in ("timeout", "error"):
                outcome = rule.action
            elif not found:
                outcome = "clean"
            else:
                outcome = {"block": "blocked", "redact": "redacted"}.get(rule.action, "flagged")
                if note is not None:
                    outcome = "flagged"
            verdict: dict[str, Any] = {
                "direction": direction,
                "policy": policy.name,
                "scanner": rule.scanner,
                "action": rule.action,
                "outcome": outcome,
                "score": max((f.score for _, f in found), default=0.0),
                "count": len(found),
                "findings": [
                    {
                        "type": f.type,
                        "start": f.start,
                        "end": f.end,
                        "score": f.score,
                        "at": s.where,
                    }
                    for s, f in found[:MAX_LOGGED_FINDINGS]
                ],
            }
            if rule.scope != "all":
                verdict["scope"] = rule.scope  # which texts it read: trusted or untrusted
            if note is not None:
                verdict["note"] = note
            verdicts.append(verdict)
            if metrics is not None:
                metrics.guardrail_verdicts.labels(direction, rule.scanner, outcome).value += 1
                known = scanner_class(rule.scanner).types
                for _, f in found:
                    kind = f.type if f.type in known else "OTHER"  # the label set stays bounded
                    metrics.guardrail_findings.labels(direction, rule.scanner, kind).value += 1
        exchange.guard = verdicts

    def judge(
        self,
        exchange: Exchange,
        policy: Policy,
        direction: Direction,
        slots: Sequence[Slot],
        results: list[tuple[Rule, list[list[Finding]]]],
        body: dict[str, Any],
    ) -> None:
        """Record the verdicts, then refuse the call if a scanner couldn't run (and the
        policy fails closed) or a block rule fired. A refused body is stored with what
        blocked it, and what would have been redacted, masked."""
        self.record(exchange, policy, direction, slots, results)
        self.refuse_unscanned(exchange, policy, direction, results)
        try:
            refuse_if_blocked(policy, direction, slots, results)
        except GuardrailBlocked:
            hidden = _spans(results, ("block", "redact"))
            changes = {slots[i].path: mask(slots[i].text, f) for i, f in hidden.items()}
            stored = orjson.dumps(rewritten(body, changes))
            if direction == "input":
                exchange.stored_request = stored
            else:
                exchange.stored_response = stored
            raise

    # --- input ----------------------------------------------------------------------------

    async def screen_input(self, exchange: Exchange, policy: Policy) -> None:
        """Block the call, or rewrite its body with placeholders, or only record."""
        slots = request_slots(exchange.operation, exchange.body, exchange.headers)
        if not slots:
            return
        self.check_size(exchange, policy, policy.input, "input", slots)
        results = await self.scan(policy, policy.input, "input", slots, exchange)
        self.judge(exchange, policy, "input", slots, results, exchange.body)
        spans = _spans(results, ("redact",))
        if not spans:
            return
        redactor = Redactor(s.text for s in slots)
        changes = {
            slots[i].path: redactor.redact(slots[i].text, found) for i, found in spans.items()
        }
        exchange.body = rewritten(exchange.body, changes)
        exchange.redactor = redactor
        # What went upstream, minus the gateway's own private keys (``_gatehouse…``).
        kept = {k: v for k, v in exchange.body.items() if not k.startswith("_gatehouse")}
        exchange.stored_request = orjson.dumps(kept)

    # --- output ---------------------------------------------------------------------------

    async def screen_output(self, exchange: Exchange, policy: Policy) -> None:
        """A whole (non-streaming) response: scan it, mask or refuse, restore placeholders."""
        data = exchange.response_data
        redactor = exchange.redactor
        if data is None or (redactor is None and not policy.output.rules):
            return
        slots = response_slots(exchange.operation, data)
        if not slots:
            return
        masks: dict[int, list[Finding]] = {}
        if policy.output.rules:
            self.check_size(exchange, policy, policy.output, "output", slots)
            results = await self.scan(policy, policy.output, "output", slots, exchange)
            if redactor is not None:
                results = [
                    (r, [redactor.outside(s.text, f) for s, f in zip(slots, per, strict=True)])
                    for r, per in results
                ]
            self.judge(exchange, policy, "output", slots, results, data)
            masks = _spans(results, ("redact",))
        stored: dict[Any, str] = {}
        sent: dict[Any, str] = {}
        for i, slot in enumerate(slots):
            text = mask(slot.text, masks[i]) if i in masks else slot.text
            if text is not slot.text:
                stored[slot.path] = text
            restored = redactor.restore(text) if redactor is not None else text
            if restored != slot.text:
                sent[slot.path] = restored
        if not sent and not stored:
            return
        upstream = exchange.response_body
        client = rewritten(data, sent)
        exchange.response_data = client
        exchange.response_body = orjson.dumps(client)
        exchange.stored_response = orjson.dumps(rewritten(data, stored)) if stored else upstream

    def stream(
        self, exchange: Exchange, policy: Policy, events: AsyncGenerator[bytes, None]
    ) -> AsyncGenerator[bytes, None]:
        return screened(self, exchange, policy, events)


#: Inline scans of more text than this run in a thread rather than on the event loop.
INLINE_THREAD_CHARS = 32_768
#: What the store keeps of a body the guardrails refused without scanning it whole.
NOT_STORED = b'{"gatehouse": "body not stored: the guardrails could not scan it"}'


def _inline(
    rules: tuple[Rule, ...], texts: list[str], contexts: list[ScanContext]
) -> list[tuple[Rule, list[list[Finding]]]]:
    results = []
    for rule in rules:
        try:
            scanner = build(rule.scanner, rule.options)
            pairs = zip(texts, contexts, strict=True)
            found = [
                rule.keep(scanner.scan(t, c)) if rule.reads(c.trusted) else [] for t, c in pairs
            ]
            results.append((rule, found))
        except Exception:
            # A scanner bug must not become a 500, nor let the text through silently:
            # the rule counts as not run, and the policy fails closed or open.
            log.exception("guardrail scanner %r failed", rule.scanner)
            results.append((rule.failed("error"), [[] for _ in texts]))
    return results


def worker_budget_ms(scanner: str) -> int:
    """The scan worker's default time budget for a call that needs ``scanner``."""
    return int(getattr(scanner_class(scanner), "budget_ms", 250))


def scan_contexts(
    direction: Direction, slots: Sequence[Slot], exchange: Exchange
) -> list[ScanContext]:
    """Each slot's context; output scanners also get what the request asked for."""
    if direction == "output":
        content = output_context(exchange)
        calls = replace(content, response_format=None)
        return [content if s.path[-1] in ("content", "text") else calls for s in slots]
    key_id = exchange.key.id if exchange.key is not None else None
    return [ScanContext(direction, s.role, s.trusted, exchange.model, key_id) for s in slots]


def _must_see(side: Side, slots: Sequence[Slot]) -> bool:
    """Whether a block or redact rule reads any of these texts (an untrusted-only rule
    doesn't read a request with no untrusted text)."""
    return any(r.reads(s.trusted) for r in side.rules if r.action != "flag" for s in slots)


def _not_stored(exchange: Exchange, direction: Direction) -> None:
    if direction == "input":
        exchange.stored_request = NOT_STORED
    else:
        exchange.stored_response = NOT_STORED


def _spans(
    results: list[tuple[Rule, list[list[Finding]]]], actions: tuple[str, ...]
) -> dict[int, list[Finding]]:
    """Per slot index, the findings of the rules with these actions."""
    spans: dict[int, list[Finding]] = {}
    for rule, per_slot in results:
        if rule.action in actions:
            for i, found in enumerate(per_slot):
                if found:
                    spans.setdefault(i, []).extend(found)
    return spans


class Screen:
    """The guardrails stage: input before routing, output after."""

    def __init__(self, guardrails: Guardrails) -> None:
        self.guardrails = guardrails

    async def __call__(self, exchange: Exchange, call_next: Next) -> None:
        guardrails = self.guardrails
        policy = guardrails.policy_for(exchange)
        if policy is None:
            await call_next(exchange)
            return
        if policy.input.rules:
            await guardrails.screen_input(exchange, policy)
        if policy.canary and exchange.operation == "chat":
            canary = new_canary()
            body = planted(exchange.body, canary)
            if body is not None:
                exchange.body, exchange.canary = body, canary
        await call_next(exchange)
        if exchange.events is None:
            await guardrails.screen_output(exchange, policy)
        elif exchange.redactor is not None or policy.output.rules:
            exchange.events = guardrails.stream(exchange, policy, exchange.events)
