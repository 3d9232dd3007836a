"""Virtual API keys in the store: create, read, change, rotate and revoke them.

Synchronous on purpose: the admin API and the workers' refresh loop run it in a thread
executor, the CLI calls it directly. Input is checked before anything is written (bad
input raises ``ValueError``), and the row ↔ ``ApiKey`` conversion lives here alone
(``_columns`` one way, ``_key_of`` the other).
"""

from __future__ import annotations

import builtins
import logging
import math
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from gatehouse.config.access import ROLES, BudgetConfig, KeyLimits
from gatehouse.guard.keys import (
    MIN_SECRET_CHARS,
    SECRET_PREFIX,
    ApiKey,
    display_prefix,
    hash_secret,
    new_secret,
)
from gatehouse.store.db import Database
from gatehouse.store.tables import api_keys

log = logging.getLogger("gatehouse.guard")
#: The step a write's stamp takes past a newer one already stored (clock skew).
_TICK = 1e-6

MAX_NAME = 200  # for key names, owners and teams alike (as the config's team/user names)
#: Fields ``update`` accepts; None clears those that may be empty (see ``_columns``).
FIELDS = frozenset(
    {"name", "roles", "owner", "team", "models", "expires_at", "metadata", "limits", "budget"}
)

_c = api_keys.c
_Model = TypeVar("_Model", bound=BaseModel)


#: How long a write waits for a key's row that another transaction holds.
LOCK_WAIT_S = 5.0
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's lock_not_available


class KeyBusy(Exception):
    """Another writer held the key's row for longer than `LOCK_WAIT_S`; try again."""


