"""What a call cost: price tables, provider usage normalised, the cost formula, estimates.

Prices are USD per 1M tokens. The shipped table (``prices.yaml``) covers common hosted
models; a deployment's ``price:`` in the config overrides it. Everything is resolved once
per (deployment, model), so pricing a finished call is a dict lookup and a few multiplies.
"""

from __future__ import annotations

import binascii
import datetime as dt
import math
import re
import time
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
import yaml

from gatehouse.config.routing import PriceConfig

_PER_TOKEN = 1e-6  # prices are per 1M tokens
_MAX_CACHED_PAIRS = 10_000  # bounds the resolution cache against odd model names


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens of each kind, defaults already applied."""

    input: float
    output: float
    cached_input: float
    reasoning: float
    cache_write: float

    @classmethod
    def of(
        cls,
        input: float,
        output: float,
        cached_input: float | None = None,
        reasoning: float | None = None,
        cache_write: float | None = None,
    ) -> Price:
        """Cached reads and cache writes default to the input price, reasoning to output."""
        return cls(
            input=input,
            output=output,
            cached_input=input if cached_input is None else cached_input,
            reasoning=output if reasoning is None else reasoning,
            cache_write=input if cache_write is None else cache_write,
        )

    @classmethod
    def from_config(cls, c: PriceConfig) -> Price:
        return cls.of(c.input, c.output, c.cached_input, c.reasoning, c.cache_write)


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One price of a model, in force from ``effective`` (epoch seconds) on."""

    effective: float
    price: Price
    source: str | None = None


@dataclass(slots=True)
class Usage:
    """Token counts of one call, in one meaning whatever the provider's shape.

    ``input`` counts every input token, cache reads and cache writes included;
    ``cached`` and ``cache_write`` are the parts of it read from and written to the
    provider's prompt cache. ``output`` counts every output token, reasoning included;
    ``reasoning`` is the part of it spent thinking. (The OpenTelemetry GenAI conventions
    use the same meaning for ``gen_ai.usage.*``.)
    """

    input: int
    output: int
    cached: int = 0
    reasoning: int = 0
    cache_write: int = 0


def cost_usd(usage: Usage, price: Price) -> float:
    """USD of one call: each token kind at its own price, nothing counted twice."""
    cached = min(usage.cached, usage.input)
    cache_write = min(usage.cache_write, usage.input - cached)
    reasoning = min(usage.reasoning, usage.output)
    return (
        (usage.input - cached - cache_write) * price.input
        + cached * price.cached_input
        + cache_write * price.cache_write
        + (usage.output - reasoning) * price.output
        + reasoning * price.reasoning
    ) * _PER_TOKEN


def normalize_usage(usage: dict[str, Any] | None) -> Usage | None:
    """A provider's ``usage`` object as :class:`Usage`; None when it has no token counts.

    Shapes understood:

    * OpenAI Chat/Completions/Embeddings: ``prompt_tokens`` (includes
      ``prompt_tokens_details.cached_tokens``), ``completion_tokens`` (includes
      ``completion_tokens_details.reasoning_tokens``); embeddings have no completion.
      A ``cache_creation_input_tokens`` beside them (an Anthropic deployment's answer,
      translated) is the part of ``prompt_tokens`` written to the prompt cache.
    * OpenAI Responses: ``input_tokens`` / ``output_tokens`` with ``input_tokens_details``
      and ``output_tokens_details``, the same inclusions.
    * Anthropic Messages: ``input_tokens`` EXCLUDES ``cache_read_input_tokens`` and
      ``cache_creation_input_tokens``, so they are added; thinking tokens are inside
      ``output_tokens`` and not reported apart.
    """
    if not isinstance(usage, dict):  # parsed JSON; an ABC check costs more
        return None
    if "prompt_tokens" in usage:
        inp = _count(usage.get("prompt_tokens"))
        return Usage(
            input=inp,
            output=_count(usage.get("completion_tokens")),
            cached=_count(_detail(usage, "prompt_tokens_details", "cached_tokens")),
            reasoning=_count(_detail(usage, "completion_tokens_details", "reasoning_tokens")),
            # Anthropic's cache writes, kept beside OpenAI's fields by our translation.
            cache_write=_count(usage.get("cache_creation_input_tokens")),
        )
    if "input_tokens" not in usage and "output_tokens" not in usage:
        return None
    if "input_tokens_details" in usage or "output_tokens_details" in usage:
        return Usage(
            input=_count(usage.get("input_tokens")),
            output=_count(usage.get("output_tokens")),
            cached=_count(_detail(usage, "input_tokens_details", "cached_tokens")),
            reasoning=_count(_detail(usage, "output_tokens_details", "reasoning_tokens")),
        )
    read = _count(usage.get("cache_read_input_tokens"))
    write = _count(usage.get("cache_creation_input_tokens"))
    return Usage(
        input=_count(usage.get("input_tokens")) + read + write,
        output=_count(usage.get("output_tokens")),
        cached=read,
        cache_write=write,
    )


