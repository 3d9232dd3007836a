"""Load ``gatehouse.yaml``: parse, interpolate ``${ENV}``, validate, report every error.

Errors are collected, not raised one at a time: an operator fixing a file sees all of
its problems at once, each as ``FILE:LINE: key.path: reason``.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gatehouse.config.schema import Config, reference_errors

Path_ = tuple[str | int, ...]

DEFAULT_PATH = "gatehouse.yaml"
ENV_VAR = "GATEHOUSE_CONFIG"

_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int | None
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config`` wins, then ``$GATEHOUSE_CONFIG``, then ``./gatehouse.yaml``."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    file = resolve_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = " (pass --config FILE or set GATEHOUSE_CONFIG)" if path is None else ""
        raise ConfigError([ConfigIssue(str(file), None, "", f"file not found{hint}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(file), None, "", f"cannot read: {exc}")]) from None
    return parse_config(text, str(file), os.environ if env is None else env)


def parse_config(text: str, file: str, env: Mapping[str, str]) -> Config:
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigIssue(file, line, "", f"invalid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, None, "", f"invalid YAML: {exc}")]) from None

    if node is None or not isinstance(data, dict):
        raise ConfigError([ConfigIssue(file, 1, "", "the top level must be a mapping of keys")])

    lines: dict[Path_, int] = {}
    issues: list[ConfigIssue] = []
    _index_lines(node, (), lines, issues, file)
    data = _interpolate(data, (), env, lines, issues, file)
    # A key whose reference already failed is not reported again for its empty value.
    reported = {issue.path for issue in issues}

    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if _dotted(loc) in reported:
                continue
            issues.append(
                ConfigIssue(file, _line_for(loc, lines), _dotted(loc), _reason(err, loc, data))
            )
        raise ConfigError(issues) from None

    for loc, reason in reference_errors(config):
        issues.append(ConfigIssue(file, _line_for(loc, lines), _dotted(loc), reason))
    if issues:
        raise ConfigError(issues)
    return config


def _index_lines(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: list[ConfigIssue], file: str
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                issues.append(
                    ConfigIssue(
                        file, key_node.start_mark.line + 1, _dotted((*path, key)), "duplicate key"
                    )
                )
            seen.add(key)
            _index_lines(value_node, (*path, key), lines, issues, file)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines, issues, file)


def _interpolate(
    value: Any,
    path: Path_,
    env: Mapping[str, str],
    lines: dict[Path_, int],
    issues: list[ConfigIssue],
    file: str,
) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), env, lines, issues, file) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), env, lines, issues, file) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        issues.append(
            ConfigIssue(
                file,
                _line_for(path, lines),
                _dotted(path),
                f"environment variable {name} is not set (set it, or write ${{{name}:-default}})",
            )
        )
        return ""

    leftover = _REF.sub("", value)
    if "${" in leftover:
        issues.append(
            ConfigIssue(
                file,
                _line_for(path, lines),
                _dotted(path),
                "malformed ${…} reference: write ${NAME} or ${NAME:-default} "
                "(NAME: letters, digits, _), or $${ for a literal ${",
            )
        )
        return value
    result = _REF.sub(substitute, value)
    # A value that is exactly one reference may stand for a number or a boolean.
    if result != value and _REF.fullmatch(value):
        try:
            parsed = yaml.safe_load(result)
        except yaml.YAMLError:
            return result
        if isinstance(parsed, bool | int | float):
            return parsed
    return result


def _dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_for(loc: Path_, lines: dict[Path_, int]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _reason(err: Mapping[str, Any], loc: Path_, data: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = ""
        if allowed:
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
        return f"unknown key{hint}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "literal_error":
        got = _lookup(data, loc)
        msg = f"{msg}, got {got!r}"
    return msg


def _lookup(data: Any, loc: Path_) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed_keys(loc: Path_) -> list[str]:
    """Field names of the model found at ``loc``, for a typo hint."""
    current: Any = Config
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _step(tp: Any, part: str | int) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(str(part))
        return _unwrap(field.annotation) if field else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict and len(args) == 2:
        return _unwrap(args[1])
    if origin is list and args:
        return _unwrap(args[0])
    return None


def _unwrap(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner[0] if len(inner) == 1 else tp
    return tp
