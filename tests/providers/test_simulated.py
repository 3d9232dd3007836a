"""The simulated upstream's own behaviour: the faults tests and demos rely on."""

from __future__ import annotations

import httpx
import pytest

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_fault_statuses_and_retry_after(mock_upstream, http):
    url = mock_upstream.url + "/chat/completions"
    r = http.post(url, json=CHAT, headers={"x-mock-fail": "429", "x-mock-retry-after": "7"})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert http.post(url, json=CHAT, headers={"x-mock-fail": "503"}).status_code == 503
    assert http.post(url, json=CHAT, headers={"x-mock-fail": "500"}).status_code == 500
    assert http.post(url, json=CHAT, headers={"x-mock-fail": "400"}).status_code == 400
    malformed = http.post(url, json=CHAT, headers={"x-mock-fail": "malformed"})
    with pytest.raises(ValueError):
        malformed.json()
    with pytest.raises(httpx.HTTPError):
        http.post(url, json=CHAT, headers={"x-mock-fail": "reset"})
    with pytest.raises(httpx.ReadTimeout):
        http.post(url, json=CHAT, headers={"x-mock-fail": "hang"}, timeout=0.2)
    with pytest.raises(httpx.HTTPError):
        http.post(url, json=CHAT, headers={"x-mock-fail": "cut"})


def test_stream_cut_has_no_done(mock_upstream, http):
    with http.stream(
        "POST",
        mock_upstream.url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-mock-fail": "cut", "x-mock-tokens": "8"},
    ) as r:
        lines = []
        with pytest.raises(httpx.HTTPError):
            for line in r.iter_lines():
                lines.append(line)
    assert "data: [DONE]" not in lines
    assert any(line.startswith("data: ") for line in lines)


def test_error_rate_per_run(mock_upstream, http):
    mock_upstream.upstream.settings.error_rate = 1.0
    mock_upstream.upstream.settings.error_kind = "503"
    assert http.post(mock_upstream.url + "/chat/completions", json=CHAT).status_code == 503
    mock_upstream.upstream.settings.error_rate = 0.0
    assert http.post(mock_upstream.url + "/chat/completions", json=CHAT).status_code == 200


def test_length_and_max_tokens(mock_upstream, http):
    r = http.post(
        mock_upstream.url + "/chat/completions",
        json={**CHAT, "max_tokens": 3},
        headers={"x-mock-tokens": "10"},
    ).json()
    assert r["usage"]["completion_tokens"] == 3
    assert r["choices"][0]["finish_reason"] == "length"


def test_embeddings_are_deterministic(mock_upstream, http):
    url = mock_upstream.url + "/embeddings"
    a = http.post(url, json={"model": "e", "input": "same"}).json()["data"][0]["embedding"]
    b = http.post(url, json={"model": "e", "input": "same"}).json()["data"][0]["embedding"]
    c = http.post(url, json={"model": "e", "input": "other"}).json()["data"][0]["embedding"]
    assert a == b != c
    assert sum(v * v for v in a) == pytest.approx(1.0, abs=1e-4)


def test_a_dropped_stream_counts_as_cancelled(mock_upstream, http):
    from tests.conftest import wait_for

    with http.stream(
        "POST",
        mock_upstream.url + "/chat/completions",
        json={**CHAT, "stream": True},
        headers={"x-mock-tokens": "500", "x-mock-tokens-per-s": "100"},
    ) as r:
        next(r.iter_lines())
    assert wait_for(lambda: mock_upstream.stats.cancelled == 1)
    assert mock_upstream.stats.completed == 0
