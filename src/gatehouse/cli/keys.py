"""``gatehouse keys``: create, list, show, change, rotate and revoke virtual API keys.

Works on the store the config file names, directly: no gateway has to run, and every
running one picks a change up within ``auth.refresh_interval_s``. Bad input is one
line on stderr and exit status 2; an unknown (or revoked, for changes) key is status 1.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gatehouse.cli.db import ConfigOption, _store
from gatehouse.guard.keys import ApiKey
from gatehouse.guard.periods import period_label, period_start
from gatehouse.times import parse_duration, parse_time

if TYPE_CHECKING:
    from gatehouse.guard.keystore import KeyStore

keys_app = typer.Typer(help="Manage virtual API keys in the store.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

Format = Annotated[
    Literal["table", "json"], typer.Option("--format", help="table (for people) or json.")
]
IdArgument = Annotated[str, typer.Argument(help="The key's id (key_…).", show_default=False)]
Roles = Annotated[
    list[str] | None,
    typer.Option("--role", help="admin, operator, viewer or app (repeat for several)."),
]
Owner = Annotated[str | None, typer.Option(help="The user who owns the key.")]
Team = Annotated[str | None, typer.Option(help="The key's team.")]
Models = Annotated[
    list[str] | None,
    typer.Option("--model", help="A model the key may call: name or pattern like 'gpt-4*'."),
]
Expires = Annotated[
    str | None,
    typer.Option(help="A duration (30d, 12h, 90m, 2w) or an ISO time (UTC if no zone)."),
]
Rpm = Annotated[int | None, typer.Option("--rpm", min=1, help="Requests per window.")]
Tpm = Annotated[int | None, typer.Option("--tpm", min=1, help="Tokens per window.")]
MaxConcurrent = Annotated[int | None, typer.Option(min=1, help="Calls in flight at once.")]
MaxTokens = Annotated[int | None, typer.Option(min=1, help="Largest max_tokens of a call.")]
BudgetUsd = Annotated[float | None, typer.Option(help="Spend allowed per period, in USD.")]
BudgetPeriod = Annotated[
    Literal["day", "week", "month", "total"] | None,
    typer.Option(help="day, week, month (UTC calendar) or total. [default: month]"),
]
Metadata = Annotated[
    list[str] | None, typer.Option("--metadata", help="key=value, recorded with every call.")
]


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for.", show_default=False)],
    role: Roles = None,
    owner: Owner = None,
    team: Team = None,
    model: Models = None,
    expires: Expires = None,
    rpm: Rpm = None,
    tpm: Tpm = None,
    max_concurrent: MaxConcurrent = None,
    max_tokens: MaxTokens = None,
    budget_usd: BudgetUsd = None,
    budget_period: BudgetPeriod = None,
    metadata: Metadata = None,
    output: Format = "table",
    config: ConfigOption = None,
) -> None:
    """Create a key and print its secret, once: only its hash is stored."""
    limits = _limits(rpm, tpm, max_concurrent, max_tokens)
    if budget_period is not None and budget_usd is None:
        _fail("--budget-period needs --budget-usd")
    budget = None if budget_usd is None else {"usd": budget_usd, "period": budget_period or "month"}
    with _keystore(config) as store:
        try:
            key, secret = store.create(
                name=name,
                roles=role or ("app",),
                owner=owner,
                team=team,
                models=model or (),
                expires_at=None if expires is None else _expiry(expires, time.time()),
                metadata=_pairs(metadata or [], allow_empty=False),
                limits=limits,
                budget=budget,
            )
        except ValueError as exc:
            _fail(str(exc))
    _print_secret(key, secret, output, "created")


@keys_app.command("list")
def list_keys(
    team: Annotated[str | None, typer.Option(help="Only this team's keys.")] = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Revoked keys too.")] = False,
    output: Format = "table",
    config: ConfigOption = None,
) -> None:
    """Keys, oldest first (never their secrets or hashes), with when each was last used."""
    from gatehouse.store.spend import last_used

    with _keystore(config) as store:
        keys = store.list(team=team, include_revoked=all_keys)
        used = last_used(store.database, [k.id for k in keys])
    now = time.time()
    if output == "json":
        _print_json([{**_view(k, now), "last_used_at": used.get(k.id)} for k in keys])
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    columns = ("id", "prefix", "name", "team", "owner", "roles", "models", "expires", "last used")
    for column in (*columns, "state"):
        table.add_column(column, no_wrap=column in ("id", "prefix"))
    for k in keys:
        table.add_row(
            k.id,
            k.prefix + "…",
            escape(k.name),
            escape(k.team or "-"),
            escape(k.owner or "-"),
            ",".join(sorted(k.roles)),
            escape(",".join(k.models) or "all"),
            _when(k.expires_at) if k.expires_at is not None else "never",
            _when(used[k.id]) if k.id in used else "never",
            _coloured(_state_of(k, now)),
        )
    out.print(table)
    if not keys:
        out.print("[dim]no keys" + ("" if all_keys else " (--all shows revoked ones)") + "[/]")


@keys_app.command("show")
def show(key_id: IdArgument, output: Format = "table", config: ConfigOption = None) -> None:
    """A key, what it has spent in its budget period (month without a budget), and when
    it was last used (its latest call in the request log)."""
    from gatehouse.store.spend import last_used, settled_spend

    now = time.time()
    with _keystore(config) as store:
        key = store.get(key_id)
        if key is None:
            _fail(f"no key {key_id}", 1)
        period = key.budget.period if key.budget is not None else "month"
        since = period_start(period, now)
        spent = settled_spend(store.database, "key_id", since, [key.id]).get(key.id, 0.0)
        used_at = last_used(store.database, [key.id]).get(key.id)
    spend = {
        "period": period,
        "label": period_label(period, now),
        "since": since,
        "usd": spent,
        "budget_usd": key.budget.usd if key.budget is not None else None,
    }
    if output == "json":
        _print_json({**_view(key, now), "last_used_at": used_at, "spend": spend})
        return
    _print_key(key, now)
    out.print(f"last used: {_when(used_at) if used_at is not None else 'never'}")
    of = f" of ${key.budget.usd:,.2f}" if key.budget is not None else ""
    out.print(f"spent {spend['label']}: ${spent:,.4f}{of} (settled calls in the request log)")


@keys_app.command("update")
def update(
    key_id: IdArgument,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    role: Roles = None,
    owner: Annotated[str | None, typer.Option(help="A new owner; '' clears it.")] = None,
    team: Annotated[str | None, typer.Option(help="A new team; '' clears it.")] = None,
    model: Models = None,
    expires: Expires = None,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="Never expire.")] = False,
    rpm: Rpm = None,
    tpm: Tpm = None,
    max_concurrent: MaxConcurrent = None,
    max_tokens: MaxTokens = None,
    budget_usd: BudgetUsd = None,
    budget_period: BudgetPeriod = None,
    clear_budget: Annotated[bool, typer.Option("--clear-budget", help="No budget.")] = False,
    metadata: Annotated[
        list[str] | None,
        typer.Option("--metadata", help="key=value to set, key= to remove."),
    ] = None,
    output: Format = "table",
    config: ConfigOption = None,
) -> None:
    """Change a key: only the options given; --role and --model replace the lists."""
    from gatehouse.guard.keystore import KeyBusy

    if expires is not None and no_expiry:
        _fail("give --expires or --no-expiry, not both")
    if clear_budget and (budget_usd is not None or budget_period is not None):
        _fail("give --clear-budget or --budget-usd/--budget-period, not both")
    with _keystore(config) as store:
        key = store.get(key_id)
        if key is None or key.revoked_at is not None:
            _fail(f"no active key {key_id}" + (" (it is revoked)" if key else ""), 1)
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = name
        if role:
            fields["roles"] = role
        if owner is not None:
            fields["owner"] = owner or None
        if team is not None:
            fields["team"] = team or None
        if model:
            fields["models"] = model
        if no_expiry:
            fields["expires_at"] = None
        elif expires is not None:
            fields["expires_at"] = _expiry(expires, time.time())
        changed_limits = _limits(rpm, tpm, max_concurrent, max_tokens)
        if changed_limits:
            fields["limits"] = {
                **key.limits.model_dump(exclude_defaults=True),
                **changed_limits,
            }
        if clear_budget:
            fields["budget"] = None
        elif budget_usd is not None or budget_period is not None:
            if key.budget is None and budget_usd is None:
                _fail("the key has no budget: give --budget-usd")
            budget = key.budget.model_dump() if key.budget is not None else {}
            if budget_usd is not None:
                budget["usd"] = budget_usd
            if budget_period is not None:
                budget["period"] = budget_period
            fields["budget"] = budget
        if metadata:
            merged = {**key.metadata, **_pairs(metadata, allow_empty=True)}
            fields["metadata"] = {k: v for k, v in merged.items() if v}
        if not fields:
            _fail("nothing to change: give at least one option")
        try:
            key = store.update(key_id, **fields)
        except ValueError as exc:
            _fail(str(exc))
        except KeyError:
            _fail(f"no active key {key_id}", 1)
        except KeyBusy:
            _fail(f"key {key_id} is being changed by another writer; try again", 1)
    if output == "json":
        _print_json(_view(key, time.time()))
    else:
        out.print(f"updated {key.id}")
        _print_key(key, time.time())


@keys_app.command("rotate")
def rotate(key_id: IdArgument, output: Format = "table", config: ConfigOption = None) -> None:
    """Give a key a new secret (printed once); the old one stops working."""
    from gatehouse.guard.keystore import KeyBusy

    with _keystore(config) as store:
        try:
            key, secret = store.rotate(key_id)
        except KeyError:
            _fail(f"no active key {key_id}", 1)
        except KeyBusy:
            _fail(f"key {key_id} is being changed by another writer; try again", 1)
    _print_secret(key, secret, output, "rotated")


@keys_app.command("revoke")
def revoke(key_id: IdArgument, output: Format = "table", config: ConfigOption = None) -> None:
    """Revoke a key for good (gateways refuse it within their refresh interval)."""
    from gatehouse.guard.keystore import KeyBusy

    with _keystore(config) as store:
        try:
            key = store.revoke(key_id)
        except KeyError:
            _fail(f"no key {key_id}", 1)
        except KeyBusy:
            _fail(f"key {key_id} is being changed by another writer; try again", 1)
    if output == "json":
        _print_json(_view(key, time.time()))
    else:
        out.print(f"revoked {key.id} ({escape(key.name)}) at {_when(key.revoked_at)}")


# --- helpers ------------------------------------------------------------------------


@contextlib.contextmanager
def _keystore(config: Path | None) -> Iterator[KeyStore]:
    """The configured store's keys, its schema brought up to date as ``serve`` would."""
    from gatehouse.cli.main import load_or_exit
    from gatehouse.guard.keystore import KeyStore
    from gatehouse.store import SchemaNotCurrent

    migrate = load_or_exit(config).store.migrate
    with _store(config) as db:
        if migrate == "auto":
            db.upgrade()
        else:
            try:
                db.require_current()
            except SchemaNotCurrent as exc:
                _fail(str(exc), 1)
        yield KeyStore(db)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _state_of(key: ApiKey, now: float) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _limits(
    rpm: int | None, tpm: int | None, max_concurrent: int | None, max_tokens: int | None
) -> dict[str, int]:
    given = {"rpm": rpm, "tpm": tpm, "max_concurrent": max_concurrent, "max_tokens": max_tokens}
    return {k: v for k, v in given.items() if v is not None}


