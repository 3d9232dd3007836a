"""`gatehouse keys …` as real processes against a SQLite store named by a config file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatehouse.guard.keystore import KeyStore
from gatehouse.guard.snapshot import KeySnapshot
from gatehouse.store import BatchWriter, Database
from tests.conftest import config_for
from tests.store.sample import record


def keys(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", "keys", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "250"},
    )


def ok(config: Path, *args: str) -> Any:
    """Run with --format json; the parsed output."""
    result = keys(config, *args, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/keys.db"


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Path:
    cfg = config_for("http://127.0.0.1:9/v1")
    cfg["store"] = {"url": store_url}
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def snapshot_of(url: str) -> KeySnapshot:
    """What a gateway on this store would see after its next refresh."""
    db = Database(url)
    try:
        snapshot = KeySnapshot()
        snapshot.load(KeyStore(db))
        return snapshot
    finally:
        db.close()


def test_create_prints_a_secret_the_gateway_accepts_then_revoke_refuses_it(
    config: Path, store_url: str
) -> None:
    created = keys(
        config,
        "create",
        "--name", "ci [bot]",
        "--role", "app",
        "--role", "viewer",
        "--team", "research",
        "--owner", "alice",
        "--model", "gpt-4*",
        "--expires", "30d",
        "--rpm", "60",
        "--max-tokens", "512",
        "--budget-usd", "5",
        "--budget-period", "week",
        "--metadata", "env=prod",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = next(
        line.split(": ", 1)[1] for line in created.stdout.splitlines() if line.startswith("secret:")
    )
    assert "only time the secret is shown" in created.stderr
    assert "ci [bot]" in created.stdout  # user text is shown as typed, not as markup
    key = snapshot_of(store_url).lookup(secret)
    assert key is not None
    assert key.name == "ci [bot]" and key.roles == {"app", "viewer"}
    assert (key.team, key.owner, key.models) == ("research", "alice", ("gpt-4*",))
    assert key.limits.rpm == 60 and key.limits.max_tokens == 512
    assert key.budget is not None and (key.budget.usd, key.budget.period) == (5.0, "week")
    assert key.metadata == {"env": "prod"}
    assert key.expires_at is not None and key.expires_at - key.created_at == pytest.approx(
        30 * 86_400, abs=5
    )

    listed = keys(config, "list")
    assert listed.returncode == 0, listed.stderr
    assert key.id in listed.stdout and "active" in listed.stdout and secret not in listed.stdout

    revoked = keys(config, "revoke", key.id)
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked {key.id}" in revoked.stdout
    assert snapshot_of(store_url).lookup(secret) is None
    assert keys(config, "revoke", key.id).returncode == 0  # idempotent
    assert ok(config, "list") == []
    [gone] = ok(config, "list", "--all")
    assert gone["id"] == key.id and gone["state"] == "revoked"


def test_list_and_show_never_reveal_the_secret_or_its_hash(
    config: Path, store_url: str, tmp_path: Path
) -> None:
    first = ok(config, "create", "--name", "a", "--team", "red", "--budget-usd", "10")
    ok(config, "create", "--name", "b", "--team", "blue")
    secret, key_id = first["secret"], first["key"]["id"]
    assert first["key"]["state"] == "active" and "hash" not in first["key"]

    everything = keys(config, "list", "--format", "json").stdout
    assert secret not in everything and "hash" not in everything
    assert [k["name"] for k in json.loads(everything)] == ["a", "b"]
    assert [k["name"] for k in ok(config, "list", "--team", "red")] == ["a"]

    # Spend comes from the request log, within the budget's period (a month here).
    db = Database(store_url)
    try:
        now = time.time()
        BatchWriter(db, tmp_path / "spool").write(
            [
                record(received_at=now - 1, key_id=key_id, cost_usd=1.25),
                record(received_at=now - 2, key_id=key_id, cost_usd=0.5),
                record(received_at=now - 40 * 86_400, key_id=key_id, cost_usd=100.0),
                record(received_at=now - 1, key_id="key_other", cost_usd=7.0),
            ]
        )
    finally:
        db.close()
    shown = ok(config, "show", key_id)
    assert "hash" not in shown and secret not in json.dumps(shown)
    assert shown["spend"]["period"] == "month"
    assert shown["spend"]["usd"] == pytest.approx(1.75)
    assert shown["spend"]["budget_usd"] == 10.0
    table = keys(config, "show", key_id)
    assert table.returncode == 0 and "$1.7500 of $10.00" in table.stdout
    # When each key was last used: its latest call in the request log, or never.
    assert shown["last_used_at"] == pytest.approx(now - 1)
    listed = {k["name"]: k["last_used_at"] for k in ok(config, "list")}
    assert listed == {"a": pytest.approx(now - 1), "b": None}
    assert "never" in keys(config, "list", "--team", "blue").stdout


def test_update_changes_only_what_is_given(config: Path) -> None:
    key = ok(
        config, "create", "--name", "a", "--owner", "alice", "--rpm", "5", "--metadata", "x=1"
    )["key"]
    updated = ok(
        config,
        "update", key["id"],
        "--tpm", "100",
        "--budget-usd", "3",
        "--owner", "",
        "--metadata", "x=",
        "--metadata", "y=2",
        "--expires", "2099-01-01T00:00:00Z",
    )  # fmt: skip
    assert updated["limits"] == {"rpm": 5, "tpm": 100}
    assert updated["budget"]["usd"] == 3.0 and updated["budget"]["period"] == "month"
    assert updated["owner"] is None and updated["metadata"] == {"y": "2"}
    assert updated["expires_at"] == 4_070_908_800.0
    assert updated["name"] == "a" and updated["roles"] == ["app"]
    again = ok(config, "update", key["id"], "--no-expiry", "--clear-budget", "--role", "admin")
    assert again["expires_at"] is None and again["budget"] is None and again["roles"] == ["admin"]


def test_rotate_prints_a_new_secret_and_the_old_one_stops_working(
    config: Path, store_url: str
) -> None:
    created = ok(config, "create", "--name", "a")
    rotated = ok(config, "rotate", created["key"]["id"])
    assert rotated["secret"] != created["secret"]
    assert rotated["key"]["prefix"] == rotated["secret"][:11]
    snapshot = snapshot_of(store_url)
    assert snapshot.lookup(created["secret"]) is None
    found = snapshot.lookup(rotated["secret"])
    assert found is not None and found.id == created["key"]["id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--name", "x", "--role", "root"], "unknown root"),
        (["create", "--name", "  "], "name"),
        (["create", "--name", "x", "--expires", "soon"], "--expires 'soon'"),
        (["create", "--name", "x", "--expires", "2001-01-01"], "not in the future"),
        (["create", "--name", "x", "--metadata", "novalue"], "key=value"),
        (["create", "--name", "x", "--budget-usd", "0"], "budget: usd"),
        (["create", "--name", "x", "--budget-period", "day"], "needs --budget-usd"),
        (["create", "--name", "x", "--rpm", "0"], "--rpm"),
        (["update", "key_x", "--expires", "1d", "--no-expiry"], "not both"),
    ],
)
def test_bad_input_exits_2_with_a_message(config: Path, args: list[str], message: str) -> None:
    result = keys(config, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unknown_or_revoked_ids_exit_1(config: Path) -> None:
    for args in (["show", "key_nope"], ["revoke", "key_nope"], ["rotate", "key_nope"]):
        result = keys(config, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "no " in result.stderr and "key_nope" in result.stderr
    key_id = ok(config, "create", "--name", "a")["key"]["id"]
    ok(config, "revoke", key_id)
    result = keys(config, "update", key_id, "--name", "b")
    assert result.returncode == 1 and "revoked" in result.stderr


def test_with_migrate_check_an_empty_store_is_refused(tmp_path: Path, store_url: str) -> None:
    cfg = config_for("http://127.0.0.1:9/v1")
    cfg["store"] = {"url": store_url, "migrate": "check"}
    path = tmp_path / "check.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = keys(path, "list")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "gatehouse db upgrade" in result.stderr and "Traceback" not in result.stderr
    db = Database(store_url)
    try:
        assert db.current_revision() is None  # `check` never migrates
    finally:
        db.close()
