"""The ``gatehouse`` command: parse arguments, call a package, print with Rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from gatehouse import __version__
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
    from gatehouse.api.server import serve_forever, with_overrides

    cfg = with_overrides(load_or_exit(config), host=host, port=port, workers=workers)
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
        str, typer.Option(help="400 | 500 | 503 | 429 | hang | reset | cut | malformed")
    ] = "500",
    retry_after_s: Annotated[float, typer.Option(help="Retry-After sent with 429/503.")] = 1.0,
    model: Annotated[
        list[str] | None, typer.Option(help="Model names listed by /v1/models.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the error draw.")] = None,
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
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Gatehouse configuration"
    sys.stdout.write(orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode() + "\n")


def main() -> None:
    app()