class KeyStore:
    """The ``api_keys`` table of one ``Database``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(
        self,
        *,
        name: str,
        roles: Iterable[str] = ("app",),
        owner: str | None = None,
        team: str | None = None,
        models: Iterable[str] = (),
        expires_at: float | None = None,
        metadata: Mapping[str, str] | None = None,
        limits: KeyLimits | Mapping[str, Any] | None = None,
        budget: BudgetConfig | Mapping[str, Any] | None = None,
        secret: str | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret: the secret is not stored, so it is shown only now.

        ``secret``: keep an existing secret (a key moved from another gateway) instead
        of drawing one; it must look like ours and be as long.
        """
        values = _columns(
            {
                "name": name,
                "roles": roles,
                "owner": owner,
                "team": team,
                "models": models,
                "expires_at": expires_at,
                "metadata": metadata,
                "limits": limits,
                "budget": budget,
            }
        )
        if secret is None:
            secret = new_secret()
        elif not secret.startswith(SECRET_PREFIX) or len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"secret: must start with {SECRET_PREFIX!r} and be at least "
                f"{MIN_SECRET_CHARS} characters long"
            )
        key_id = "key_" + secrets.token_hex(10)
        now = time.time()
        with self.database.engine.begin() as conn:
            conn.execute(
                api_keys.insert().values(
                    id=key_id,
                    prefix=display_prefix(secret),
                    hash=hash_secret(secret),
                    revoked_at=None,
                    created_at=now,
                    updated_at=_stamp(now),
                    **values,
                )
            )
            key = _read(conn, key_id)
        assert key is not None
        return key, secret

    def get(self, key_id: str) -> ApiKey | None:
        with self.database.engine.connect() as conn:
            return _read(conn, key_id)

    def list(
        self, *, team: str | None = None, include_revoked: bool = False
    ) -> builtins.list[ApiKey]:
        """Keys oldest first, optionally of one team; revoked ones only when asked."""
        query = sa.select(api_keys).order_by(_c.created_at, _c.id)
        if team is not None:
            query = query.where(_c.team == team)
        if not include_revoked:
            query = query.where(_c.revoked_at.is_(None))
        with self.database.engine.connect() as conn:
            return [_key_or_refused(row) for row in conn.execute(query).mappings()]

    def changed_since(
        self, watermark: float | None, known: Mapping[str, float] | None = None
    ) -> builtins.list[ApiKey]:
        """Keys written at or after ``watermark`` (revoked ones included; None: every
        key), oldest change first; with ``known`` (id -> updated_at already held), only
        the ones that differ.

        A poll re-reads a few seconds of changes (for writes that commit out of order);
        asking for ids and stamps first keeps it from parsing the same rows every time.
        """
        since = [] if watermark is None else [_c.updated_at >= watermark]
        if known is not None:
            stamps = sa.select(_c.id, _c.updated_at).where(*since)
            with self.database.engine.connect() as conn:
                ids = [i for i, at in conn.execute(stamps) if known.get(i) != at]
                keys: builtins.list[ApiKey] = []
                for start in range(0, len(ids), 500):
                    rows = sa.select(api_keys).where(_c.id.in_(ids[start : start + 500]))
                    keys += [_key_or_refused(row) for row in conn.execute(rows).mappings()]
            return sorted(keys, key=lambda k: k.updated_at)
        query = sa.select(api_keys).where(*since).order_by(_c.updated_at)
        with self.database.engine.connect() as conn:
            return [_key_or_refused(row) for row in conn.execute(query).mappings()]

    def update(self, key_id: str, **fields: Any) -> ApiKey:
        """Change the given fields of an active key; KeyError if it is unknown or revoked."""
        unknown = set(fields) - FIELDS
        if unknown:
            raise ValueError(
                f"cannot update {', '.join(sorted(unknown))}: "
                f"the fields are {', '.join(sorted(FIELDS))}"
            )
        return self._write(key_id, _columns(fields))

    def rotate(self, key_id: str) -> tuple[ApiKey, str]:
        """A new secret for an active key; the old one stops working at once."""
        secret = new_secret()
        key = self._write(key_id, {"prefix": display_prefix(secret), "hash": hash_secret(secret)})
        return key, secret

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key for good; revoking it again changes nothing. KeyError if unknown."""
        now = time.time()
        with self.database.engine.begin() as conn:
            _lock(conn, key_id)
            conn.execute(
                api_keys.update()
                .where(_c.id == key_id, _c.revoked_at.is_(None))
                .values(revoked_at=now, updated_at=_stamp(now))
            )
            key = _read(conn, key_id)
        if key is None:
            raise KeyError(key_id)
        return key

    def _write(self, key_id: str, values: Mapping[str, Any]) -> ApiKey:
        with self.database.engine.begin() as conn:
            # The revoked check and the write are one statement: a concurrent revoke
            # can never be undone by an update or a rotation that read the row first.
            _lock(conn, key_id)
            done = conn.execute(
                api_keys.update()
                .where(_c.id == key_id, _c.revoked_at.is_(None))
                .values(updated_at=_stamp(time.time()), **values)
            )
            if done.rowcount == 0:
                raise KeyError(key_id)
            key = _read(conn, key_id)
        assert key is not None
        return key


def _lock(conn: sa.Connection, key_id: str) -> None:
    """Hold the key's row until the transaction ends, before its stamp is computed.

    On PostgreSQL a second writer of the same row blocks in its UPDATE but keeps the
    newest stamp it read before blocking, so two versions could get the same stamp
    (and a worker that holds the first would never take the second: a lost revocation).
    Taking the row lock in a statement of its own makes the UPDATE read the stamps after
    the other writer committed. SQLite ignores FOR UPDATE: its one writer lock is taken
    by the UPDATE itself, before the stamp subquery runs.

    A writer that holds the row for long (stalled, or its client gone) makes this one
    give up after `LOCK_WAIT_S` with `KeyBusy`, rather than hold a thread without end.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"SET LOCAL lock_timeout = '{round(LOCK_WAIT_S * 1000)}ms'"))
    try:
        conn.execute(sa.select(_c.id).where(_c.id == key_id).with_for_update())
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise KeyBusy(key_id) from exc
        raise


def _stamp(now: float) -> sa.ColumnElement[float]:
    """``updated_at`` of a write: now, or the newest stamp already stored if later.

    Workers poll for ``updated_at >= last seen - overlap``. A replica whose clock runs
    ahead would otherwise leave stamps in the future that hide the writes of the others
    (a revocation missed until restart); never going below the newest stamp makes every
    write visible to the next poll, whatever the clocks say. Computed in the writing
    statement itself, so SQLite takes its write lock before reading the maximum.
    """
    latest = sa.select(sa.func.max(_c.updated_at)).scalar_subquery()
    # Past the newest, never equal to it: workers cache a key's rules by its stamp, so
    # two versions of a key must never share one.
    return sa.case((latest >= now, latest + _TICK), else_=sa.literal(now, sa.Double()))


