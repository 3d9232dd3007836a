"""Canary tokens in system prompts, and which input texts a policy's rules read."""

from __future__ import annotations

from gatehouse.config.guardrails import PolicyConfig
from gatehouse.guard.canary import PREFIX, new_canary, planted
from gatehouse.guard.policies import compile_policy


def test_canaries_are_random_and_go_into_the_first_system_message():
    a, b = new_canary(), new_canary()
    assert a != b and a.startswith(PREFIX) and len(a) == len(PREFIX) + 16
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": "Second."},
        ],
    }
    out = planted(body, a)
    assert out is not None
    assert out["messages"][0]["content"].startswith("Be brief.\n\n[" + a + "]")
    assert out["messages"][2]["content"] == "Second."
    assert body["messages"][0]["content"] == "Be brief."  # the client's body is untouched


def test_a_canary_finds_a_home_in_part_lists_developer_messages_or_a_new_message():
    parts = {"messages": [{"role": "developer", "content": [{"type": "text", "text": "Rules."}]}]}
    out = planted(parts, "gh-canary-0")
    assert out is not None and out["messages"][0]["content"][-1]["text"].startswith("[gh-canary-0]")
    bare = {"messages": [{"role": "user", "content": "hi"}]}
    out = planted(bare, "gh-canary-1")
    assert out is not None and out["messages"][0]["role"] == "system"
    assert out["messages"][1] == {"role": "user", "content": "hi"}
    assert planted({"prompt": "x"}, "gh-canary-2") is None


def test_an_untrusted_rule_replaces_the_input_rule_of_its_scanner_for_untrusted_texts():
    policy = compile_policy(
        "p",
        PolicyConfig.model_validate(
            {
                "input": {"injection": {"action": "flag"}, "pii": {"action": "redact"}},
                "untrusted": {"injection": {"action": "block", "threshold": 0.3}},
            }
        ),
    )
    rules = {(r.scanner, r.action): r for r in policy.input.rules}
    trusted, untrusted = True, False
    flag, block, pii = (
        rules["injection", "flag"],
        rules["injection", "block"],
        rules["pii", "redact"],
    )
    assert flag.reads(trusted) and not flag.reads(untrusted)
    assert block.reads(untrusted) and not block.reads(trusted) and block.threshold == 0.3
    assert pii.reads(trusted) and pii.reads(untrusted)


def test_every_index_of_every_untrusted_header_counts():
    from multidict import CIMultiDict

    from gatehouse.guard.content import request_slots

    body = {"messages": [{"role": "user", "content": f"m{i}"} for i in range(4)]}
    headers = CIMultiDict([("x-gatehouse-untrusted", "0," * 3000 + "1")])
    headers.add("X-Gatehouse-Untrusted", "3")
    trust = {s.text: s.trusted for s in request_slots("chat", body, headers)}
    assert trust == {"m0": False, "m1": False, "m2": True, "m3": False}


def test_only_a_strict_rule_that_reads_the_text_refuses_more_than_may_be_scanned():
    import pytest

    from gatehouse.config.guardrails import GuardrailsConfig
    from gatehouse.errors import RequestTooLarge
    from gatehouse.guard.content import Slot
    from gatehouse.guard.guardrails import Guardrails
    from gatehouse.pipeline.exchange import Exchange

    config = GuardrailsConfig.model_validate(
        {
            "policies": {"p": {"untrusted": {"injection": {"action": "block"}}}},
            "default": "p",
            "max_scan_chars": 10,
        }
    )
    guardrails = Guardrails(config)
    policy = guardrails.policies["p"]
    exchange = Exchange("r1", "chat", {}, "m")
    mine = [Slot(("messages", 0, "content"), "x" * 50, "user")]
    guardrails.check_size(exchange, policy, policy.input, "input", mine)  # nothing to read
    theirs = [*mine, Slot(("messages", 1, "content"), "y" * 5, "tool", trusted=False)]
    with pytest.raises(RequestTooLarge):
        guardrails.check_size(exchange, policy, policy.input, "input", theirs)
