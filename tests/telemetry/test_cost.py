"""Prices, usage normalisation, the cost formula, and token estimates."""

from __future__ import annotations

import datetime as dt

import pytest

from gatehouse.config.routing import PriceConfig
from gatehouse.telemetry.cost import (
    Price,
    PriceTable,
    Usage,
    cost_usd,
    estimate_input_tokens,
    estimate_output_tokens,
    estimate_text_tokens,
    load_shipped_prices,
    normalize_usage,
)


def epoch(y: int, m: int, d: int) -> float:
    return dt.datetime(y, m, d, tzinfo=dt.UTC).timestamp()


NOW = epoch(2025, 11, 1)


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable()


# --- usage ----------------------------------------------------------------------------


def test_openai_chat_usage_keeps_cached_and_reasoning_inside_the_totals() -> None:
    u = normalize_usage(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 900,
            "total_tokens": 2900,
            "prompt_tokens_details": {"cached_tokens": 1500, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 600},
        }
    )
    assert u == Usage(input=2000, output=900, cached=1500, reasoning=600)


def test_openai_usage_with_null_details_from_compatible_servers() -> None:
    u = normalize_usage(
        {
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        }
    )
    assert u == Usage(12, 5)


def test_embeddings_usage_has_no_output() -> None:
    assert normalize_usage({"prompt_tokens": 8, "total_tokens": 8}) == Usage(8, 0)


def test_anthropic_usage_adds_cache_reads_and_writes_to_input() -> None:
    u = normalize_usage(
        {
            "input_tokens": 50,
            "cache_read_input_tokens": 10_000,
            "cache_creation_input_tokens": 2_000,
            "output_tokens": 300,
        }
    )
    assert u == Usage(input=12_050, output=300, cached=10_000, cache_write=2_000)


def test_openai_responses_usage_is_not_mistaken_for_anthropic() -> None:
    u = normalize_usage(
        {
            "input_tokens": 400,
            "input_tokens_details": {"cached_tokens": 300},
            "output_tokens": 80,
            "output_tokens_details": {"reasoning_tokens": 50},
        }
    )
    assert u == Usage(input=400, output=80, cached=300, reasoning=50)


@pytest.mark.parametrize("usage", [None, {}, {"total_tokens": 5}, "x", [1, 2]])
def test_no_token_counts_is_no_usage(usage: object) -> None:
    assert normalize_usage(usage) is None  # type: ignore[arg-type]


def test_junk_counts_are_zero_not_errors() -> None:
    u = normalize_usage({"prompt_tokens": 10.0, "completion_tokens": None, "x": True})
    assert u == Usage(10, 0)
    assert normalize_usage({"prompt_tokens": True, "completion_tokens": -4}) == Usage(0, 0)


# --- the formula ----------------------------------------------------------------------


def test_openai_cost_prices_cached_and_reasoning_tokens_once_each() -> None:
    price = Price.of(input=2.0, output=8.0, cached_input=0.5, reasoning=8.0)
    usage = Usage(input=2000, output=900, cached=1500, reasoning=600)
    # 500 fresh input at 2.00 + 1500 cached at 0.50 + 300 visible out at 8 + 600 reasoning at 8
    expected = (500 * 2.0 + 1500 * 0.5 + 300 * 8.0 + 600 * 8.0) / 1e6
    assert cost_usd(usage, price) == pytest.approx(expected, rel=1e-12)
    assert cost_usd(usage, price) == pytest.approx(0.00895, rel=1e-12)


def test_a_separate_reasoning_price_applies_to_reasoning_tokens_only() -> None:
    price = Price.of(input=1.0, output=4.0, reasoning=10.0)
    assert cost_usd(Usage(0, 1000, reasoning=400), price) == pytest.approx(
        (600 * 4.0 + 400 * 10.0) / 1e6
    )


def test_defaults_cached_at_input_price_and_reasoning_at_output_price() -> None:
    price = Price.of(input=3.0, output=15.0)
    assert (price.cached_input, price.reasoning, price.cache_write) == (3.0, 15.0, 3.0)
    u = Usage(input=1000, output=100, cached=400, reasoning=50)
    assert cost_usd(u, price) == pytest.approx((1000 * 3.0 + 100 * 15.0) / 1e6)


