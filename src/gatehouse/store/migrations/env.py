"""Alembic environment: runs on the connection ``Database.upgrade`` hands over.

``Database`` takes the migration lock on that connection first, so this module never
opens a connection of its own (and there is no offline mode).
"""

from __future__ import annotations

from alembic import context

from gatehouse.store.tables import metadata

config = context.config


def run_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_online()
