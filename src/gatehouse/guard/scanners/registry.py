"""Scanners by name: what policies and `gatehouse guard eval` ask for.

Modules are imported on first use, so a gateway that scans nothing loads nothing.
"""

from __future__ import annotations

import importlib

from gatehouse.guard.scanners.base import Scanner

#: name -> "module:class". Classes take no arguments, but for the scanners a rule
#: configures (``regex`` takes ``patterns``, ``topics`` takes ``topics``).
SCANNERS: dict[str, str] = {
    "pii": "gatehouse.guard.scanners.patterns:PatternPii",
    "pii_ner": "gatehouse.guard.scanners.names:NamePii",
    "secrets": "gatehouse.guard.scanners.secrets:SecretScanner",
    "injection": "gatehouse.guard.scanners.injection:InjectionHeuristics",
    "injection_ml": "gatehouse.guard.scanners.semantic:InjectionModel",
    "toxicity": "gatehouse.guard.scanners.toxicity:ToxicityLexicon",
    "toxicity_ml": "gatehouse.guard.scanners.semantic:ToxicityModel",
    "prompt_leak": "gatehouse.guard.scanners.leakage:PromptLeak",
    "regex": "gatehouse.guard.scanners.custom:RegexScanner",
    "topics": "gatehouse.guard.scanners.custom:TopicScanner",
    "json_schema": "gatehouse.guard.scanners.structured:JsonSchemaCheck",
}

Options = tuple[tuple[str, object], ...]

_built: dict[tuple[str, Options], Scanner] = {}
_classes: dict[str, type[Scanner]] = {}


class UnknownScanner(ValueError):
    pass


def scanner_class(name: str) -> type[Scanner]:
    """The class of scanner ``name``: its ``types`` and ``isolated`` without building it
    (an isolated scanner's data is loaded only in the scan worker)."""
    found = _classes.get(name)
    if found is None:
        target = SCANNERS.get(name)
        if target is None:
            known = ", ".join(sorted(SCANNERS))
            raise UnknownScanner(f"unknown scanner {name!r} (known: {known})")
        module, _, cls = target.partition(":")
        found = _classes[name] = getattr(importlib.import_module(module), cls)
    return found


def build(name: str, options: Options = ()) -> Scanner:
    """The one shared instance of scanner ``name`` built with ``options``."""
    scanner = _built.get((name, options))
    if scanner is None:
        kwargs = {k: _unfrozen(v) for k, v in options}
        scanner = _built[(name, options)] = scanner_class(name)(**kwargs)
    return scanner


def _unfrozen(value: object) -> object:
    """A rule's hashable option back as the dict the scanner takes."""
    if isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in value}
    return value