def test_anthropic_cost_with_cache_reads_and_writes(table: PriceTable) -> None:
    price = table.price_for("d", "claude-sonnet-4-20250514", NOW)
    assert price == Price.of(3.0, 15.0, cached_input=0.30, cache_write=3.75)
    usage = normalize_usage(
        {
            "input_tokens": 50,
            "cache_read_input_tokens": 10_000,
            "cache_creation_input_tokens": 2_000,
            "output_tokens": 300,
        }
    )
    assert usage is not None
    expected = (50 * 3.0 + 10_000 * 0.30 + 2_000 * 3.75 + 300 * 15.0) / 1e6
    assert cost_usd(usage, price) == pytest.approx(expected, rel=1e-12)


def test_inconsistent_counts_are_clamped_not_negative() -> None:
    price = Price.of(1.0, 2.0, cached_input=0.5)
    assert cost_usd(Usage(input=10, output=5, cached=50, reasoning=9), price) == pytest.approx(
        (10 * 0.5 + 5 * 2.0) / 1e6
    )


def test_embeddings_cost(table: PriceTable) -> None:
    price = table.price_for("d", "text-embedding-3-small", NOW)
    usage = normalize_usage({"prompt_tokens": 1_000_000, "total_tokens": 1_000_000})
    assert price is not None and usage is not None
    assert cost_usd(usage, price) == pytest.approx(0.02)


# --- the table ------------------------------------------------------------------------


def test_the_shipped_table_loads_and_covers_the_common_models() -> None:
    shipped = load_shipped_prices()
    expected = {
        "gpt-4o": (2.50, 10.00, 1.25),
        "gpt-4o-mini": (0.15, 0.60, 0.075),
        "gpt-4.1": (2.00, 8.00, 0.50),
        "gpt-4.1-mini": (0.40, 1.60, 0.10),
        "gpt-4.1-nano": (0.10, 0.40, 0.025),
        "o3": (2.00, 8.00, 0.50),
        "o4-mini": (1.10, 4.40, 0.275),
        "o1": (15.0, 60.0, 7.50),
        "gpt-5": (1.25, 10.00, 0.125),
        "gpt-5-mini": (0.25, 2.00, 0.025),
        "gpt-5-nano": (0.05, 0.40, 0.005),
        "text-embedding-3-small": (0.02, 0.0, 0.02),
        "text-embedding-3-large": (0.13, 0.0, 0.13),
        "claude-opus-4": (15.0, 75.0, 1.50),
        "claude-sonnet-4": (3.0, 15.0, 0.30),
        "claude-sonnet-4-5": (3.0, 15.0, 0.30),
        "claude-3-5-haiku": (0.80, 4.00, 0.08),
        "claude-haiku-4-5": (1.0, 5.0, 0.10),
    }
    table = PriceTable(shipped)
    for model, (inp, out, cached) in expected.items():
        assert model in shipped
        price = table.price_for("d", model, NOW)
        assert price is not None, model
        assert (price.input, price.output, price.cached_input) == (inp, out, cached), model
        assert price.reasoning == out
        assert all(e.source for e in shipped[model])


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("GPT-4o", "gpt-4o"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
    ],
)
def test_dated_and_decorated_names_find_their_family(
    table: PriceTable, model: str, key: str
) -> None:
    assert table.price_for("d", model, NOW) == table.price_for("d", key, NOW)
    assert table.price_for("d", model, NOW) is not None


def test_exact_name_wins_over_its_prefix(table: PriceTable) -> None:
    old = table.price_for("d", "gpt-4o-2024-05-13", NOW)
    assert old is not None and (old.input, old.output) == (5.0, 15.0)
    current = table.price_for("d", "gpt-4o-2024-08-06", NOW)
    assert current is not None and (current.input, current.output) == (2.5, 10.0)


def test_prefix_matches_only_at_a_dash(table: PriceTable) -> None:
    assert table.price_for("d", "gpt-4oo", NOW) is None
    assert table.price_for("d", "o30", NOW) is None
    assert table.price_for("d", "gpt-5-mini-x", NOW) == table.price_for("d", "gpt-5-mini", NOW)


def test_unknown_models_have_no_price(table: PriceTable) -> None:
    assert table.price_for("d", "llama-3.1-8b-instruct", NOW) is None
    assert table.price_for("d", "", NOW) is None
    assert table.cost("d", "llama-3.1-8b-instruct", Usage(10, 10), NOW) is None
    assert table.cost("d", "gpt-4o", None, NOW) is None


