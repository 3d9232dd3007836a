"""Simulated prompt caching for the Messages API: prefixes up to a breakpoint, by hash."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import orjson

CACHE_ENTRIES = 4096  # prompt prefixes the simulated cache remembers, oldest forgotten first
LOOKBACK = 20  # blocks before a breakpoint where Anthropic also looks for a cache hit


class PromptCache:
    """Which prompt prefixes, up to a ``cache_control`` breakpoint, were seen before.

    Tokens are estimated as characters / 4 over tools, system and messages, in the order
    Anthropic caches them. A call writes the prefix up to its last breakpoint; it reads
    the longest prefix written before that ends at a block boundary at most LOOKBACK
    blocks before one of its breakpoints, as Anthropic looks back for hits. There is no
    minimum cacheable length and no expiry, only a bounded memory.
    """

    def __init__(self, capacity: int = CACHE_ENTRIES) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def clear(self) -> None:
        self._seen.clear()

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        """input_tokens and the two cache counts of a call, remembering its prefixes."""
        digest = hashlib.sha256(str(body["model"]).encode())
        parts = list(_prompt_parts(body))
        automatic = isinstance(body.get("cache_control"), dict)
        boundaries: list[tuple[str, int]] = []  # (prefix hash, characters) after each block
        marks: list[int] = []  # indexes of the blocks carrying a breakpoint
        chars = 0
        for i, (label, text, marked) in enumerate(parts):
            digest.update(label.encode() + b"\x00" + text.encode() + b"\x00")
            chars += len(text)
            boundaries.append((digest.hexdigest(), chars))
            # A top-level cache_control marks the last block of the request.
            if marked or (automatic and i == len(parts) - 1):
                marks.append(i)
        if not marks:
            return _usage(max(1, _tokens(chars)), 0, 0)
        looked_at = {i for mark in marks for i in range(max(0, mark - LOOKBACK), mark + 1)}
        hit = max(
            (boundaries[i][1] for i in looked_at if boundaries[i][0] in self._seen), default=0
        )
        end = boundaries[marks[-1]][1]
        for mark in marks:
            self._remember(boundaries[mark][0])
        read, written = hit // 4, end // 4 - hit // 4
        return _usage(max(1, _tokens(chars - end)), written, read)

    def _remember(self, key: str) -> None:
        self._seen[key] = None
        self._seen.move_to_end(key)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)


def _usage(uncached: int, written: int, read: int) -> dict[str, int]:
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
    }


def _tokens(chars: int) -> int:
    return -(-chars // 4)  # rounded up: a few characters are still a token


def _prompt_parts(body: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(label, counted text, has cache_control) for every cacheable piece, in cache order."""
    for tool in body.get("tools") or []:
        yield "tool", _dumped(tool), bool(tool.get("cache_control"))
    system = body.get("system")
    if isinstance(system, str):
        yield "system", system, False
    for block in system if isinstance(system, list) else []:
        yield "system", str(block.get("text", "")), bool(block.get("cache_control"))
    for message in body["messages"]:
        role, content = str(message.get("role")), message.get("content")
        if isinstance(content, str):
            yield role, content, False
            continue
        for block in content:
            text = block.get("text") if block.get("type") == "text" else None
            counted = text if isinstance(text, str) else _dumped(block)
            yield role, counted, bool(block.get("cache_control"))


def _dumped(block: dict[str, Any]) -> str:
    rest = {k: v for k, v in block.items() if k != "cache_control"}
    return orjson.dumps(rest, option=orjson.OPT_SORT_KEYS).decode()