def _detail(usage: Mapping[str, Any], details: str, key: str) -> Any:
    d = usage.get(details)
    return d.get(key) if isinstance(d, dict) else None


def _count(v: Any) -> int:
    if type(v) is int:  # the usual case, checked first: this runs for every call
        return v if v > 0 else 0
    # Some OpenAI-compatible servers send null or floats; True is no count (skipped above).
    if isinstance(v, float) and v == v and 0 < v < 1e15:
        return int(v)
    return 0


class PriceTable:
    """Prices by deployment and upstream model, built once at start-up.

    A deployment's override wins; else the shipped entry of the model's exact name, else
    of the longest name that prefixes it at a ``-`` (``gpt-4o-2024-08-06`` → ``gpt-4o``),
    else of the part after a ``provider/`` prefix. Of a model's entries, the one with the
    latest ``effective`` not after the call applies (the earliest, for a call before all).
    """

    def __init__(
        self,
        shipped: Mapping[str, Sequence[PriceEntry]] | None = None,
        overrides: Mapping[str, PriceConfig | Price] | None = None,
    ) -> None:
        table = load_shipped_prices() if shipped is None else shipped
        self._models = {
            name.lower(): sorted(entries, key=lambda e: e.effective)
            for name, entries in table.items()
            if entries
        }
        self._overrides = {
            dep: p if isinstance(p, Price) else Price.from_config(p)
            for dep, p in (overrides or {}).items()
        }
        self._cache: dict[tuple[str, str], _Resolved] = {}

    def price_for(
        self, deployment: str, upstream_model: str, at: float | None = None
    ) -> Price | None:
        """The price of a call to ``upstream_model`` on ``deployment`` at epoch ``at``
        (default: now); None when neither the config nor the table knows the model."""
        key = (deployment, upstream_model)
        resolved = self._cache.get(key, _UNRESOLVED)
        if resolved is _UNRESOLVED:
            resolved = self._resolve(deployment, upstream_model)
            if len(self._cache) >= _MAX_CACHED_PAIRS:
                self._cache.clear()
            self._cache[key] = resolved
        if resolved is None:
            return None
        starts, prices = resolved
        if len(prices) == 1:
            return prices[0]
        i = bisect_right(starts, time.time() if at is None else at) - 1
        return prices[max(i, 0)]

    def cost(
        self, deployment: str, upstream_model: str, usage: Usage | None, at: float | None = None
    ) -> float | None:
        """USD of a call, or None when the usage or the price is unknown."""
        if usage is None:
            return None
        price = self.price_for(deployment, upstream_model, at)
        return None if price is None else cost_usd(usage, price)

    def entries_for(self, model: str) -> list[PriceEntry] | None:
        """The shipped entries a model name resolves to, overrides aside."""
        name = model.lower()
        while True:
            if name in self._models:
                return self._models[name]
            cut = name.rfind("-")
            if cut <= 0:
                break
            name = name[:cut]
        if "/" in model:
            return self.entries_for(model.rsplit("/", 1)[1])
        return None

    def _resolve(self, deployment: str, model: str) -> _Resolved:
        if deployment in self._overrides:
            return (0.0,), (self._overrides[deployment],)
        entries = self.entries_for(model)
        if entries is None:
            return None
        return tuple(e.effective for e in entries), tuple(e.price for e in entries)


_Resolved = tuple[tuple[float, ...], tuple[Price, ...]] | None
_UNRESOLVED: Any = object()


