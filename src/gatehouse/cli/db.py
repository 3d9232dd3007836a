"""``gatehouse db``: the store's schema, as an explicit step when migrations aren't automatic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

db_app = typer.Typer(help="Manage the request-log store.", no_args_is_help=True)
out = Console(highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $GATEHOUSE_CONFIG, else ./gatehouse.yaml)."
    ),
]


@db_app.command("upgrade")
def upgrade(config: ConfigOption = None) -> None:
    """Bring the store's schema up to date (safe to run from several places at once)."""
    from gatehouse.cli.main import load_or_exit
    from gatehouse.store import Database

    cfg = load_or_exit(config)
    db = Database(cfg.store.url)
    try:
        before = db.current_revision()
        db.upgrade()
        after = db.current_revision()
    finally:
        db.close()
    if before == after:
        out.print(f"{db.display_url}: schema already at {after}")
    else:
        out.print(f"{db.display_url}: schema upgraded {before or 'empty'} → {after}")


@db_app.command("current")
def current(config: ConfigOption = None) -> None:
    """Print the schema revision of the store, and whether it is up to date."""
    from gatehouse.cli.main import load_or_exit
    from gatehouse.store import Database

    cfg = load_or_exit(config)
    db = Database(cfg.store.url)
    try:
        revision, up_to_date = db.current_revision(), db.is_current()
    finally:
        db.close()
    out.print(
        f"{db.display_url}: {revision or 'empty'}" + ("" if up_to_date else " (needs upgrade)")
    )
    if not up_to_date:
        raise typer.Exit(1)
