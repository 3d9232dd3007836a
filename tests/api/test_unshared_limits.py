"""Several processes and no Redis: limits would multiply, and the server says so."""

from __future__ import annotations

import logging

import pytest
import yaml

from gatehouse.api.server import serve_forever, unshared_limits
from gatehouse.config import parse_config
from tests.conftest import config_for


def _config(**overrides: object):  # type: ignore[no-untyped-def]
    return parse_config(yaml.safe_dump(config_for("http://127.0.0.1:9/v1", **overrides)), "t", {})


def test_one_process_on_sqlite_is_fine() -> None:
    assert unshared_limits(_config()) is None


def test_workers_or_postgresql_without_redis_are_named() -> None:
    cfg = config_for("http://127.0.0.1:9/v1")
    cfg["server"]["workers"] = 4
    assert "4 workers" in str(unshared_limits(parse_config(yaml.safe_dump(cfg), "t", {})))
    pg = _config(store={"url": "postgresql://u@127.0.0.1/db"})
    assert "PostgreSQL" in str(unshared_limits(pg))
    shared = _config(store={"url": "postgresql://u@127.0.0.1/db"}, redis={"url": "redis://h/0"})
    assert unshared_limits(shared) is None


def test_refuse_means_the_server_does_not_start(capfd: pytest.CaptureFixture[str]) -> None:
    cfg = config_for("http://127.0.0.1:9/v1", limits={"unshared": "refuse"})
    cfg["server"].update(workers=2, port=1)
    config = parse_config(yaml.safe_dump(cfg), "t", {})
    try:
        assert serve_forever(config) == 2
    finally:
        logging.getLogger().handlers.clear()  # serve_forever configured the process's logging
    err = capfd.readouterr().err
    assert "PER PROCESS" in err and "refusing to start" in err
