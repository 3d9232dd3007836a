"""Scanners by name: what policies and `gatehouse guard eval` ask for.

Modules are imported on first use, so a gateway that scans nothing loads nothing.
"""

from __future__ import annotations

import importlib

from gatehouse.guard.scanners.base import Scanner

#: name -> "module:class"; the class takes no arguments.
SCANNERS: dict[str, str] = {
    "pii": "gatehouse.guard.scanners.patterns:PatternPii",
    "pii_ner": "gatehouse.guard.scanners.names:NamePii",
    "secrets": "gatehouse.guard.scanners.secrets:SecretScanner",
}

_built: dict[str, Scanner] = {}


class UnknownScanner(ValueError):
    pass


def build(name: str) -> Scanner:
    """The one shared instance of scanner ``name``."""
    scanner = _built.get(name)
    if scanner is None:
        target = SCANNERS.get(name)
        if target is None:
            raise UnknownScanner(f"unknown scanner {name!r} (known: {', '.join(sorted(SCANNERS))})")
        module, _, cls = target.partition(":")
        scanner = getattr(importlib.import_module(module), cls)()
        _built[name] = scanner
    return scanner
