"""The structured-output check: JSON objects, JSON schemas, and hostile schemas that
must neither hang the gateway nor make it fetch anything."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from typing import Any

import pytest

from gatehouse.guard.scanners import structured
from gatehouse.guard.scanners.base import ScanContext
from gatehouse.guard.scanners.structured import JsonSchemaCheck, schema_validator

scanner = JsonSchemaCheck()
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["answer"],
    "additionalProperties": False,
}


def schema_format(schema: Any) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": schema, "strict": True},
    }


def check(text: str, fmt: dict[str, Any] | None) -> list[tuple[str, int, int]]:
    context = ScanContext(direction="output", role="assistant", response_format=fmt)
    found = scanner.scan(text, context)
    assert all(f.score == 1.0 for f in found)
    return [(f.type, f.start, f.end) for f in found]


def test_it_judges_whole_texts_only() -> None:
    assert JsonSchemaCheck.whole is True and JsonSchemaCheck.isolated is False


@pytest.mark.parametrize("fmt", [None, {"type": "text"}, {"type": "something_new"}, {}])
def test_nothing_to_check_without_structured_output(fmt: dict[str, Any] | None) -> None:
    assert check("plain words, not JSON", fmt) == []


def test_json_object_must_be_an_object() -> None:
    fmt = {"type": "json_object"}
    assert check(' {"a": [1, 2, {"b": null}]}\n', fmt) == []
    assert check("[1, 2]", fmt) == [("INVALID_JSON", 0, 6)]  # JSON, but not an object
    assert check('"text"', fmt) == [("INVALID_JSON", 0, 6)]
    assert check('{"a": NaN}', fmt) == [("INVALID_JSON", 0, 10)]  # not JSON's


def test_invalid_json_is_reported_from_the_error_to_the_end() -> None:
    fmt = {"type": "json_object"}
    text = '{"a": 1, "b": oops}'
    assert check(text, fmt) == [("INVALID_JSON", text.index("oops"), len(text))]
    fenced = '```json\n{"a": 1}\n```'
    assert check(fenced, fmt) == [("INVALID_JSON", 0, len(fenced))]
    cut = '{"a": [1, 2'
    assert check(cut, fmt) == [("INVALID_JSON", 0, len(cut))]  # error at the very end
    open_string = '{"a": "a stream cut off'
    assert check(open_string, fmt) == [("INVALID_JSON", 6, len(open_string))]
    assert check("", fmt) == [("INVALID_JSON", 0, 0)]


def test_json_schema_valid_and_violations() -> None:
    fmt = schema_format(ANSWER_SCHEMA)
    assert check('{"answer": "42", "confidence": 0.9}', fmt) == []
    for bad in ['{"answer": 42}', '{"confidence": 1}', '{"answer": "x", "extra": true}', "[]"]:
        assert check(bad, fmt) == [("SCHEMA_VIOLATION", 0, len(bad))]
    assert check('{"answer": ', fmt) == [("INVALID_JSON", 0, 11)]


def test_json_schema_without_a_schema_only_needs_json() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "anything"}}
    assert check("[1, 2]", fmt) == []
    assert check("{nope", fmt) == [("INVALID_JSON", 1, 5)]


def test_references_within_the_schema_and_recursion_work() -> None:
    tree = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["name"],
            }
        },
        "$ref": "#/$defs/node",
    }
    fmt = schema_format(tree)
    good = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert check(json.dumps(good), fmt) == []
    bad = json.dumps({"name": "a", "children": [{"children": []}]})
    assert check(bad, fmt) == [("SCHEMA_VIOLATION", 0, len(bad))]


def test_the_draft_named_by_dollar_schema_is_used() -> None:
    # A tuple written the draft-07 way: an invalid schema under 2020-12.
    tuple_schema = {"items": [{"type": "string"}], "additionalItems": False}
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **tuple_schema}
    assert check('["a"]', schema_format(draft7)) == []
    assert check('["a", 1]', schema_format(draft7)) == [("SCHEMA_VIOLATION", 0, 8)]
    assert check('["a"]', schema_format(tuple_schema)) == [("INVALID_SCHEMA", 0, 5)]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "objectx"},
        {"$schema": "https://example.com/my-own-draft", "type": "object"},
        "a string",
        {"required": "answer"},
    ],
)
def test_an_unusable_schema_is_a_finding_not_a_pass(schema: Any) -> None:
    text = '{"answer": "x"}'
    assert check(text, schema_format(schema)) == [("INVALID_SCHEMA", 0, len(text))]


def test_a_malformed_response_format_fails_safe() -> None:
    fmt = {"type": "json_schema", "json_schema": "not an object"}
    assert check("{}", fmt) == [("INVALID_SCHEMA", 0, 2)]


def test_oversize_and_overdeep_schemas_are_refused() -> None:
    wide = {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "description": "x" * 100} for i in range(700)},
    }
    assert len(json.dumps(wide)) > structured.MAX_SCHEMA_BYTES
    assert check("{}", schema_format(wide)) == [("INVALID_SCHEMA", 0, 2)]
    deep: dict[str, Any] = {"type": "object"}
    for _ in range(20):
        deep = {"type": "object", "properties": {"x": deep}}
    assert check("{}", schema_format(deep)) == [("INVALID_SCHEMA", 0, 2)]
    shallow: dict[str, Any] = {"type": "object"}
    for _ in range(10):
        shallow = {"type": "object", "properties": {"x": shallow}}
    assert check("{}", schema_format(shallow)) == []


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attempt to open a URL or a socket, recorded and refused."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:1]))
        raise AssertionError("the scanner tried to reach the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "https://schemas.example.com/answer.json"},
        {"type": "object", "properties": {"a": {"$ref": "http://example.com/a.json#/x"}}},
        {"anyOf": [{"type": "object"}, {"$ref": "https://example.com/unused.json"}]},
    ],
)
def test_a_remote_ref_is_never_fetched(no_network: list[str], schema: Any) -> None:
    assert check('{"a": 1}', schema_format(schema)) == [("INVALID_SCHEMA", 0, 8)]
    assert no_network == []


def test_an_absolute_ref_to_the_schemas_own_id_resolves_locally(no_network: list[str]) -> None:
    schema = {
        "$id": "https://example.com/answer.json",
        "$defs": {"text": {"type": "string"}},
        "type": "object",
        "properties": {"answer": {"$ref": "https://example.com/answer.json#/$defs/text"}},
    }
    assert check('{"answer": "x"}', schema_format(schema)) == []
    assert check('{"answer": 1}', schema_format(schema)) == [("SCHEMA_VIOLATION", 0, 13)]
    assert no_network == []


def test_a_backtracking_pattern_in_a_schema_is_refused_at_once() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}}
    text = json.dumps({"a": "a" * 40 + "!"})
    started = time.perf_counter()
    assert check(text, schema_format(schema)) == [("INVALID_SCHEMA", 0, len(text))]
    keys = {"type": "object", "patternProperties": {"^(\\w+\\s?)*$": {"type": "string"}}}
    assert check(text, schema_format(keys)) == [("INVALID_SCHEMA", 0, len(text))]
    assert time.perf_counter() - started < 1.0


def test_a_schema_whose_references_fan_out_stops_within_its_budget() -> None:
    # Each level checks the next twice: 2**30 checks if nothing stopped it.
    defs: dict[str, Any] = {
        f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}, {"$ref": f"#/$defs/d{i + 1}"}]}
        for i in range(30)
    }
    defs["d30"] = {"type": "integer"}
    started = time.perf_counter()
    assert check("1", schema_format({"$ref": "#/$defs/d0", "$defs": defs})) == [
        ("INVALID_SCHEMA", 0, 1)
    ]
    assert check("1", schema_format({"$ref": "#"})) == [("INVALID_SCHEMA", 0, 1)]  # a loop
    assert time.perf_counter() - started < 3.0


def test_a_large_valid_answer_is_within_budget_and_fast() -> None:
    item = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "minLength": 1},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["a", "b", "c"]},
        },
        "required": ["id", "name", "tags", "kind"],
        "additionalProperties": False,
    }
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": item}}}
    answer = {
        "items": [{"id": i, "name": f"n{i}", "tags": ["x"], "kind": "b"} for i in range(3000)]
    }
    started = time.perf_counter()
    assert check(json.dumps(answer), schema_format(schema)) == []
    assert time.perf_counter() - started < 1.0


def test_deeply_nested_answers_are_invalid_not_a_crash() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert check(text, {"type": "json_object"}) == [("INVALID_JSON", 0, len(text))]


def test_validators_are_compiled_once_per_schema() -> None:
    reordered = dict(reversed(list(ANSWER_SCHEMA.items())))
    assert schema_validator(ANSWER_SCHEMA) is schema_validator(reordered)
    assert schema_validator(ANSWER_SCHEMA) is not schema_validator({"type": "object"})


@pytest.mark.parametrize(
    ("schema", "answer"),
    [
        ({"type": "string", "pattern": "(a|aa)+$"}, "a" * 40 + "!"),
        ({"type": "string", "pattern": "(?:a|a)*b"}, "a" * 40),
        ({"type": "string", "pattern": "(\\d|\\d\\d)+x"}, "1" * 40),
        ({"type": "string", "pattern": "^(a?){30}a{30}$"}, "a" * 30),
        ({"type": "string", "pattern": "\\d+\\d+\\d+x"}, "1" * 1000),
        ({"type": "object", "patternProperties": {"(a|a)*$": {}}}, {"a" * 30 + "!": 1}),
        (
            {
                "type": "object",
                "patternProperties": {"(a|aa)+$": {}},
                "additionalProperties": False,
            },
            {"a" * 40 + "!": 1},
        ),
        (
            {"type": "array", "items": {"type": "string", "pattern": "(a|aa)+$"}},
            ["a" * 40 + "!"] * 20,  # each search under its timeout, together over budget
        ),
    ],
)
def test_client_regexes_are_timed_out_not_run_for_minutes(schema: Any, answer: Any) -> None:
    text = json.dumps(answer)
    started = time.perf_counter()
    found = check(text, schema_format(schema))
    # Minutes before the time limits; bounded generously for a loaded machine.
    assert time.perf_counter() - started < 2.0
    assert found in ([], [("INVALID_SCHEMA", 0, len(text))], [("SCHEMA_VIOLATION", 0, len(text))])


def test_catastrophic_regexes_make_the_schema_unusable() -> None:
    text = json.dumps("a" * 40 + "!")
    schema: dict[str, Any] = {"type": "string", "pattern": "(a|aa)+$"}
    assert check(text, schema_format(schema)) == [("INVALID_SCHEMA", 0, len(text))]
    keys = json.dumps({"a" * 30 + "!": 1})
    schema = {"type": "object", "patternProperties": {"(a|a)*$": {}}}
    assert check(keys, schema_format(schema)) == [("INVALID_SCHEMA", 0, len(keys))]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "[unclosed"},
        {"type": "object", "patternProperties": {"(?<bad": {}}},
        {"type": "object", "patternProperties": {"a": {}}, "unevaluatedProperties": False},
    ],
)
def test_patterns_that_cannot_be_run_safely_are_unusable(schema: Any) -> None:
    assert check('"a"', schema_format(schema)) == [("INVALID_SCHEMA", 0, 3)]


def test_ordinary_patterns_still_validate_by_search() -> None:
    date = schema_format({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"})
    assert check('"2024-05-01"', date) == []
    assert check('"2024-5-01"', date) == [("SCHEMA_VIOLATION", 0, 11)]
    code = schema_format({"type": "string", "pattern": "^[A-Z]{3}$"})
    assert check('"EUR"', code) == []
    assert check('"EURO"', code) == [("SCHEMA_VIOLATION", 0, 6)]
    anywhere = schema_format({"type": "string", "pattern": "b+"})  # search, not match
    assert check('"aab"', anywhere) == []
    assert check('"aaa"', anywhere) == [("SCHEMA_VIOLATION", 0, 5)]
    keys = schema_format(
        {
            "type": "object",
            "properties": {"id": {"type": "integer"}},
            "patternProperties": {"^x-": {"type": "string"}},
            "additionalProperties": False,
        }
    )
    assert check('{"id": 1, "x-a": "s"}', keys) == []
    assert check('{"id": 1, "x-a": 2}', keys) == [("SCHEMA_VIOLATION", 0, 19)]
    assert check('{"id": 1, "y": "s"}', keys) == [("SCHEMA_VIOLATION", 0, 19)]
    extra = schema_format(
        {"patternProperties": {"^x-": {}}, "additionalProperties": {"type": "integer"}}
    )
    assert check('{"x-a": "s", "b": 1}', extra) == []
    assert check('{"x-a": "s", "b": "s"}', extra) == [("SCHEMA_VIOLATION", 0, 22)]


@pytest.mark.parametrize(
    ("answer", "unique"),
    [
        ([1, 2, 3], True),
        ([1, 2, 1], False),
        ([1, 1.0], False),
        ([True, 1], True),
        ([False, 0], True),
        ([None, False, 0, "", [], {}], True),
        ([{"a": 1, "b": [1, {"c": 2}]}, {"b": [1.0, {"c": 2}], "a": 1}], False),
        ([{"a": 1}, {"a": True}], True),
        ([[1, 2], [2, 1]], True),
        ([[1, [True]], [1.0, [True]]], False),
        (["1", 1], True),
    ],
)
def test_unique_items_uses_json_schema_equality(answer: Any, unique: bool) -> None:
    text = json.dumps(answer)
    fmt = schema_format({"type": "array", "uniqueItems": True})
    assert check(text, fmt) == ([] if unique else [("SCHEMA_VIOLATION", 0, len(text))])
    assert check(text, schema_format({"type": "array", "uniqueItems": False})) == []


@pytest.mark.parametrize(
    "answer",
    [
        ["x", *range(4000)],
        [{"id": i, "tags": ["t", i]} for i in range(10_000)],
        [{"id": i} for i in range(10_000)] + [{"id": 9_999}],
    ],
)
def test_unique_items_is_linear(answer: Any) -> None:
    text = json.dumps(answer)
    fmt = schema_format({"type": "array", "uniqueItems": True})
    started = time.perf_counter()
    found = check(text, fmt)
    # Quadratic, 10,000 objects took 64 s; linear, ~0.05 s (a loaded CI machine: 0.52 s).
    assert time.perf_counter() - started < 5.0
    duplicated = answer[-1] == {"id": 9_999}
    assert found == ([("SCHEMA_VIOLATION", 0, len(text))] if duplicated else [])


def test_unique_items_counts_against_the_step_budget() -> None:
    answer = [[i, [i, [i]]] for i in range(structured.MAX_STEPS // 4)]
    text = json.dumps(answer)
    fmt = schema_format({"type": "array", "uniqueItems": True})
    assert check(text, fmt) == [("INVALID_SCHEMA", 0, len(text))]


def test_regex_time_is_metered_per_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    fmt = schema_format({"type": "string", "pattern": "^[A-Z]{3}$"})
    monkeypatch.setattr(structured, "REGEX_BUDGET", 0.0)
    assert check('"EUR"', fmt) == [("INVALID_SCHEMA", 0, 5)]