def load_shipped_prices(text: str | None = None) -> dict[str, list[PriceEntry]]:
    """Parse ``prices.yaml`` (the packaged one unless ``text`` is given)."""
    if text is None:
        text = resources.files("gatehouse.telemetry").joinpath("prices.yaml").read_text("utf-8")
    doc = yaml.safe_load(text) or {}
    models = doc.get("models") or {}
    if not isinstance(models, dict):
        raise ValueError("prices: `models` must be a mapping of model name to entries")
    table: dict[str, list[PriceEntry]] = {}
    for name, entries in models.items():
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"prices: {name}: expected a list of entries")
        table[str(name)] = [_entry(str(name), e) for e in entries]
    return table


_ENTRY_KEYS = {"effective", "input", "output", "cached_input", "reasoning", "cache_write", "source"}


def _entry(name: str, e: Any) -> PriceEntry:
    if not isinstance(e, dict):
        raise ValueError(f"prices: {name}: an entry must be a mapping")
    unknown = set(e) - _ENTRY_KEYS
    if unknown:
        raise ValueError(f"prices: {name}: unknown keys {sorted(unknown)}")
    try:
        fields = {
            k: float(e[k]) if e.get(k) is not None else None
            for k in ("input", "output", "cached_input", "reasoning", "cache_write")
        }
        if fields["input"] is None or fields["output"] is None:
            raise ValueError("input and output are required")
        if any(v is not None and v < 0 for v in fields.values()):
            raise ValueError("prices cannot be negative")
        price = Price.of(
            fields["input"],
            fields["output"],
            fields["cached_input"],
            fields["reasoning"],
            fields["cache_write"],
        )
        return PriceEntry(_epoch(e.get("effective")), price, e.get("source"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"prices: {name}: {exc}") from exc


def _epoch(v: Any) -> float:
    """A date (midnight UTC) or an ISO date/time as epoch seconds; unset: since forever."""
    if v is None:
        return 0.0
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v) if "T" in v else dt.date.fromisoformat(v)
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC).timestamp()
    raise ValueError(f"effective: not a date: {v!r}")


# --- Estimates, for calls whose upstream reported no usage (the record says so) ---------
#
# No tokenizer: BPE vocabularies of current models average about 4 bytes of UTF-8 per
# token on English prose and code, and about 3 bytes (one character) on Chinese or
# Japanese, so UTF-8 bytes / 4 is a fair single rule. It is a heuristic: expect roughly
# ±25% on prose, worse on unusual text (long numbers, base64, emoji, Cyrillic, which it
# overcounts). See docs/cost.md.

_MESSAGE_OVERHEAD = 4  # role and separators the chat template adds per message
_REPLY_OVERHEAD = 3  # the assistant turn the template opens for the answer
_IMAGE_TOKENS = 85  # OpenAI's cost of a low-detail image; high detail costs more
# Attachments are estimated from what they hold, never from the length of their base64
# (which would make a 600 KB PDF 200,000 tokens): a PDF page costs its text plus an
# image of the page, 1,500-3,000 tokens at Anthropic and OpenAI; audio about 10 tokens
# a second (OpenAI's 100 ms per token), its length guessed from 16 kB a second (PCM
# at 8 kHz, or compressed audio at 128 kbit/s), which overcounts higher-rate PCM.
_PDF_PAGE_TOKENS = 2000
_PDF_SAMPLE_CHARS = 1 << 20  # of base64: pages are counted in a file's first 768 KB
# Pages by size when they can't be counted (packed in object streams), and at least as
# many as a file's size calls for at a scanned page's size when only its start is read.
# Both err low: a reservation too small is settled at the real usage, one too large
# is a refusal that no retry can fix.
_PDF_BYTES_PER_PAGE = 100_000
_PDF_MAX_PAGE_BYTES = 500_000
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_AUDIO_BYTES_PER_S = 16_000
_AUDIO_TOKENS_PER_S = 10


def estimate_text_tokens(text: str) -> int:
    """Tokens in a piece of text, by the bytes/4 rule."""
    n = len(text) if text.isascii() else len(text.encode("utf-8", "replace"))
    return (n + 3) // 4


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    """Input tokens of an OpenAI-shaped request body (chat, completions or embeddings)."""
    messages = body.get("messages")
    if isinstance(messages, list):
        total = _REPLY_OVERHEAD
        for m in messages:
            if isinstance(m, Mapping):
                total += _MESSAGE_OVERHEAD + _message_tokens(m)
        tools = body.get("tools")
        if tools:
            total += _json_tokens(tools)
        return total
    for key in ("prompt", "input"):
        if key in body:
            return _prompt_tokens(body[key])
    return 0


