"""A small blocking HTTP/1.1 keep-alive client for closed-loop timing at concurrency 1.

Blocking sockets and no event loop keep the client's own cost per request small and
steady, so differences between paths measured with it are the servers' differences.
It understands just enough HTTP: Content-Length and chunked bodies, and SSE events.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

CLOSED = "connection closed by the server"


class ClientError(Exception):
    pass


@dataclass
class Timing:
    total_ns: int
    first_token_ns: int | None = None
    content_events: int = 0


def build_request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection; reconnects by itself when the server closes it."""

    def __init__(self, port: int, timeout_s: float = 10.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.received = False  # whether any byte of the current answer has arrived

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buf.clear()

    def post(self, request: bytes, *, stream: bool, expect_tokens: int | None = None) -> Timing:
        reused = self.sock is not None
        if not reused:
            self._connect()
        try:
            return self._exchange(request, stream, expect_tokens)
        except (OSError, ValueError, ClientError) as exc:
            self.close()
            if not (reused and self._idle_close(exc)):
                raise
        # The server had closed the idle keep-alive connection: send again on a new one.
        self._connect()
        try:
            return self._exchange(request, stream, expect_tokens)
        except (OSError, ValueError, ClientError):
            self.close()
            raise

    def _idle_close(self, exc: Exception) -> bool:
        """True if the connection failed before any byte of the answer came back."""
        closed = isinstance(exc, ConnectionError) or (
            isinstance(exc, ClientError) and str(exc) == CLOSED
        )
        return closed and not self.received

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout_s)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _exchange(self, request: bytes, stream: bool, expect_tokens: int | None) -> Timing:
        assert self.sock is not None
        self.received = False
        start = time.perf_counter_ns()
        self.sock.sendall(request)
        status, headers = self._read_head()
        pieces = self._body(headers)
        if status != 200:
            detail = b"".join(pieces)[:300].decode(errors="replace")
            raise ClientError(f"HTTP {status}: {detail}")
        timing = _read_events(pieces, start) if stream else _read_json(pieces, start)
        if expect_tokens is not None and stream and timing.content_events != expect_tokens:
            raise ClientError(f"{timing.content_events} content events, {expect_tokens} expected")
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return timing

    # --- parsing -----------------------------------------------------------------

    def _fill(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(262144)
        if not data:
            raise ClientError(CLOSED)
        self.received = True
        self.buf += data

    def _find(self, sep: bytes) -> int:
        while (index := self.buf.find(sep)) < 0:
            self._fill()
        return index

    def _take(self, n: int, skip: int = 0) -> bytes:
        while len(self.buf) < n + skip:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[: n + skip]
        return data

    def _read_head(self) -> tuple[int, dict[bytes, bytes]]:
        head = self._take(self._find(b"\r\n\r\n"), skip=4)
        status_line, *lines = head.split(b"\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split(b" ", 2)[1]), headers

    def _body(self, headers: dict[bytes, bytes]) -> Iterator[bytes]:
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            return self._chunks()
        if b"content-length" in headers:
            return iter([self._take(int(headers[b"content-length"]))])
        raise ClientError("response has neither Content-Length nor chunked encoding")

    def _chunks(self) -> Iterator[bytes]:
        while True:
            size_line = self._take(self._find(b"\r\n"), skip=2)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self._take(self._find(b"\r\n"), skip=2)  # no trailers expected
                return
            yield self._take(size, skip=2)


def _read_json(pieces: Iterator[bytes], start: int) -> Timing:
    body = b"".join(pieces)
    end = time.perf_counter_ns()
    if b'"choices"' not in body:
        raise ClientError(f"unexpected body: {body[:200]!r}")
    return Timing(total_ns=end - start)


def _read_events(pieces: Iterator[bytes], start: int) -> Timing:
    """Consume an SSE body; note when the first event with non-empty content arrived."""
    timing = Timing(total_ns=0)
    pending = b""
    done = False
    for piece in pieces:
        pending += piece.replace(b"\r\n", b"\n")
        *events, pending = pending.split(b"\n\n")
        for event in events:
            done = _on_event(event, timing, start) or done
    timing.total_ns = time.perf_counter_ns() - start
    if not done:
        raise ClientError("stream ended without data: [DONE]")
    return timing


def _on_event(event: bytes, timing: Timing, start: int) -> bool:
    """Count one SSE event; return True for the closing ``[DONE]``."""
    for line in event.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            return True
        choices = orjson.loads(data).get("choices") or []
        if choices and (choices[0].get("delta") or {}).get("content"):
            timing.content_events += 1
            if timing.first_token_ns is None:
                timing.first_token_ns = time.perf_counter_ns() - start
    return False
