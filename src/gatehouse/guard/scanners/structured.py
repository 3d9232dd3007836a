"""Structured output: does the answer hold to the ``response_format`` the request asked for?

* ``{"type": "json_object"}``: the answer must parse as a JSON object.
* ``{"type": "json_schema", "json_schema": {"schema": {...}}}``: it must parse and be
  valid against the schema (JSON Schema draft 2020-12 unless ``$schema`` names another
  draft; ``format`` is an annotation, as the draft has it, and not checked). No
  ``schema``: it must parse. ``strict`` changes nothing: a schema asked for is checked.
* Anything else, or no ``response_format``: nothing to check.

Types, each score 1.0: ``INVALID_JSON`` (from the parse error to the end of the text,
or the whole text when it parses but is not what was asked), ``SCHEMA_VIOLATION`` (the
whole text), and ``INVALID_SCHEMA`` (the whole text) when the request's schema can't be
used to check anything. A client writes the schema, so it is handled as hostile: over
``MAX_SCHEMA_BYTES`` or ``MAX_SCHEMA_DEPTH``, not a valid schema, a ``$ref`` to another
document (nothing is fetched, ever), a ``pattern`` that may backtrack exponentially, or
more than ``MAX_STEPS`` keyword checks on one answer (a schema whose references fan out)
all make it unusable. Reporting that as a finding, rather than passing the answer,
makes a blocking policy fail safe.

Only a whole answer can be judged, so ``whole = True``: on a stream it runs once, at
the end. Compiled validators are kept in a small LRU keyed by the schema's canonical
JSON, since an app sends the same schema with every call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import cache, lru_cache
from typing import Any

import jsonschema_specifications
import referencing
import referencing.exceptions
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext
from gatehouse.guard.scanners.custom import MAX_PATTERN_CHARS, backtracking_risk

MAX_SCHEMA_BYTES = 64 * 1024
#: Nesting of JSON objects and arrays in the schema document.
MAX_SCHEMA_DEPTH = 32
#: Keyword checks one answer may cost; a legitimate answer needs far fewer.
MAX_STEPS = 100_000

# The metaschemas of the drafts, and nothing else: a $ref to anything outside the
# schema itself is unresolvable instead of fetched (jsonschema's default registry
# still downloads remote references).
_REGISTRY: referencing.Registry[Any] = jsonschema_specifications.REGISTRY
_REMOTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_steps: ContextVar[list[int]] = ContextVar("json_schema_steps")


class UnusableSchema(ValueError):
    """The request's schema can't be used to check an answer."""


class _TooCostly(Exception):
    pass


class JsonSchemaCheck:
    """The answer against the request's ``response_format`` (JSON object or schema)."""

    name = "json_schema"
    types = frozenset({"INVALID_JSON", "SCHEMA_VIOLATION", "INVALID_SCHEMA"})
    isolated = False
    whole = True

    def scan(self, text: str, context: ScanContext = DEFAULT_CONTEXT) -> list[Finding]:
        fmt = context.response_format
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "json_object":
            return _parsed_as(text, dict)[1]
        if kind != "json_schema" or fmt is None:
            return []
        unusable = [Finding("INVALID_SCHEMA", 0, len(text), 1.0)]
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            return unusable
        if "schema" not in spec:
            return _parsed_as(text, object)[1]
        try:
            validator = schema_validator(spec["schema"])
        except UnusableSchema:
            return unusable
        answer, problems = _parsed_as(text, object)
        if problems:
            return problems
        token = _steps.set([MAX_STEPS])
        try:
            valid = validator.is_valid(answer)
        except (_TooCostly, RecursionError, referencing.exceptions.Unresolvable):
            return unusable
        finally:
            _steps.reset(token)
        return [] if valid else [Finding("SCHEMA_VIOLATION", 0, len(text), 1.0)]


def _parsed_as(text: str, kind: type) -> tuple[Any, list[Finding]]:
    """The parsed answer, or the INVALID_JSON finding."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        start = exc.pos if exc.pos < len(text) else 0
        return None, [Finding("INVALID_JSON", start, len(text), 1.0)]
    except (ValueError, RecursionError):  # NaN, a 5,000-digit number, deep nesting
        return None, [Finding("INVALID_JSON", 0, len(text), 1.0)]
    if not isinstance(value, kind):
        return None, [Finding("INVALID_JSON", 0, len(text), 1.0)]
    return value, []


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def schema_validator(schema: Any) -> Any:
    """A validator for ``schema`` (cached), or UnusableSchema saying why not."""
    if not isinstance(schema, dict | bool):
        raise UnusableSchema("a schema is an object or a boolean")
    _check_shape(schema)
    try:
        key = json.dumps(schema, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UnusableSchema(f"not JSON: {exc}") from None
    if len(key.encode()) > MAX_SCHEMA_BYTES:
        raise UnusableSchema(f"larger than {MAX_SCHEMA_BYTES} bytes")
    return _compiled(key)


@lru_cache(maxsize=64)
def _compiled(key: str) -> Any:
    schema = json.loads(key)
    draft = validators.validator_for(schema, default=None)
    if draft is None:
        if isinstance(schema, dict) and "$schema" in schema:
            raise UnusableSchema(f"unknown $schema {schema['$schema']!r}")
        draft = Draft202012Validator
    try:
        draft.check_schema(schema)
    except SchemaError as exc:
        raise UnusableSchema(f"not a valid schema: {exc.message}") from None
    _check_references(schema)
    return _metered(draft)(schema, registry=_REGISTRY)


def _check_shape(schema: Any) -> None:
    """Depth, and the regexes the schema would run on answers."""
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise UnusableSchema(f"nested deeper than {MAX_SCHEMA_DEPTH}")
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str):
                    _check_regex(value)
                elif key == "patternProperties" and isinstance(value, dict):
                    for regex in value:
                        _check_regex(regex)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


def _check_regex(regex: str) -> None:
    if len(regex) > MAX_PATTERN_CHARS:
        raise UnusableSchema(f"a pattern is longer than {MAX_PATTERN_CHARS} characters")
    if backtracking_risk(regex):
        raise UnusableSchema(f"pattern {regex[:60]!r} may backtrack exponentially")


def _check_references(schema: Any) -> None:
    """A $ref to another document is never fetched: the schema can't be used."""
    ids = {v.split("#")[0] for v in _values(schema, "$id") if isinstance(v, str)}
    for ref in _values(schema, "$ref", "$dynamicRef"):
        if not isinstance(ref, str):
            continue
        target = ref.split("#")[0]
        if _REMOTE.match(ref) and target not in ids and not _known(target):
            raise UnusableSchema(f"$ref {ref[:80]!r} points outside the schema")


def _known(uri: str) -> bool:
    try:
        _REGISTRY.contents(uri)
    except referencing.exceptions.NoSuchResource:
        return False
    return True


def _values(node: Any, *keys: str) -> Iterator[Any]:
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in keys:
                    yield value
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


@cache
def _metered(draft: Any) -> Any:
    """``draft`` with every keyword check counted against the scan's MAX_STEPS."""
    return validators.extend(draft, {k: _step(fn) for k, fn in draft.VALIDATORS.items()})


def _step(check: Callable[..., Any]) -> Callable[..., Any]:
    def counted(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        left = _steps.get(None)
        if left is not None:  # unset: a validator used outside a scan, unmetered
            left[0] -= 1
            if left[0] < 0:
                raise _TooCostly
        return check(validator, value, instance, schema)

    return counted
