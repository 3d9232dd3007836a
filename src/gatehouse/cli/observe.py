"""``gatehouse stats`` and ``gatehouse logs tail``: the request log from a terminal.

Both talk to a running gateway through its admin API (``--url``, admin key from
``GATEHOUSE_ADMIN_KEY``), so they work the same against SQLite or PostgreSQL, one
worker or many.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from gatehouse.cli.admin_client import DEFAULT_URL, admin_get

out = Console(highlight=False)

UrlOption = Annotated[
    str, typer.Option("--url", help="The gateway's base URL.", envvar="GATEHOUSE_URL")
]
logs_app = typer.Typer(help="Read the request log of a running gateway.", no_args_is_help=True)


def stats(
    window: Annotated[str, typer.Option(help="How far back: 15m, 1h, 24h, 7d.")] = "1h",
    group_by: Annotated[
        str, typer.Option("--group-by", "-g", help="model, deployment, key or provider.")
    ] = "model",
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Latency, TTFT, errors, availability, tokens and cost per model over a window."""
    data = admin_get(url, "/admin/api/stats", {"window": window, "group_by": group_by})
    out.print(stats_table(data, f"Last {window}, by {group_by}"))
    if not data.get("groups"):
        out.print("[dim]no calls recorded in this window[/]")


def stats_table(data: dict[str, Any], title: str) -> Table:
    """The /admin/api/stats answer as a table (also used by the demo)."""
    group_by = data.get("group_by", "model")
    table = Table(
        title=title,
        caption="latency and TTFT in ms; err: failed calls (5xx, 429); avail: share of "
        "minutes served well",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = [group_by, "calls", "qps", "err", "avail", "p50", "p99", "ttft99", "tok/s", "usd"]
    per_attempt = group_by == "deployment"
    if per_attempt:
        # A call that failed everywhere was served by no deployment: its failures show
        # here, as the attempts each deployment made.
        columns[2:2] = ["tries", "failed"]
    for column in columns:
        table.add_column(column, justify="left" if column == group_by else "right", no_wrap=True)
    for row in data.get("groups", []):
        latency, ttft = row.get("latency_ms") or {}, row.get("ttft_ms") or {}
        cells = [str(row.get("group") or "-"), str(row.get("requests", 0))]
        if per_attempt:
            cells += [str(row.get("attempts", 0)), str(row.get("attempt_errors", 0))]
        table.add_row(
            *cells,
            _num(row.get("qps"), 2),
            _pct(row.get("error_rate")),
            _pct(row.get("availability")),
            _num(latency.get("p50")),
            _num(latency.get("p99")),
            _num(ttft.get("p99")),
            _num(row.get("tokens_per_s")),
            _num(row.get("cost_usd"), 4),
        )
    return table


@logs_app.command("tail")
def tail(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new calls.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many to show first.")] = 20,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only this status: 200, 5xx, 4xx, error, ok.")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between polls with -f.")] = 1.0,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """The latest calls, one line each (oldest first); -f follows new ones."""
    query: dict[str, str] = {"limit": str(max(1, min(lines, 1000)))}
    if model:
        query["model"] = model
    if status:
        query["status"] = status
    page = admin_get(url, "/admin/api/requests", query)
    seen: dict[str, float] = {}
    for row in reversed(page["data"]):
        seen[row["id"]] = row["received_at"]
        out.print(format_line(row), soft_wrap=True)
    if not follow:
        return
    try:
        while True:
            time.sleep(interval)
            # Records are written when a call ends, so a long stream can arrive after
            # calls that started later: look back a minute and skip what was shown.
            newest = max(seen.values(), default=time.time() - 60)
            query.update(since=str(newest - 60), limit="1000")
            page = admin_get(url, "/admin/api/requests", query)
            for row in reversed(page["data"]):
                if row["id"] not in seen:
                    seen[row["id"]] = row["received_at"]
                    out.print(format_line(row), soft_wrap=True)
            if len(seen) > 20_000:
                cutoff = newest - 120
                seen = {k: v for k, v in seen.items() if v >= cutoff}
    except KeyboardInterrupt:
        return


def format_line(row: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(row["received_at"]).strftime("%H:%M:%S.%f")[:-3]
    status = row.get("status")
    colour = "green" if status == 200 else "yellow" if status and status < 500 else "red"
    tokens = ""
    if row.get("input_tokens") is not None or row.get("output_tokens") is not None:
        tokens = f" {row.get('input_tokens') or 0}→{row.get('output_tokens') or 0} tok"
    cost = f" ${row['cost_usd']:.6f}" if row.get("cost_usd") else ""
    error = f" {row['error_code'] or row['error_type']}" if row.get("error_type") else ""
    served = row.get("deployment") or "-"
    latency = f"{row['latency_ms']:.0f}ms" if row.get("latency_ms") is not None else "-"
    ttft = f" ttft {row['ttft_ms']:.0f}ms" if row.get("ttft_ms") is not None else ""
    return (
        f"[dim]{when}[/] [{colour}]{status}[/] {row['model']} → {served} {latency}{ttft}"
        f"{tokens}{cost}{error} [dim]{row['id']} trace {row['trace_id']}[/]"
    )


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"
