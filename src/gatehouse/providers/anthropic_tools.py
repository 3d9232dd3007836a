"""Tools, tool choice and the ``response_format`` emulation, OpenAI to Anthropic.

Anthropic has no JSON mode, so a ``response_format`` becomes a forced call of a tool
named :data:`RESPONSE_FORMAT_TOOL` whose input schema is the format's; the provider
gives its input back as the message content (``uses_json_tool`` tells it when).
"""

from __future__ import annotations

from typing import Any

from gatehouse.errors import InvalidRequest
from gatehouse.providers.anthropic_content import (
    expect_list,
    expect_object,
    expect_string,
    unsupported_parameter,
)

#: The tool through which a ``response_format`` is emulated: Anthropic has no JSON mode,
#: but a forced tool call's input is JSON that follows the tool's schema.
RESPONSE_FORMAT_TOOL = "json_output"
_JSON_TOOL_DESCRIPTION = "Respond with the answer as this tool's input"
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def add_tools(body: dict[str, Any], request: dict[str, Any]) -> None:
    """Tools, tool_choice and the response_format emulation."""
    legacy = body.get("tools") is None and body.get("functions") is not None
    tools = _anthropic_tools(body, legacy=legacy)
    raw_choice = body.get("function_call" if legacy else "tool_choice")
    choice = _anthropic_tool_choice(raw_choice, "function_call" if legacy else "tool_choice")
    forced = choice is not None and choice["type"] in ("any", "tool")
    if not tools and forced:
        raise InvalidRequest(
            "'tool_choice' asks for a tool call but the request has no tools",
            param="tool_choice",
            code="invalid_value",
        )
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise InvalidRequest(
            "'parallel_tool_calls' must be true or false",
            param="parallel_tool_calls",
            code="invalid_type",
        )
    if tools and parallel is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    schema = _response_schema(body.get("response_format"))
    if schema is not None:
        if forced:
            raise InvalidRequest(
                "response_format can't be combined with a forced tool_choice on Anthropic "
                "models: it is emulated with a forced tool call of its own",
                param="tool_choice",
                code="unsupported_parameter",
            )
        if _thinking_on(body.get("thinking")):
            raise InvalidRequest(
                "response_format can't be combined with thinking on Anthropic models: it is "
                "emulated with a forced tool call, which Anthropic refuses while thinking",
                param="response_format",
                code="unsupported_parameter",
            )
        if any(t["name"] == RESPONSE_FORMAT_TOOL for t in tools):
            raise InvalidRequest(
                f"the tool name {RESPONSE_FORMAT_TOOL!r} is reserved for response_format on "
                "Anthropic models",
                param="tools",
                code="invalid_value",
            )
        if tools and (choice is None or choice["type"] == "auto"):
            # The client's own tools must stay callable, so the JSON tool can't be
            # forced; "any" makes the model call one of them or the JSON tool rather
            # than answer in prose the client would take for the JSON it asked for.
            choice = {"type": "any", **_only_parallel(choice)}
        else:
            choice = {
                "type": "tool",
                "name": RESPONSE_FORMAT_TOOL,
                "disable_parallel_tool_use": True,
            }
        json_tool = {"name": RESPONSE_FORMAT_TOOL, "description": _JSON_TOOL_DESCRIPTION}
        tools.append({**json_tool, "input_schema": schema})
    if tools:
        request["tools"] = tools
        if choice is not None:
            request["tool_choice"] = choice


def _only_parallel(choice: dict[str, Any] | None) -> dict[str, Any]:
    if choice and choice.get("disable_parallel_tool_use"):
        return {"disable_parallel_tool_use": True}
    return {}


def _thinking_on(thinking: Any) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") not in (None, "disabled")


def _object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Anthropic requires ``type: object`` at the top of a tool's input schema."""
    return schema if "type" in schema else {"type": "object", **schema}


def _anthropic_tools(body: dict[str, Any], *, legacy: bool) -> list[dict[str, Any]]:
    key = "functions" if legacy else "tools"
    raw = body.get(key)
    if raw is None:
        return []
    tools: list[dict[str, Any]] = []
    for j, tool in enumerate(expect_list(raw, key)):
        where = f"{key}[{j}]"
        tool = expect_object(tool, where)
        if legacy:
            function, fwhere = tool, where
        else:
            if tool.get("type") != "function":
                raise unsupported_parameter("tools other than functions", f"{where}.type")
            fwhere = f"{where}.function"
            function = expect_object(tool.get("function"), fwhere)
        name = expect_string(function.get("name"), f"{fwhere}.name", nonempty=True)
        out: dict[str, Any] = {"name": name}
        description = function.get("description")
        if description is not None:
            out["description"] = expect_string(description, f"{fwhere}.description")
        parameters = function.get("parameters")
        if parameters is None:
            out["input_schema"] = dict(_EMPTY_SCHEMA)
        else:
            out["input_schema"] = _object_schema(expect_object(parameters, f"{fwhere}.parameters"))
        # OpenAI's "strict" is dropped: Anthropic's strict tools need other schema rules.
        control = tool.get("cache_control", function.get("cache_control"))
        if control is not None:
            out["cache_control"] = expect_object(control, f"{where}.cache_control")
        tools.append(out)
    return tools


def _anthropic_tool_choice(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if value in ("auto", "none"):
        return {"type": value}
    if value == "required":
        return {"type": "any"}
    if isinstance(value, dict):
        # {"type": "function", "function": {"name"}}, or the legacy {"name"} of function_call
        function = value.get("function") if "function" in value else value
        if value.get("type", "function") == "function" and isinstance(function, dict):
            name = expect_string(function.get("name"), f"{param}.function.name", nonempty=True)
            return {"type": "tool", "name": name}
    raise InvalidRequest(
        f"'{param}' must be 'auto', 'none', 'required' or a named function for Anthropic models",
        param=param,
        code="unsupported_parameter",
    )


def _response_schema(value: Any) -> dict[str, Any] | None:
    """The input schema of the tool that emulates a JSON response_format (None: none)."""
    if value is None:
        return None
    fmt = expect_object(value, "response_format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind != "json_schema":
        raise InvalidRequest(
            "'response_format.type' must be text, json_object or json_schema",
            param="response_format.type",
            code="invalid_value",
        )
    spec = expect_object(fmt.get("json_schema"), "response_format.json_schema")
    schema = spec.get("schema")
    if schema is None:
        return {"type": "object"}
    schema = expect_object(schema, "response_format.json_schema.schema")
    if schema.get("type", "object") != "object":
        raise unsupported_parameter(
            "a JSON response whose top level is not an object (a tool's input is an object)",
            "response_format.json_schema.schema.type",
        )
    return _object_schema(schema)


def uses_json_tool(anthropic_request: dict[str, Any]) -> bool:
    """Whether to_messages_request emulated response_format in this request."""
    tools = anthropic_request.get("tools")
    return isinstance(tools, list) and any(
        isinstance(t, dict)
        and t.get("name") == RESPONSE_FORMAT_TOOL
        and t.get("description") == _JSON_TOOL_DESCRIPTION
        for t in tools
    )
