"""``gatehouse db``: the store's schema, as an explicit step when migrations aren't automatic."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from gatehouse.store import Database

db_app = typer.Typer(help="Manage the request-log store.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $GATEHOUSE_CONFIG, else ./gatehouse.yaml)."
    ),
]


@db_app.command("upgrade")
def upgrade(config: ConfigOption = None) -> None:
    """Bring the store's schema up to date (safe to run from several places at once)."""
    with _store(config) as db:
        before = db.current_revision()
        db.upgrade()
        after = db.current_revision()
    if before == after:
        out.print(f"{db.display_url}: schema already at {after}")
    else:
        out.print(f"{db.display_url}: schema upgraded {before or 'empty'} → {after}")


@db_app.command("current")
def current(config: ConfigOption = None) -> None:
    """Print the schema revision of the store, and whether it is up to date."""
    with _store(config) as db:
        revision, up_to_date = db.current_revision(), db.is_current()
    out.print(
        f"{db.display_url}: {revision or 'empty'}" + ("" if up_to_date else " (needs upgrade)")
    )
    if not up_to_date:
        raise typer.Exit(1)


@contextlib.contextmanager
def _store(config: Path | None) -> Iterator[Database]:
    """The configured store, open; a failure is one line on stderr and exit status 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from gatehouse.cli.main import load_or_exit
    from gatehouse.store import Database
    from gatehouse.store.db import open_failure

    db = Database(load_or_exit(config).store.url)
    try:
        yield db
    except (SQLAlchemyError, OSError) as exc:
        err.print(open_failure(db, exc), markup=False, highlight=False)
        raise typer.Exit(1) from None
    finally:
        db.close()