def test_the_entry_in_force_at_the_call_applies(table: PriceTable) -> None:
    launch = table.price_for("d", "o3", epoch(2025, 5, 1))
    cut = table.price_for("d", "o3", epoch(2025, 6, 10))  # the day it changed, UTC
    assert launch is not None and (launch.input, launch.output) == (10.0, 40.0)
    assert cut is not None and (cut.input, cut.output) == (2.0, 8.0)
    last_second_before = epoch(2025, 6, 10) - 1
    assert table.price_for("d", "o3-2025-04-16", last_second_before) == launch
    # Before the first entry: the earliest price rather than none.
    assert table.price_for("d", "o3", epoch(2020, 1, 1)) == launch
    # No time given: now.
    assert table.price_for("d", "o3") == cut


def test_effective_dates_from_a_custom_table() -> None:
    shipped = load_shipped_prices(
        """
models:
  m:
    - {effective: 2025-03-01, input: 2, output: 4}
    - {effective: "2025-01-01", input: 1, output: 2, source: old}
    - {effective: "2025-06-01T12:00:00+00:00", input: 3, output: 6}
"""
    )
    table = PriceTable(shipped)
    assert table.price_for("d", "m", epoch(2025, 2, 1)) == Price.of(1, 2)
    assert table.price_for("d", "m", epoch(2025, 3, 1)) == Price.of(2, 4)
    assert table.price_for("d", "m", epoch(2025, 6, 1) + 43_199) == Price.of(2, 4)
    assert table.price_for("d", "m", epoch(2025, 6, 1) + 43_200) == Price.of(3, 6)


@pytest.mark.parametrize(
    "text",
    [
        "models: {m: []}",
        "models: {m: [{input: 1}]}",
        "models: {m: [{input: 1, output: -2}]}",
        "models: {m: [{input: 1, output: 2, cached: 1}]}",
        "models: {m: [{input: 1, output: 2, effective: soon}]}",
        "models: [1, 2]",
    ],
)
def test_a_broken_table_is_refused_with_the_model_named(text: str) -> None:
    with pytest.raises(ValueError, match="prices"):
        load_shipped_prices(text)


def test_a_deployment_override_wins(table: PriceTable) -> None:
    overrides = {
        # A self-hosted model: what its GPU hour buys, per 1M tokens.
        "local-llama": PriceConfig(input=0.05, output=0.10),
        "openai-discounted": PriceConfig(input=2.0, output=8.0, cached_input=0.1),
    }
    t = PriceTable(load_shipped_prices(), overrides)
    assert t.price_for("local-llama", "llama-3.1-8b-instruct", NOW) == Price.of(0.05, 0.10)
    assert t.price_for("openai-discounted", "gpt-4o", NOW) == Price.of(2.0, 8.0, 0.1)
    # Other deployments of the same model keep the shipped price.
    assert t.price_for("openai-main", "gpt-4o", NOW) == table.price_for("x", "gpt-4o", NOW)
    assert t.cost("local-llama", "whatever", Usage(1_000_000, 1_000_000), NOW) == pytest.approx(
        0.15
    )


def test_resolution_is_cached_per_deployment_and_model() -> None:
    t = PriceTable()
    first = t.price_for("d", "gpt-4o-2024-08-06", NOW)
    assert ("d", "gpt-4o-2024-08-06") in t._cache
    assert t.price_for("d", "gpt-4o-2024-08-06", NOW) is first
    assert t.price_for("d", "nope", NOW) is None
    assert t._cache[("d", "nope")] is None


# --- estimates ------------------------------------------------------------------------

PROSE = (
    "The gateway forwards each call to a hosted provider or to a self-hosted model, "
    "and on the way it routes, balances and fails over, records metrics and traces, "
    "and applies the guard policies that the operator configured for the team."
)


def test_text_estimate_is_about_four_characters_per_token() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd") == 1
    assert estimate_text_tokens("abcde") == 2
    # 231 characters, 40 words: a BPE tokenizer gives roughly 45 tokens.
    assert 45 <= estimate_text_tokens(PROSE) <= 70


