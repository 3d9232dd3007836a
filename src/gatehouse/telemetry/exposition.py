"""Prometheus text format 0.0.4: rendering our families, and reading other servers' pages.

The reader is deliberately small: it returns (name, labels, value) per sample and
skips comments, timestamps and lines it cannot read, which is all the upstream
scraper needs from a vLLM or TGI ``/metrics`` page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container, Iterable, Iterator

from gatehouse.telemetry.registry import Family, HistogramValue, LabelValues

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\})')
_UNESCAPE = re.compile(r"\\(.)")


def render(families: Iterable[Family]) -> bytes:
    """The families as one exposition page, series sorted by label values."""
    out: list[str] = []
    for fam in families:
        name = fam.name
        out.append(f"# HELP {name} {_escape_help(fam.help)}\n# TYPE {name} {fam.kind}\n")
        if fam.kind == "histogram":
            les = [*(_number(b) for b in fam.buckets), "+Inf"]
            for values in sorted(fam.series):
                counts, total = fam.series[values]  # type: ignore[misc]
                inner = _inner_labels(fam.label_names, values)
                head = f"{name}_bucket{{{inner}," if inner else f"{name}_bucket{{"
                cumulative = 0
                for le, count in zip(les, counts, strict=True):
                    cumulative += count
                    out.append(f'{head}le="{le}"}} {cumulative}\n')
                labels = f"{{{inner}}}" if inner else ""
                out.append(f"{name}_sum{labels} {_number(total)}\n")
                out.append(f"{name}_count{labels} {cumulative}\n")
        else:
            for values in sorted(fam.series):
                inner = _inner_labels(fam.label_names, values)
                labels = f"{{{inner}}}" if inner else ""
                out.append(f"{name}{labels} {_number(fam.series[values])}\n")
    return "".join(out).encode()


def parse_text(
    text: str, names: Container[str] | None = None
) -> Iterator[tuple[str, dict[str, str], float]]:
    """Yield (metric name, labels, value) for each sample line of an exposition page.

    With ``names``, samples of other metrics are skipped before their labels are read,
    which keeps a large vLLM page cheap to scan.
    """
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        brace = line.find("{")
        space = line.find(" ")
        if brace != -1 and (space == -1 or brace < space):
            name = line[:brace].strip()
            if names is not None and name not in names:
                continue
            labels, end = _read_labels(line, brace + 1)
            if labels is None:
                continue
            rest = line[end:]
        else:
            if space == -1:
                continue
            name = line[:space]
            if names is not None and name not in names:
                continue
            labels, rest = {}, line[space:]
        fields = rest.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        yield name, labels, value


def _read_labels(line: str, pos: int) -> tuple[dict[str, str] | None, int]:
    labels: dict[str, str] = {}
    if line[pos:].lstrip().startswith("}"):
        return labels, line.index("}", pos) + 1
    while True:
        match = _LABEL.match(line, pos)
        if match is None:
            return None, pos
        labels[match[1]] = _UNESCAPE.sub(_unescape_one, match[2])
        pos = match.end()
        if match[3] == "}":
            return labels, pos
        if line[pos:].lstrip().startswith("}"):  # a trailing comma before the brace
            return labels, line.index("}", pos) + 1


def _unescape_one(match: re.Match[str]) -> str:
    char = match[1]
    return "\n" if char == "n" else char


def _inner_labels(names: tuple[str, ...], values: LabelValues) -> str:
    return ",".join(f'{n}="{_escape_value(v)}"' for n, v in zip(names, values, strict=True))


def _escape_value(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float | HistogramValue) -> str:
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, float):
        raise TypeError(f"not a sample value: {value!r}")
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
