"""What a guardrail policy is once compiled: its rules per side, and the refusal a
blocking rule raises.

A policy from config becomes three sets of :class:`Rule`: ``input`` (the request's
text; a rule replaced by an ``untrusted`` one reads trusted text only), ``untrusted``
(tool results and the messages the client marks) and ``output``. Each side keeps its
inline rules apart from the isolated ones (those the scan worker runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from gatehouse.config.guardrails import PolicyConfig, ScannerRule
from gatehouse.errors import GuardrailBlocked
from gatehouse.guard.content import Slot
from gatehouse.guard.scanners.base import Direction, Finding
from gatehouse.guard.scanners.registry import Options, scanner_class


@dataclass(frozen=True, slots=True)
class Rule:
    scanner: str
    action: str  # block | redact | flag
    threshold: float
    entities: frozenset[str] | None
    isolated: bool
    options: Options = ()
    #: Which input texts the rule reads: "all", or only "trusted" or "untrusted" ones
    #: (a policy's `untrusted` rules replace its `input` rule of the same scanner there).
    scope: str = "all"
    #: The scanner judges only whole texts (JSON validity): on a stream, at its end.
    whole: bool = False

    def reads(self, trusted: bool) -> bool:
        """Whether the rule reads a text of this trust (see ``scope``)."""
        return self.scope == "all" or (self.scope == "untrusted") != trusted

    def failed(self, action: str) -> Rule:
        """This rule as it is recorded when its scanner could not run."""
        return replace(self, action=action)

    def keep(self, findings: list[Finding]) -> list[Finding]:
        return [
            f
            for f in findings
            if f.score >= self.threshold and (self.entities is None or f.type in self.entities)
        ]


@dataclass(frozen=True, slots=True)
class Side:
    """The rules of one direction of a policy."""

    inline: tuple[Rule, ...]
    isolated: tuple[Rule, ...]

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.inline + self.isolated

    def only(self, rules: list[Rule]) -> Side:
        """The same side with just these of its rules."""
        return Side(
            tuple(r for r in self.inline if r in rules),
            tuple(r for r in self.isolated if r in rules),
        )


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    input: Side
    output: Side
    canary: bool = False


def compile_policy(name: str, config: PolicyConfig) -> Policy:
    def rules(given: dict[str, ScannerRule], scope: Callable[[str], str]) -> list[Rule]:
        compiled = []
        for scanner_name, rule in given.items():
            if rule.action == "off":
                continue
            cls = scanner_class(scanner_name)
            entities = frozenset(rule.entities) if rule.entities is not None else None
            compiled.append(
                Rule(
                    scanner_name,
                    rule.action,
                    rule.threshold,
                    entities,
                    cls.isolated,
                    rule.options(),
                    scope(scanner_name),
                    getattr(cls, "whole", False),
                )
            )
        return compiled

    def side(compiled: list[Rule]) -> Side:
        return Side(
            tuple(r for r in compiled if not r.isolated),
            tuple(r for r in compiled if r.isolated),
        )

    # An `untrusted` rule replaces the `input` rule of its scanner for untrusted texts
    # (even when it is `off`), so the input rule then reads trusted texts only.
    replaced = set(config.untrusted)
    inputs = rules(config.input, lambda s: "trusted" if s in replaced else "all")
    inputs += rules(config.untrusted, lambda s: "untrusted")
    return Policy(name, side(inputs), side(rules(config.output, lambda s: "all")), config.canary)


def refuse_if_blocked(
    policy: Policy,
    direction: Direction,
    slots: Sequence[Slot],
    results: list[tuple[Rule, list[list[Finding]]]],
) -> None:
    for rule, per_slot in results:
        if rule.action != "block":
            continue
        hits = [(slots[i], f) for i, fs in enumerate(per_slot) for f in fs]
        if hits:
            raise blocked_error(policy, rule, direction, [f for _, f in hits], hits[0][0].where)


def blocked_error(
    policy: Policy, rule: Rule, direction: Direction, found: list[Finding], where: str
) -> GuardrailBlocked:
    """The refusal: policy, scanner, entity types and place, never the text."""
    types = ", ".join(sorted({f.type for f in found}))
    return GuardrailBlocked(
        f"blocked by guardrail policy '{policy.name}': scanner '{rule.scanner}' found "
        f"{types} in the {direction} ({where})",
        param=where if direction == "input" else None,
        code=rule.scanner,
    )
