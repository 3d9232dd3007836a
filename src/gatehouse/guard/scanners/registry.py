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


def build(name: str) -> Scanner:
    """The one shared instance of scanner ``name``."""
    scanner = _built.get(name)
    if scanner is None:
        scanner = _built[name] = scanner_class(name)()
    return scanner
