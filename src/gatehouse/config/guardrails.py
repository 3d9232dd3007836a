"""Config of the guardrails: named policies, where each applies, and the scan worker.

A policy says, for input and output separately, what each scanner's findings lead to.
Which policy a call gets is decided by the most specific match: its key (id or name),
then its key's team, then its model, then ``default``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gatehouse.guard.scanners.registry import SCANNERS

Action = Literal["block", "redact", "flag", "off"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScannerRule(_Strict):
    action: Action = Field(
        "flag",
        description="`block`: refuse the call (guardrail_blocked); `redact`: replace what was "
        "found with a typed placeholder (input: restored in the response); `flag`: record "
        "only; `off`: don't run.",
    )
    threshold: float = Field(
        0.5, ge=0, le=1, description="Findings scoring below this are ignored."
    )
    entities: list[str] | None = Field(
        None,
        description="Only these entity types count (e.g. [EMAIL_ADDRESS, CREDIT_CARD]); "
        "unset: every type the scanner reports.",
    )


class PolicyConfig(_Strict):
    input: dict[str, ScannerRule] = Field(
        default_factory=dict, description="Scanner name -> rule, for the request's text."
    )
    output: dict[str, ScannerRule] = Field(
        default_factory=dict, description="Scanner name -> rule, for the response's text."
    )

    @field_validator("input", "output")
    @classmethod
    def _known_scanners(cls, rules: dict[str, ScannerRule]) -> dict[str, ScannerRule]:
        for name in rules:
            if name not in SCANNERS:
                raise ValueError(f"unknown scanner {name!r} (known: {', '.join(sorted(SCANNERS))})")
        return rules


class ScanWorkerConfig(_Strict):
    timeout_ms: int = Field(
        250,
        ge=1,
        le=60_000,
        description="Time budget of one call's isolated scanners (NER), from send to answer.",
    )
    on_timeout: Literal["block", "allow"] = Field(
        "block",
        description="When the scan worker is late, busy or gone: `block` refuses the call "
        "(503 guardrail_unavailable, fail closed); `allow` lets it through unscanned by those "
        "scanners and records the verdict as `timeout`.",
    )
    start_timeout_s: float = Field(
        60.0, gt=0, description="How long start-up waits for the worker to load its models."
    )


class GuardrailsConfig(_Strict):
    policies: dict[str, PolicyConfig] = Field(default_factory=dict, description="Named policies.")
    default: str | None = Field(None, description="The policy of calls nothing else matches.")
    models: dict[str, str] = Field(default_factory=dict, description="Public model name -> policy.")
    teams: dict[str, str] = Field(default_factory=dict, description="Team -> policy.")
    keys: dict[str, str] = Field(
        default_factory=dict, description="Virtual key id or name -> policy."
    )
    max_scan_chars: int = Field(
        1_000_000,
        ge=1,
        description="Longest text one call's scanners read per direction; a call with more "
        "is refused (413) when any block or redact rule applies, so nothing goes unscanned.",
    )
    worker: ScanWorkerConfig = Field(default_factory=ScanWorkerConfig)  # type: ignore[arg-type]

    @field_validator("worker", mode="before")
    @classmethod
    def _empty_means_defaults(cls, v: Any) -> Any:
        return {} if v is None else v

    def policy_names_used(self) -> list[tuple[tuple[str, ...], str]]:
        """(config path, policy name) of every reference to a policy."""
        used: list[tuple[tuple[str, ...], str]] = []
        if self.default is not None:
            used.append((("guardrails", "default"), self.default))
        for section in ("models", "teams", "keys"):
            for name, policy in getattr(self, section).items():
                used.append((("guardrails", section, name), policy))
        return used
