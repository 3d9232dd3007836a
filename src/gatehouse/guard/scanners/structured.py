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
document (nothing is fetched, ever), a ``pattern`` that may backtrack exponentially or
that the ``regex`` module can't compile, ``unevaluatedProperties`` alongside
``patternProperties`` (jsonschema would run those patterns unmetered), more than
``MAX_STEPS`` keyword checks on one answer (a schema whose references fan out; each
value ``uniqueItems`` looks at counts as one), or a regex search over
``REGEX_TIMEOUT`` (``REGEX_BUDGET`` in all for one answer) all make it unusable.
Reporting that as a finding, rather than passing the answer, makes a blocking policy
fail safe.

Only a whole answer can be judged, so ``whole = True``: on a stream it runs once, at
the end. Compiled validators are kept in a small LRU keyed by the schema's canonical
JSON, since an app sends the same schema with every call.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import cache, lru_cache
from typing import Any

import jsonschema_specifications
import referencing
import referencing.exceptions
import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, ScanContext
from gatehouse.guard.scanners.custom import MAX_PATTERN_CHARS, backtracking_risk

MAX_SCHEMA_BYTES = 64 * 1024
#: Nesting of JSON objects and arrays in the schema document.
MAX_SCHEMA_DEPTH = 32
#: Keyword checks one answer may cost; a legitimate answer needs far fewer.
MAX_STEPS = 100_000
#: Seconds one ``pattern``/``patternProperties`` search may take, and all of them on
#: one answer. ``re`` has no time limit and holds the GIL, so ``regex`` runs them.
REGEX_TIMEOUT = 0.02
REGEX_BUDGET = 0.1

# The metaschemas of the drafts, and nothing else: a $ref to anything outside the
# schema itself is unresolvable instead of fetched (jsonschema's default registry
# still downloads remote references).
_REGISTRY: referencing.Registry[Any] = jsonschema_specifications.REGISTRY
_REMOTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
#: Per scan: [keyword checks left, regex seconds left].
_steps: ContextVar[list[float]] = ContextVar("json_schema_steps")


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
        token = _steps.set([MAX_STEPS, REGEX_BUDGET])
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
    if any(True for _ in _values(schema, "unevaluatedProperties")) and any(
        True for _ in _values(schema, "patternProperties")
    ):
        raise UnusableSchema("unevaluatedProperties with patternProperties")
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
                    for pattern in value:
                        _check_regex(pattern)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


def _check_regex(pattern: str) -> None:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise UnusableSchema(f"a pattern is longer than {MAX_PATTERN_CHARS} characters")
    if backtracking_risk(pattern):
        raise UnusableSchema(f"pattern {pattern[:60]!r} may backtrack exponentially")
    try:
        _regex(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError):
        raise UnusableSchema(f"pattern {pattern[:60]!r} does not compile") from None


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> Any:
    return regex.compile(pattern)


def _search(pattern: str, text: str) -> bool:
    """``re.search`` semantics, but timed out and metered against the scan's budget."""
    try:
        compiled = _regex(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError):
        raise _TooCostly from None  # not reached: _check_regex refused it already
    budget = _steps.get(None)
    timeout = REGEX_TIMEOUT if budget is None else min(REGEX_TIMEOUT, budget[1])
    if timeout <= 0:
        raise _TooCostly
    started = time.perf_counter()
    try:
        found = compiled.search(text, timeout=timeout) is not None
    except TimeoutError:
        raise _TooCostly from None
    finally:
        if budget is not None:
            budget[1] -= time.perf_counter() - started
    return found


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
    """``draft`` with every keyword check counted against the scan's MAX_STEPS, and
    the keywords that run regexes or compare items replaced by bounded ones."""
    checks = dict(draft.VALIDATORS)
    for keyword, check in _BOUNDED.items():
        if keyword in checks:
            checks[keyword] = check
    return validators.extend(draft, {k: _step(fn) for k, fn in checks.items()})


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance[:80]!r} does not match {pattern[:80]!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's, with the ``patternProperties`` searches bounded."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [
        key
        for key in instance
        if key not in properties and not any(_search(p, key) for p in patterns)
    ]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            listed = ", ".join(repr(k[:80]) for k in sorted(extras)[:20])
            yield ValidationError(f"{listed} {verb} not match any of the regexes")
        else:
            yield ValidationError(f"Additional properties are not allowed ({len(extras)})")


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """Linear: a set of canonical forms, under JSON Schema's equality."""
    if not unique or not validator.is_type(instance, "array"):
        return
    budget = _steps.get(None)
    seen: set[Any] = set()
    for item in instance:
        form = _canonical(item, budget)
        if form in seen:
            yield ValidationError("the array has non-unique elements")
            return
        seen.add(form)


def _canonical(value: Any, budget: list[float] | None) -> Any:
    """A hashable form equal for JSON-equal values: 1 == 1.0, True != 1, keys unordered.
    Each value visited costs a step."""
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooCostly
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, list):
        return ("a", tuple(_canonical(v, budget) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _canonical(v, budget)) for k, v in value.items()))
    raise _TooCostly  # not from JSON


_BOUNDED: dict[str, Callable[..., Any]] = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}


def _step(check: Callable[..., Any]) -> Callable[..., Any]:
    def counted(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        left = _steps.get(None)
        if left is not None:  # unset: a validator used outside a scan, unmetered
            left[0] -= 1
            if left[0] < 0:
                raise _TooCostly
        return check(validator, value, instance, schema)

    return counted