def estimate_output_tokens(chunks: int = 0, chars: int = 0) -> int:
    """Output tokens of an answer from its count of content chunks (streams) and its
    length in characters, either of which may be unknown (0).

    OpenAI and the OpenAI-compatible servers (vLLM, TGI, llama.cpp, Ollama) stream about
    one token per chunk, so the chunk count is close; providers that batch tokens into
    bigger deltas are caught by the characters/4 floor.
    """
    return max(chunks, math.ceil(chars / 4))


def _message_tokens(m: Mapping[str, Any]) -> int:
    total = _content_tokens(m.get("content"))
    name = m.get("name")
    if isinstance(name, str):
        total += estimate_text_tokens(name)
    calls = m.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            fn = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(fn, Mapping):
                total += _MESSAGE_OVERHEAD
                total += estimate_text_tokens(str(fn.get("name") or ""))
                total += estimate_text_tokens(str(fn.get("arguments") or ""))
    return total


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return estimate_text_tokens(content)
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if isinstance(part, str):
            total += estimate_text_tokens(part)
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                total += estimate_text_tokens(part["text"])
            elif kind in ("image_url", "image", "input_image"):
                total += _IMAGE_TOKENS
            elif kind == "file" and isinstance(part.get("file"), Mapping):
                total += _file_tokens(part["file"])
            elif kind == "input_audio" and isinstance(part.get("input_audio"), Mapping):
                data = part["input_audio"].get("data")
                seconds = _base64_size(data) / _AUDIO_BYTES_PER_S if isinstance(data, str) else 0
                total += math.ceil(seconds * _AUDIO_TOKENS_PER_S)
            else:
                total += _json_tokens(part)
    return total


def _file_tokens(file: Mapping[str, Any]) -> int:
    """A file part: a PDF by its pages, other data as text; by id alone, one page."""
    data = file.get("file_data")
    if not isinstance(data, str):
        return _PDF_PAGE_TOKENS
    head, _, payload = data.partition(",") if data.startswith("data:") else ("", "", data)
    if "pdf" not in head and not payload.startswith("JVBERi"):  # base64 of "%PDF"
        return (_base64_size(payload) + 3) // 4  # text, by its decoded size
    # Decoding costs ~4 ms per MB on the event loop: pages are counted in the first MB.
    whole = len(payload) <= _PDF_SAMPLE_CHARS
    sample = "".join(payload[:_PDF_SAMPLE_CHARS].split())  # base64 is often line-wrapped
    try:
        raw = binascii.a2b_base64(sample[: len(sample) // 4 * 4])
    except (binascii.Error, ValueError):
        return estimate_text_tokens(payload)
    size = _base64_size(payload)
    found = len(_PDF_PAGE.findall(raw))
    if found == 0:
        pages = math.ceil(size / _PDF_BYTES_PER_PAGE)
    elif whole:
        pages = found
    else:
        pages = max(found, math.ceil(size / _PDF_MAX_PAGE_BYTES))
    return pages * _PDF_PAGE_TOKENS


def _base64_size(data: str) -> int:
    """Bytes that base64 text decodes to, without decoding it. Line breaks are skipped,
    counted in the first 64 KB (wrapping is regular; counting 10 MB took 7 ms)."""
    head = data[:65536]
    breaks = head.count("\n") + head.count("\r")
    if breaks and len(data) > len(head):
        breaks = breaks * len(data) // len(head)
    return (len(data) - breaks) * 3 // 4 - data.rstrip()[-2:].count("=")


def _prompt_tokens(prompt: Any) -> int:
    # str | list[str] | list[int] (token ids: exact) | list[list[int]]
    if isinstance(prompt, str):
        return estimate_text_tokens(prompt)
    if not isinstance(prompt, list):
        return 0
    total = 0
    for item in prompt:
        if isinstance(item, str):
            total += estimate_text_tokens(item)
        elif isinstance(item, int):
            total += 1
        elif isinstance(item, list):
            total += len(item)
    return total


def _json_tokens(value: Any) -> int:
    try:
        return estimate_text_tokens(orjson.dumps(value).decode())
    except TypeError:
        return 0
