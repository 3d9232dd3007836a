"""The spool: an append-only local file of records the database could not take.

One orjson document per line (orjson never emits a raw newline), bodies' bytes as
base64. Each append is one write and one flush, no fsync: the spool survives a killed
process, not a power loss. A torn last line (a kill mid-write) is skipped on read.
Every change happens under an ``flock`` on ``<spool>.lock`` so worker processes that
share one spool never lose each other's lines while one of them replays it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import orjson

from gatehouse.store.records import RequestRecord

log = logging.getLogger("gatehouse.store")


def encode(record: RequestRecord) -> bytes:
    body = record["body"]
    if body is None:
        return orjson.dumps(record)
    doc: dict[str, Any] = dict(record)
    doc["body"] = {**body, "request": _b64(body["request"]), "response": _b64(body["response"])}
    return orjson.dumps(doc)


#: Fields added to records after the first release, with what a record spooled by an
#: earlier version means by their absence: replaying it after an upgrade must not fail.
_ADDED = {"client_api": None, "cache_write_tokens": None}
_ADDED_TO_ATTEMPTS = {"cache_write_tokens": None}


def decode(line: bytes) -> RequestRecord:
    doc = orjson.loads(line)
    for key, value in _ADDED.items():
        doc.setdefault(key, value)
    for attempt in doc.get("attempts") or ():
        for key, value in _ADDED_TO_ATTEMPTS.items():
            attempt.setdefault(key, value)
    body = doc["body"]
    if body is not None:
        body["request"] = _unb64(body["request"])
        body["response"] = _unb64(body["response"])
    return cast(RequestRecord, doc)


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


class Spool:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._counted: tuple[int, int] = (-1, 0)  # (file size, lines) last counted

    def has_pending(self) -> bool:
        """Cheap (one stat): whether a replay is due."""
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def pending(self) -> int:
        """Records waiting in the file (from every process sharing it)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        if size != self._counted[0]:
            lines = 0
            with open(self.path, "rb") as f:
                while chunk := f.read(1 << 20):
                    lines += chunk.count(b"\n")
            self._counted = (size, lines)
        return self._counted[1]

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the spool for a replay; call only the ``*_locked`` methods inside."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    def append(self, records: list[RequestRecord]) -> int:
        """Add ``records`` at the end; returns how many could not be encoded (skipped)."""
        lines: list[bytes] = []
        for r in records:
            try:
                lines.append(encode(r) + b"\n")
            except (TypeError, KeyError, ValueError) as exc:
                log.error("spool: record %s cannot be encoded, dropped: %s", r.get("id"), exc)
        if lines:
            data = b"".join(lines)
            with self.locked(), open(self.path, "ab") as f:
                # Finish a line torn by a killed writer, or this batch's first record
                # would be glued to it and lost with it.
                if f.tell() > 0 and not _ends_with_newline(self.path):
                    data = b"\n" + data
                f.write(data)
        return len(records) - len(lines)

    def read_locked(self) -> list[RequestRecord]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        records: list[RequestRecord] = []
        lines = raw.split(b"\n")
        if lines and lines[-1]:
            log.warning("spool %s: skipping a torn last line (%d bytes)", self.path, len(lines[-1]))
        for n, line in enumerate(lines[:-1], 1):
            if not line:
                continue
            try:
                records.append(decode(line))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.warning("spool %s: skipping unreadable line %d: %s", self.path, n, exc)
        return records

    def rewrite_locked(self, records: list[RequestRecord]) -> None:
        """Replace the file's content with ``records`` (what a partial replay left)."""
        if not records:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(b"".join(encode(r) + b"\n" for r in records))
        os.replace(tmp, self.path)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