def _read(conn: sa.Connection, key_id: str) -> ApiKey | None:
    row = conn.execute(sa.select(api_keys).where(_c.id == key_id)).mappings().one_or_none()
    return None if row is None else _key_or_refused(row)


def _key_or_refused(row: sa.RowMapping) -> ApiKey:
    """The key of a row; a row this version can't read (a newer version wrote it, or it
    was edited by hand) becomes a revoked key, so one bad row never stops the others
    from loading and the key it holds is refused until the row is fixed."""
    try:
        return _key_of(row)
    except (ValueError, TypeError, KeyError) as exc:  # pydantic's errors are ValueErrors
        log.error(
            "key %s in the store cannot be read (%s); it is refused until fixed",
            row["id"],
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return ApiKey(
            id=row["id"],
            name=str(row["name"]),
            prefix=str(row["prefix"]),
            hash=bytes(row["hash"]),
            roles=frozenset(),
            revoked_at=time.time(),
            updated_at=float(row["updated_at"]),
        )


def _key_of(row: sa.RowMapping) -> ApiKey:
    budget = row["budget"]
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        hash=bytes(row["hash"]),
        roles=frozenset(orjson.loads(row["roles"])),
        owner=row["owner"],
        team=row["team"],
        models=tuple(orjson.loads(row["models"])),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        metadata=orjson.loads(row["metadata"]),
        limits=KeyLimits.model_validate(orjson.loads(row["limits"])),
        budget=None if budget is None else BudgetConfig.model_validate(orjson.loads(budget)),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for the given key fields, checked; ValueError names the bad one.

    None clears owner, team, expires_at and budget, and resets metadata and limits to
    empty (as when a key is created without them). Name, roles and models can't be None:
    an empty model list means *every* model, which should never happen by accident.
    """
    values: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "name":
            values["name"] = _name("name", value, optional=False)
        elif field in ("owner", "team"):
            values[field] = _name(field, value, optional=True)
        elif field == "roles":
            roles = set(_strings("roles", value))
            if not roles:
                raise ValueError(f"roles: give at least one of {', '.join(ROLES)}")
            unknown = roles - set(ROLES)
            if unknown:
                raise ValueError(
                    f"roles: unknown {', '.join(sorted(unknown))}; use {', '.join(ROLES)}"
                )
            values["roles"] = _json(sorted(roles))
        elif field == "models":
            models = _strings("models", value)
            if any(not m.strip() for m in models):
                raise ValueError("models: a model name or pattern can't be empty")
            values["models"] = _json(models)
        elif field == "expires_at":
            values["expires_at"] = _time(value)
        elif field == "metadata":
            values["metadata"] = _json(_metadata(value))
        elif field == "limits":
            limits = _model(KeyLimits, "limits", {} if value is None else value)
            values["limits"] = _json(limits.model_dump(mode="json", exclude_defaults=True))
        elif field == "budget":
            budget = None if value is None else _model(BudgetConfig, "budget", value)
            values["budget"] = None if budget is None else _json(budget.model_dump(mode="json"))
        else:
            raise ValueError(f"unknown key field {field!r}")
    return values


def _name(field: str, value: Any, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: must be a non-empty string")
    if len(value) > MAX_NAME:
        raise ValueError(f"{field}: longer than {MAX_NAME} characters")
    if "\x00" in value:
        raise ValueError(f"{field}: must not contain a NUL character")
    return value


def _strings(field: str, value: Any) -> builtins.list[str]:
    # A lone string is iterable too: "admin" must not become roles a, d, m, i, n.
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"{field}: must be a list of strings")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{field}: must be a list of strings")
    return items


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("expires_at: must be epoch seconds (a finite number) or null")
    return float(value)


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("metadata: must be an object of string keys and string values")
    for k, v in value.items():
        if not isinstance(k, str) or not k or not isinstance(v, str):
            raise ValueError(f"metadata: {k!r}: keys must be non-empty strings and values strings")
    return dict(value)


def _model(model: type[_Model], field: str, value: Any) -> _Model:
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ValueError(f"{field}: {problems}") from None


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