def test_non_latin_text_counts_by_utf8_bytes() -> None:
    chinese = "网关把每个请求转发给上游模型" * 4  # 56 characters, ~1 token each
    assert 40 <= estimate_text_tokens(chinese) <= 60


def test_chat_input_estimate_counts_messages_parts_and_tools() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": PROSE},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
    }
    n = estimate_input_tokens(body)
    text_only = estimate_input_tokens({"messages": body["messages"][:2]})
    assert 60 <= text_only <= 90
    assert n > text_only + 85  # the image, the tool call and the tool definitions count
    assert n < 250


def test_completions_and_embeddings_inputs() -> None:
    assert estimate_input_tokens({"prompt": "abcdefgh"}) == 2
    assert estimate_input_tokens({"prompt": ["abcd", "abcd"]}) == 2
    assert estimate_input_tokens({"prompt": [1, 2, 3, 4, 5]}) == 5  # token ids are exact
    assert estimate_input_tokens({"input": [[1, 2, 3], [4, 5]]}) == 5
    assert estimate_input_tokens({"input": PROSE}) == estimate_text_tokens(PROSE)
    assert estimate_input_tokens({}) == 0


def test_output_estimate_from_chunks_or_characters() -> None:
    assert estimate_output_tokens(37) == 37  # one token per streamed chunk
    assert estimate_output_tokens(chars=400) == 100
    # Chunks that carry several tokens each: the character floor wins.
    assert estimate_output_tokens(10, chars=400) == 100
    assert estimate_output_tokens() == 0


def _attached(part: dict[str, object]) -> int:
    return estimate_input_tokens({"messages": [{"role": "user", "content": [part]}]}) - 7


def test_attachments_count_what_they_hold_not_their_base64() -> None:
    """A 600 KB PDF by its length would be ~200,000 tokens and be refused by any tokens
    limit for good; by its pages it is a few thousand."""
    import base64
    import os

    pages = b"".join(b"%d 0 obj << /Type /Page /Parent 1 0 R >> endobj\n" % i for i in range(3))
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Pages /Count 3 >> endobj\n" + pages + os.urandom(600_000)
    url = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
    assert _attached({"type": "file", "file": {"file_data": url, "filename": "a.pdf"}}) == 6000
    # Line-wrapped base64 (as `base64` and e-mail write it), "/Type\n/Page" spacing.
    wrapped = base64.encodebytes(pdf.replace(b"/Type /Page ", b"/Type\n/Page ")).decode()
    assert _attached({"type": "file", "file": {"file_data": wrapped}}) == 6000
    # Page objects packed in compressed object streams can't be counted: by size then.
    packed = b"%PDF-1.7\n" + os.urandom(149_000)
    data = base64.b64encode(packed).decode()
    assert _attached({"type": "file", "file": {"file_data": data}}) == 2 * 2000
    text = base64.b64encode(b"x" * 4000).decode()
    assert _attached({"type": "file", "file": {"file_data": "data:text/plain;base64," + text}}) == (
        1000
    )
    assert _attached({"type": "file", "file": {"file_id": "file-abc"}}) == 2000

    def big(layout: bytes) -> int:
        return _attached({"type": "file", "file": {"file_data": base64.b64encode(layout).decode()}})

    # A big file's pages are counted in its first MB; past it, at least one page per
    # 500 KB. Errs low, never far high: 12 scanned pages of 450 KB, dictionaries first
    # or each beside its image, and 100 text pages of 40 KB.
    dicts = b"".join(b"%d 0 obj << /Type /Page >> endobj\n" % i for i in range(12))
    images = os.urandom(12 * 450_000)
    assert 11 * 2000 <= big(b"%PDF-1.7\n" + dicts + images) <= 12 * 2000
    beside = b"".join(b"<< /Type /Page >>\n" + os.urandom(450_000) for _ in range(12))
    assert 11 * 2000 <= big(b"%PDF-1.7\n" + beside) <= 12 * 2000
    text_pages = b"".join(b"<< /Type /Page >>\n" + os.urandom(40_000) for _ in range(100))
    assert 18 * 2000 <= big(b"%PDF-1.7\n" + text_pages) <= 100 * 2000
    wav = base64.b64encode(os.urandom(480_000)).decode()  # 15 s of 16 kHz 16-bit PCM
    audio = {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}
    assert 250 <= _attached(audio) <= 400