def _expiry(text: str, now: float) -> float:
    """Epoch seconds of ``--expires``: a duration from now, or an ISO time."""
    seconds = parse_duration(text)
    at = now + seconds if seconds is not None else parse_time(text)
    if at is None:
        _fail(
            f"--expires {text!r}: give a duration such as 30d, 12h, 90m or 2w, or an "
            "ISO time such as 2026-12-31 or 2026-12-31T18:00:00+01:00"
        )
    if at <= now:
        _fail(f"--expires {text!r} is not in the future")
    return at


def _pairs(items: list[str], *, allow_empty: bool) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k or (not v and not allow_empty):
            _fail(f"--metadata {item!r}: give key=value")
        pairs[k] = v
    return pairs


def _view(key: ApiKey, now: float) -> dict[str, Any]:
    return {**key.view(), "state": _state_of(key, now)}


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _coloured(state: str) -> str:
    colour = {"active": "green", "expired": "yellow", "revoked": "red"}[state]
    return f"[{colour}]{state}[/]"


def _print_json(data: Any) -> None:
    # Plain stdout, not Rich: a console would wrap long strings such as the secret.
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _print_key(key: ApiKey, now: float) -> None:
    table = Table(box=box.SIMPLE, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    limits = key.limits.model_dump(exclude_defaults=True)
    budget = key.budget
    rows = [
        ("id", key.id),
        ("name", escape(key.name)),
        ("prefix", key.prefix + "…"),
        ("state", _coloured(_state_of(key, now))),
        ("roles", ", ".join(sorted(key.roles))),
        ("owner", escape(key.owner or "-")),
        ("team", escape(key.team or "-")),
        ("models", escape(", ".join(key.models) or "all")),
        ("expires", _when(key.expires_at) if key.expires_at is not None else "never"),
        ("limits", escape(orjson.dumps(limits).decode()) if limits else "defaults"),
        ("budget", f"${budget.usd:,.2f} per {budget.period}" if budget else "none"),
        ("metadata", escape(", ".join(f"{k}={v}" for k, v in key.metadata.items()) or "-")),
        ("created", _when(key.created_at)),
        ("updated", _when(key.updated_at)),
    ]
    if key.revoked_at is not None:
        rows.append(("revoked", _when(key.revoked_at)))
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)


def _print_secret(key: ApiKey, secret: str, output: str, verb: str) -> None:
    if output == "json":
        _print_json({"key": _view(key, time.time()), "secret": secret})
    else:
        out.print(f"{verb} {key.id} ({escape(key.name)})")
        _print_key(key, time.time())
        out.print(f"secret: {secret}", soft_wrap=True, markup=False)
    err.print(
        "[yellow]warning:[/] this is the only time the secret is shown; Gatehouse stores "
        "only its hash. Keep it somewhere safe now.",
        soft_wrap=True,
    )
