"""Canary tokens in system prompts, and which input texts a policy's rules read."""

from __future__ import annotations

from gatehouse.config.guardrails import PolicyConfig
from gatehouse.guard.canary import PREFIX, new_canary, planted
from gatehouse.guard.policies import compile_policy
from gatehouse.guard.scanners.base import ScanContext


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
    trusted, untrusted = ScanContext(trusted=True), ScanContext(trusted=False)
    flag, block, pii = (
        rules["injection", "flag"],
        rules["injection", "block"],
        rules["pii", "redact"],
    )
    assert flag.reads(trusted) and not flag.reads(untrusted)
    assert block.reads(untrusted) and not block.reads(trusted) and block.threshold == 0.3
    assert pii.reads(trusted) and pii.reads(untrusted)
