"""GET /metrics on a real gateway: the counts match the calls made, one worker or two."""

from __future__ import annotations

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import cli_key, config_for, free_port, wait_for
from tests.e2e.test_serve import start_serve, upstream_proc  # noqa: F401 - a fixture


def samples(base: str) -> dict[str, list]:
    r = httpx.get(f"{base}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def total(found: dict[str, list], name: str, **labels: str) -> float:
    return sum(
        s.value for s in found.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_count_each_request_once_and_each_attempt(start_gateway, mock_upstream):
    cfg = config_for(mock_upstream.url)
    cfg["routing"] = {"retry": {"backoff_base_s": 0}}
    gw = start_gateway(cfg)
    client = gw.client()
    for _ in range(3):
        client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    mock_upstream.upstream.settings.fail_next = 1  # one call needs a retry
    client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
    stream = client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "x"}], stream=True
    )
    list(stream)

    def counted() -> bool:
        found = samples(gw.base)
        return total(found, "gatehouse_requests_total", status="200") == 5

    assert wait_for(counted)
    found = samples(gw.base)
    op = {"gen_ai_operation_name": "chat", "gen_ai_request_model": "chat"}
    assert total(found, "gen_ai_client_operation_duration_seconds_count", **op) == 5
    assert total(found, "gen_ai_server_time_to_first_token_seconds_count", **op) == 1
    assert total(found, "gatehouse_upstream_attempts_total", outcome="ok") == 5
    assert total(found, "gatehouse_upstream_attempts_total", outcome="error") == 1
    assert total(found, "gen_ai_client_token_usage_count", gen_ai_token_type="output") == 5
    assert total(found, "gatehouse_recorder_dropped_total") == 0
    assert total(found, "gatehouse_requests_in_flight") == 0
    assert total(found, "gatehouse_deployment_breaker_state", deployment="local/mock-model") == 0
    assert total(found, "process_resident_memory_bytes") > 0


def test_metrics_add_up_across_workers(tmp_path, upstream_proc):  # noqa: F811
    cfg = config_for(upstream_proc + "/v1")
    cfg["server"] = {"host": "127.0.0.1", "port": 1, "shutdown_grace_s": 5}
    path = tmp_path / "gatehouse.yaml"
    path.write_text(yaml.safe_dump(cfg))
    key = cli_key(path)  # one store: both workers take it
    port = free_port()
    proc = start_serve(path, port, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        n = 60
        for _ in range(n):
            # A new connection per call: the kernel spreads them over both workers.
            r = httpx.post(
                f"{base}/v1/chat/completions",
                json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert r.status_code == 200, r.text

        def all_counted() -> bool:
            return total(samples(base), "gatehouse_requests_total") == n

        assert wait_for(all_counted, 10)
        pids = {s.labels["pid"] for s in samples(base)["process_resident_memory_bytes"]}
        assert len(pids) == 2
    finally:
        proc.terminate()
        proc.wait(15)


def test_metrics_can_require_a_viewer_key(start_gateway, mock_upstream):
    cfg = config_for(mock_upstream.url)
    cfg["metrics"] = {"require_key": True}
    gw = start_gateway(cfg)
    viewer = gw.create_key(name="prometheus", roles=("viewer",))
    app = gw.create_key(name="app-only")
    assert httpx.get(f"{gw.base}/metrics").status_code == 401
    refused = httpx.get(f"{gw.base}/metrics", headers={"Authorization": f"Bearer {app}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_role"
    page = httpx.get(f"{gw.base}/metrics", headers={"Authorization": f"Bearer {viewer}"})
    assert page.status_code == 200 and "gatehouse_requests_total" in page.text
    assert "prometheus" not in page.text and viewer not in page.text
