"""The ``gatehouse`` command: parse arguments, call a package, print with Rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from gatehouse import __version__
from gatehouse.cli.db import db_app
from gatehouse.cli.guard import guard_app
from gatehouse.cli.keys import keys_app
from gatehouse.cli.observe import logs_app, stats
from gatehouse.config import Config, ConfigError, load_config

app = typer.Typer(
    name="gatehouse",
    help="Gatehouse: an OpenAI-compatible gateway that routes, observes and guards LLM calls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check and describe configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
route_app = typer.Typer(help="Inspect routing decisions.", no_args_is_help=True)
app.add_typer(route_app, name="route")
app.add_typer(logs_app, name="logs")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(guard_app, name="guard")
app.command("stats")(stats)

UrlOption = Annotated[
    str, typer.Option("--url", help="The gateway's base URL.", envvar="GATEHOUSE_URL")
]

err = Console(stderr=True)
out = Console()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $GATEHOUSE_CONFIG, else ./gatehouse.yaml).",
        show_default=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"gatehouse {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Gatehouse command line."""


def load_or_exit(path: Path | None) -> Config:
    """Load the config, or print every problem and exit with status 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(f"[bold red]invalid configuration[/] ({len(exc.issues)} problem(s)):")
        for issue in exc.issues:
            err.print(f"  {issue}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Override server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override server.port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Override server.workers.")] = None,
) -> None:
    """Run the gateway."""
    from pydantic import ValidationError

    from gatehouse.api.server import serve_forever, with_overrides

    try:
        cfg = with_overrides(load_or_exit(config), host=host, port=port, workers=workers)
    except ValidationError as exc:
        for error in exc.errors():
            flag = "--" + "-".join(str(p) for p in error["loc"])
            err.print(f"{flag}: {error['msg']}", markup=False)
        raise typer.Exit(2) from None
    if cfg.server.workers > 1 and cfg.server.port == 0:
        err.print("--workers > 1 needs a fixed --port (workers share it with SO_REUSEPORT)")
        raise typer.Exit(2)
    raise typer.Exit(serve_forever(cfg))


@app.command("mock-upstream")
def mock_upstream(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9001,
    workers: Annotated[int, typer.Option(help="Processes sharing the port.")] = 1,
    latency_ms: Annotated[float, typer.Option(help="Delay before a non-streaming answer.")] = 0.0,
    ttft_ms: Annotated[float, typer.Option(help="Delay before the first streamed token.")] = 0.0,
    tokens_per_s: Annotated[float, typer.Option(help="Streamed token pace; 0 = unpaced.")] = 0.0,
    response_tokens: Annotated[int, typer.Option(help="Tokens per answer.")] = 16,
    error_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of failing calls.")
    ] = 0.0,
    error_kind: Annotated[
        str,
        typer.Option(
            help="400 | context | 401 | 500 | 503 | 529 | 429 | hang | reset | cut | malformed "
            "| error-event (529 and error-event are Anthropic's overload; 503 on the OpenAI side)"
        ),
    ] = "500",
    retry_after_s: Annotated[float, typer.Option(help="Retry-After sent with 429/503.")] = 1.0,
    model: Annotated[
        list[str] | None, typer.Option(help="Model names listed by /v1/models.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the error draw.")] = None,
    fail_first: Annotated[
        int, typer.Option(help="The first N calls fail with --error-kind, then all succeed.")
    ] = 0,
) -> None:
    """Run the simulated OpenAI-compatible upstream (for demos, tests and load tests)."""
    from gatehouse.providers.simulated import FAULTS, MockSettings, run_mock_process
    from gatehouse.supervisor import run_workers

    if error_kind not in FAULTS:
        err.print(f"--error-kind must be one of {', '.join(FAULTS)}")
        raise typer.Exit(2)
    settings = MockSettings(
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        tokens_per_s=tokens_per_s,
        response_tokens=response_tokens,
        error_rate=error_rate,
        error_kind=error_kind,
        retry_after_s=retry_after_s,
        model_names=tuple(model) if model else ("mock-model",),
        seed=seed,
        fail_next=fail_first,
    )
    err.print(f"simulated upstream on http://{host}:{port}/v1 ({workers} worker(s))")
    raise typer.Exit(
        run_workers(run_mock_process, (settings, host, port, workers > 1), workers, 1.0)
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Gateway port (a free one is used if taken).")] = 8080,
    requests: Annotated[int, typer.Option(help="Sample requests to send.")] = 200,
    exit_after: Annotated[
        bool, typer.Option("--exit", help="Exit after the summary instead of serving.")
    ] = False,
) -> None:
    """Start a simulated upstream and the gateway, send sample traffic, keep serving."""
    from gatehouse.cli.demo import run_demo

    raise typer.Exit(run_demo(port=port, requests=requests, keep_serving=not exit_after))


@config_app.command("validate")
def config_validate(
    file: Annotated[Path | None, typer.Argument(help="File to check.", show_default=False)] = None,
) -> None:
    """Check a config file; print every problem with file, line and key path."""
    cfg = load_or_exit(file)
    deployments = sum(len(m.deployments) for m in cfg.models.values())
    out.print(
        f"[green]ok[/]: {len(cfg.providers)} provider(s), {len(cfg.models)} model(s), "
        f"{deployments} deployment(s)"
    )


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the config file (for editor completion)."""
    from gatehouse.config.schema import json_schema

    schema = json_schema()
    sys.stdout.write(orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def status(url: UrlOption = "http://127.0.0.1:8080") -> None:
    """Deployments of a running gateway: health, breaker, in flight, latency, errors."""
    from rich.table import Table

    from gatehouse.cli.admin_client import admin_get

    data = admin_get(url, "/admin/api/deployments")
    table = Table(title=f"Deployments (worker pid {data['pid']})")
    for column in (
        "model",
        "deployment",
        "breaker",
        "in flight",
        "latency ms",
        "ttft ms",
        "errors",
        "req/min",
    ):
        table.add_column(column, justify="left" if column in ("model", "deployment") else "right")
    for model, deployments in data["models"].items():
        for dep in deployments:
            stats, breaker = dep["stats"], dep["breaker"]
            state = breaker["state"]
            colour = {"closed": "green", "open": "red", "half_open": "yellow"}.get(state, "dim")
            table.add_row(
                model,
                dep["name"],
                f"[{colour}]{state}[/]",
                str(stats["in_flight"]),
                _num(stats.get("ewma_latency_ms")),
                _num(stats.get("ewma_ttft_ms")),
                f"{stats['error_rate'] * 100:.0f}%",
                str(stats["requests_last_minute"]),
            )
    out.print(table)
    out.print(f"[dim]{data['scope']}[/]")


@route_app.command("explain")
def route_explain(
    model: Annotated[str, typer.Option("--model", "-m", help="Public model name.")],
    tags: Annotated[str, typer.Option(help="Required tags, comma-separated.")] = "",
    url: UrlOption = "http://127.0.0.1:8080",
) -> None:
    """What the router would do now for MODEL: candidates in order, and why."""
    from rich.table import Table

    from gatehouse.cli.admin_client import admin_get

    data = admin_get(url, "/admin/api/route/explain", {"model": model, "tags": tags})
    retry = data["retry"]
    out.print(
        f"[bold]{data['model']}[/]: strategy {data['strategy']}, "
        f"{retry['attempts']} attempt(s) within {retry['budget_s']:g}s, "
        f"fallbacks: {', '.join(data['fallbacks']) or 'none'}"
        + (f", hedge after {data['hedge_after_ms']:g} ms" if data["hedge_after_ms"] else "")
    )
    table = Table()
    for column in (
        "#",
        "deployment",
        "eligible",
        "why",
        "breaker",
        "in flight",
        "latency ms",
        "errors",
    ):
        table.add_column(column)
    for c in data["candidates"]:
        table.add_row(
            str(c["rank"]),
            c["name"],
            "yes" if c["eligible"] else "[red]no[/]",
            c["why"],
            c["breaker"]["state"],
            str(c["stats"]["in_flight"]),
            _num(c["stats"].get("ewma_latency_ms")),
            f"{c['stats']['error_rate'] * 100:.0f}%",
        )
    out.print(table)
    out.print(f"[dim]{data['note']}[/]")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    app()
