"""Turn the results of a run into text tables and PASS/MISS lines against the budget."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GATEWAY = "gatehouse"

# The budget Gatehouse's figures are held to (see bench/README.md).
BUDGET = {
    "added_p50_ms": 0.8,
    "added_p99_ms": 3.0,
    "rps_vs_floor": 0.75,
    "rps_min": 2500.0,
    "added_ttft_p50_ms": 1.5,
    "streams_min": 1000.0,
    "rss_max_mb": 120.0,
}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [[_cell(v) for v in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [row[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _added(s: dict[str, Any] | None, base: dict[str, Any] | None, key: str) -> float | None:
    """``s[key]`` minus the direct path's; None for the direct path itself."""
    if s is None or base is None or s is base or s[key] is None or base[key] is None:
        return None
    return s[key] - base[key]


# --- sections ---------------------------------------------------------------------


def latency_section(lat: dict[str, Any]) -> str:
    base = lat["paths"].get("direct")
    rows = [
        [
            name,
            *(s[k] for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms")),
            _signed(_added(s, base, "p50_ms")),
            _signed(_added(s, base, "p99_ms")),
            s["n"],
            s["errors"],
        ]
        for name, s in lat["paths"].items()
    ]
    head = ["path", "p50 ms", "p90 ms", "p99 ms", "mean ms", "max ms", "+p50 ms", "+p99 ms",
            "n", "errors"]  # fmt: skip
    title = (
        f"Latency at c=1, non-streaming, {lat['body_bytes']:,}-byte body (proxies with "
        f"{lat['workers']} worker; {lat['warmup']:,} warm-up, {lat['rounds']} interleaved rounds; "
        f"other load {lat['other_load']:.0%})"
    )
    return f"{title}\n{table(head, rows)}"


def ttft_section(ttft: dict[str, Any]) -> str:
    direct = ttft["paths"].get("direct")
    base = direct["ttft"] if direct else None
    rows = []
    for name, s in ttft["paths"].items():
        first, total = s["ttft"], s["total"]
        rows.append(
            [
                name,
                *(first[k] for k in ("p50_ms", "p90_ms", "p99_ms")),
                total["p50_ms"],
                total["p99_ms"],
                _signed(_added(first, base, "p50_ms")),
                _signed(_added(first, base, "p99_ms")),
                first["n"],
                s["errors"],
            ]
        )
    head = ["path", "ttft p50", "ttft p90", "ttft p99", "total p50", "total p99",
            "+ttft p50", "+ttft p99", "n", "errors"]  # fmt: skip
    title = (
        f"Streaming at c=1, {ttft['tokens']} content chunks, ms (proxies with {ttft['workers']} "
        "worker; ttft = first event with non-empty delta.content, total = through [DONE]; "
        f"other load {ttft['other_load']:.0%})"
    )
    return f"{title}\n{table(head, rows)}"


def load_section(title: str, rows: list[dict[str, Any]], unit: str) -> str:
    out = [
        [
            r["path"],
            r["workers"],
            r["rps"],
            "/".join(f"{v:,}" for v in r["rps_rounds"]),
            r["p50_ms"],
            r["p99_ms"],
            r["errors"],
            r["proxy_cpu_us"],
            r["upstream_cpu_us"],
            _ratio(r.get("vs_floor")),
            _ratio(r.get("vs_direct")),
            _ratio(r.get("other_load")),
        ]
        for r in rows
    ]
    head = ["path", "workers", unit, "rounds", "p50 ms", "p99 ms", "errors",
            "proxy CPU us/req", "upstream CPU us/req", "/floor", "/direct",
            "other load"]  # fmt: skip
    return f"{title}\n{table(head, out)}"


def memory_section(rows: list[dict[str, Any]], soak: dict[str, Any] | None) -> str:
    out = [[r["path"], r["workers"], r["served"], _mib(r["rss_mb"])] for r in rows]
    text = "Memory after the runs (VmRSS per worker process, MiB)\n"
    text += table(["path", "workers", "requests served", "RSS per worker"], out)
    if soak:
        points = [[0, _mib(soak["start_rss_mb"]), 0, 0.0]]
        points += [
            [p["served"], _mib(p["rss_mb"]), p["errors"], p["seconds"]] for p in soak["checkpoints"]
        ]
        text += (
            f"\n\nSoak: a fresh {soak['path']} with {soak['workers']} workers, wrk "
            f"c={soak['connections']}, streaming and non-streaming requests alternating\n"
        )
        text += table(["requests", "RSS per worker", "errors", "s"], points)
    return text


def _mib(values: list[float]) -> str:
    return " ".join(f"{v:.1f}" for v in values)


def failed_requests(results: dict[str, Any]) -> dict[str, int]:
    """Failed requests per path over every scenario."""
    failed: dict[str, int] = {}
    for section in ("latency", "ttft"):
        for name, stats in ((results.get(section) or {}).get("paths") or {}).items():
            failed[name] = failed.get(name, 0) + stats["errors"]
    for row in results.get("throughput", []) + results.get("streams", []):
        failed[row["path"]] = failed.get(row["path"], 0) + row["errors"]
    soak = results.get("soak")
    if soak and soak["checkpoints"]:
        failed[soak["path"]] = failed.get(soak["path"], 0) + soak["checkpoints"][-1]["errors"]
    return {name: n for name, n in failed.items() if n}


def other_load(results: dict[str, Any]) -> float:
    """The largest share of the machine's CPU unrelated processes took in a measurement."""
    sections = [results.get("latency"), results.get("ttft")]
    sections += results.get("throughput", []) + results.get("streams", [])
    return max((s.get("other_load") or 0.0 for s in sections if s), default=0.0)


# --- budget -----------------------------------------------------------------------


def budget_lines(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each budget line with the measured figure and PASS, MISS or n/a."""
    tolerance = results["settings"]["growth_tolerance_mb"]
    return [
        *_latency_lines(results.get("latency")),
        *_throughput_lines(results.get("throughput", [])),
        *_stream_lines(results.get("ttft"), results.get("streams", [])),
        *_memory_lines(results.get("memory", []), results.get("soak"), tolerance),
    ]


def _check(
    name: str,
    value: float | None,
    op: str,
    limit: float,
    fmt: str,
    note: str = "",
    errors: int = 0,
) -> dict[str, Any]:
    """One budget line: ``value op limit`` (op is "<=" or ">="), shown with ``fmt``.

    A figure measured with failed requests is a MISS whatever its value.
    """
    if value is None:
        verdict, shown = ("MISS" if errors else "n/a"), "-"
    else:
        ok = value <= limit if op == "<=" else value >= limit
        verdict, shown = ("PASS" if ok and not errors else "MISS"), fmt.format(value)
    if errors:
        note = f"{note}, {errors:,} errors" if note else f"{errors:,} errors"
    return {
        "line": name,
        "measured": value,
        "shown": shown,
        "budget": f"{op} {fmt.format(limit)}",
        "verdict": verdict,
        "note": note,
    }


def _latency_lines(lat: dict[str, Any] | None) -> list[dict[str, Any]]:
    paths = (lat or {}).get("paths", {})
    gw, base = paths.get(GATEWAY), paths.get("direct")
    p50, p99 = _added(gw, base, "p50_ms"), _added(gw, base, "p99_ms")
    errors = gw["errors"] if gw else 0
    return [
        _check("added latency p50, c=1", p50, "<=", BUDGET["added_p50_ms"], "{:.3f} ms",
               errors=errors),
        _check("added latency p99, c=1", p99, "<=", BUDGET["added_p99_ms"], "{:.3f} ms",
               errors=errors),
    ]  # fmt: skip


def _most_workers(rows: list[dict[str, Any]], path: str) -> dict[str, Any] | None:
    """The row for ``path`` at the largest worker count measured (2 in a default run)."""
    mine = [r for r in rows if r["path"] == path]
    return max(mine, key=lambda r: r["workers"]) if mine else None


def _throughput_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gw = _most_workers(rows, GATEWAY) or {}
    note = f"workers={gw['workers']}" if gw else ""
    errors = gw.get("errors", 0)
    return [
        _check("throughput c=64, gatehouse/floor", gw.get("vs_floor"), ">=",
               BUDGET["rps_vs_floor"], "{:.0%}", note, errors),
        _check("throughput c=64", gw.get("rps"), ">=", BUDGET["rps_min"], "{:,.0f} req/s",
               note, errors),
    ]  # fmt: skip


def _stream_lines(ttft: dict[str, Any] | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    paths = (ttft or {}).get("paths", {})
    gw, base = paths.get(GATEWAY), paths.get("direct")
    added = _added(gw["ttft"], base["ttft"], "p50_ms") if gw and base else None
    streams = _most_workers(rows, GATEWAY) or {}
    note = f"workers={streams['workers']}" if streams else ""
    return [
        _check("added TTFT p50, c=1", added, "<=", BUDGET["added_ttft_p50_ms"], "{:.3f} ms",
               errors=gw["errors"] if gw else 0),
        _check("streams/s c=16, 20 chunks", streams.get("rps"), ">=", BUDGET["streams_min"],
               "{:,.0f} streams/s", note, streams.get("errors", 0)),
    ]  # fmt: skip


def _memory_lines(
    rows: list[dict[str, Any]], soak: dict[str, Any] | None, tolerance: float
) -> list[dict[str, Any]]:
    limit = BUDGET["rss_max_mb"]
    points = (soak or {}).get("checkpoints", [])
    if len(points) >= 2:
        first, second = points[0], points[1]
        growth = max(b - a for a, b in zip(first["rss_mb"], second["rss_mb"], strict=False))
        return [
            _check(f"RSS per worker at {first['served']:,} requests", max(first["rss_mb"]),
                   "<=", limit, "{:.1f} MiB", "soak", first["errors"]),
            _check(f"RSS growth {first['served']:,} -> {second['served']:,}", growth, "<=",
                   tolerance, "{:.1f} MiB", "soak", second["errors"]),
        ]  # fmt: skip
    mine = [r for r in rows if r["path"] == GATEWAY]
    last = mine[-1] if mine else None
    rss = max(last["rss_mb"]) if last else None
    note = f"after {last['served']:,} requests, no soak" if last else ""
    return [
        _check("RSS per worker", rss, "<=", limit, "{:.1f} MiB", note),
        _check("RSS growth 100k -> 200k", None, "<=", tolerance, "{:.1f} MiB", "--soak 200000"),
    ]


def budget_section(lines: list[dict[str, Any]]) -> str:
    rows = [[b["line"], b["shown"], b["budget"], b["verdict"], b["note"]] for b in lines]
    return "Budget (gatehouse)\n" + table(["line", "measured", "budget", "verdict", "note"], rows)
