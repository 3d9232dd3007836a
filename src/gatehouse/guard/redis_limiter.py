"""The limit engine shared by every worker and replica: counters in Redis, one Lua call each.

Each `admit`, `settle`, `spend` and `seed` is a single EVALSHA of ``lua/limits.lua``,
which holds every rule of the call, so it is atomic and costs one round-trip. The
semantics are `Limiter`'s, the same as `MemoryLimiter`'s; the script uses Redis's own
clock, so replicas agree on time. Keys are ``{prefix}:{rule.name}:{part}`` (parts per
kind in the script's ``PARTS``); every write sets their TTL, so idle counters expire by
themselves.

The engine needs a single Redis (with replicas if wanted), not Redis Cluster, for two
reasons: one call's keys span several rules and therefore several hash slots, and the
script is passed one base name per rule and builds its counters' names itself, where
Cluster requires every key a script touches to be named in KEYS.

The call is on every request's path, where redis-py's generic command path (packing
each argument, retry and observability hooks, a task and a timer per write and per read)
cost about as much as the round-trip itself. So the command is framed here: the part that
depends only on the rules (the keys, one per rule, and the rules' fields in one string)
is framed once per tuple of rules and cached, since the policy hands the same tuple to
every call of a key and model; a call adds its few numbers and sends the bytes on a
pooled connection.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError, ResponseError

from gatehouse.guard.limiter import (
    LATE_SETTLE_S,
    Admission,
    LimiterUnavailable,
    LimiterUnsupported,
    Rule,
    check_amounts,
    make_admission,
)

#: Connections per engine; one script call takes ~0.1 ms, so few serve many calls.
POOL_SIZE = 32
#: The least time a new connection (TCP, then the handshake) may take, in the
#: background, once the call that asked for it has given up waiting.
_CONNECT_BUDGET_S = 2.0
#: PEXPIRE's GT and NX options, which the script uses, came with Redis 7.0.
MIN_REDIS = (7, 0)
#: Tuples of rules whose framed arguments are kept; as many as the policy keeps rule sets.
MAX_FRAMED = 10_000
#: The script's ARGV before the rules' fields: op, request id, tokens, cost, lease, grace.
_SCALARS = 6


@functools.cache
def _script_source() -> bytes:
    return resources.files("gatehouse.guard").joinpath("lua/limits.lua").read_bytes()


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _bulk(value: bytes) -> bytes:
    """One argument of a command in Redis's protocol (RESP): ``$<length>\\r\\n<bytes>\\r\\n``."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _number(value: int) -> bytes:
    return _bulk(str(value).encode())  # as redis-py encodes a number


@dataclass(frozen=True, slots=True)
class _Framed:
    """The parts of a script call that depend only on its rules, framed in RESP.

    The whole command is ``head``, then the per-call ARGV, then ``spec``.
    """

    head: bytes  # the array's length, EVALSHA, the script's SHA-1, the key count, the keys
    spec: bytes  # ARGV[7]: "kind limit window-us" per rule, space-separated


class RedisLimiter:
    """Rate limits, concurrency and budgets kept in Redis; see `Limiter` for the semantics."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "gatehouse",
        timeout_s: float = 0.25,
        late_settle_s: float = LATE_SETTLE_S,
    ) -> None:
        # A burst beyond the pool waits (up to timeout_s) for a connection instead of
        # failing, as redis-py's default pool does past its size. No retries: the caller
        # has a latency budget and an on_error policy. (A retried admit would be harmless
        # anyway: an id is counted once.) No socket timeout: `_call` bounds the whole
        # exchange with one timer rather than one per write and per read. A connect (TCP,
        # TLS, the handshake) goes on in the background once its call gave up, within
        # its own budget (see `_connection`).
        self._connect_budget_s = max(_CONNECT_BUDGET_S, 4 * timeout_s)
        self._pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=timeout_s,
            socket_timeout=None,
            socket_connect_timeout=self._connect_budget_s,
            retry=Retry(NoBackoff(), 0),
            redis_connect_func=self._handshake,
        )
        source = _script_source()
        self._sha = hashlib.sha1(source).hexdigest().encode()
        self._load_script = b"*3\r\n" + _bulk(b"SCRIPT") + _bulk(b"LOAD") + _bulk(source)
        self._timeout_s = timeout_s
        self._connecting: set[asyncio.Task[Any]] = set()  # connects outliving their call
        self._prefix = prefix
        self._grace = _number(_us(late_settle_s))
        # rules -> (all of them, those a settle touches or None); see `_framed_for`.
        self._framed: dict[tuple[Rule, ...], tuple[_Framed, _Framed | None]] = {}

    async def admit(
        self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int, lease_s: float
    ) -> Admission:
        check_amounts(tokens, cost, lease_s)
        if not rules:
            return Admission(True, [], None, None)
        every, _ = self._framed_for(rules)
        reply = await self._run("admit", every, request_id, tokens, cost, _us(lease_s))
        admitted, refused_at, retry_us = reply[0], reply[1], reply[2]
        usage = [(int(reply[i]), reply[i + 1] / 1e6) for i in range(3, len(reply), 2)]
        if admitted:
            return make_admission(rules, usage, None, None)
        retry_after_s = None if retry_us < 0 else retry_us / 1e6
        return make_admission(rules, usage, refused_at - 1, retry_after_s)

    async def settle(self, request_id: str, rules: Sequence[Rule], tokens: int, cost: int) -> None:
        if rules:
            _, settled = self._framed_for(rules)
            if settled is not None:
                await self._run("settle", settled, request_id, tokens, cost, 0)

    async def release(self, request_id: str, rules: Sequence[Rule]) -> None:
        if rules:
            every, _ = self._framed_for(rules)
            await self._run("release", every, request_id, 0, 0, 0)

    async def spend(self, rules: Sequence[Rule]) -> list[tuple[int, int]]:
        if not rules:
            return []
        every, _ = self._framed_for(rules)
        reply = await self._run("spend", every, "", 0, 0, 0)
        return [(int(reply[i]), int(reply[i + 1])) for i in range(0, len(reply), 2)]

    async def seed(self, rule: Rule, spent: int) -> None:
        if rule.kind != "budget":
            raise ValueError(f"only a budget rule can be seeded, not {rule.kind!r}")
        every, _ = self._framed_for((rule,))
        await self._run("seed", every, "", 0, spent, 0)

    async def check(self) -> None:
        """Refuse a Redis older than 7.0: the script's PEXPIRE ... GT/NX would fail on
        every call with a tokens, concurrency or budget rule, after writing part of it."""
        command = b"*2\r\n" + _bulk(b"INFO") + _bulk(b"server")
        info = await self._call(command, "INFO")
        version = redis_version(info)
        if version < MIN_REDIS:
            raise LimiterUnsupported(
                f"Redis {'.'.join(map(str, version))} at redis.url is too old for the limit "
                f"counters: {'.'.join(map(str, MIN_REDIS))} or later is needed"
            )

    async def close(self) -> None:
        for task in list(self._connecting):
            task.cancel()
        await self._pool.disconnect()

    # --- the script call ----------------------------------------------------------------

    def _framed_for(self, rules: Sequence[Rule]) -> tuple[_Framed, _Framed | None]:
        """The framed rules, and those of them a settle touches (None: none, a requests entry
        just counts). Cached by value: `Rule` is frozen, so equal tuples frame the same."""
        key = rules if isinstance(rules, tuple) else tuple(rules)
        found = self._framed.get(key)
        if found is None:
            settled = [rule for rule in key if rule.kind != "requests"]
            found = (self._frame(key), self._frame(settled) if settled else None)
            if len(self._framed) >= MAX_FRAMED:
                self._framed.clear()
            self._framed[key] = found
        return found

    def _frame(self, rules: Sequence[Rule]) -> _Framed:
        length = 3 + len(rules) + _SCALARS + 1  # EVALSHA, SHA, count, keys, ARGV
        head = [b"*%d\r\n" % length, _bulk(b"EVALSHA"), _bulk(self._sha), _number(len(rules))]
        head += (_bulk(f"{self._prefix}:{rule.name}".encode()) for rule in rules)
        spec = " ".join(f"{rule.kind} {rule.limit} {_us(rule.window_s)}" for rule in rules)
        return _Framed(b"".join(head), _bulk(spec.encode()))

    async def _run(
        self, op: str, framed: _Framed, request_id: str, tokens: int, cost: int, lease_us: int
    ) -> Any:
        command = b"".join(
            (
                framed.head,
                _bulk(op.encode()),
                _bulk(request_id.encode()),
                _number(tokens),
                _number(cost),
                _number(lease_us),
                self._grace,
                framed.spec,
            )
        )
        return await self._call(command, op)

    async def _call(self, command: bytes, op: str) -> Any:
        """Sends the command on a pooled connection and reads its reply, within timeout_s.

        Redis without the script (restarted, flushed, failed over) answers NOSCRIPT before
        running anything: the script is loaded and the command sent once more. Failures
        are `LimiterUnavailable`, whose ``sent`` says whether the script may have run.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        try:
            conn = await self._connection(deadline)
        except (TimeoutError, RedisError, OSError) as exc:
            raise self._unavailable(op, exc, sent=False) from exc
        try:
            async with asyncio.timeout_at(deadline):
                try:
                    return await _exchange(conn, command)
                except NoScriptError:
                    await _exchange(conn, self._load_script)
                    return await _exchange(conn, command)
        except ResponseError as exc:
            # An error reply, read whole: the connection is ready for the next call.
            raise self._unavailable(op, exc, sent=True) from exc
        except BaseException as exc:
            # Cut off mid-command (a timeout, a broken socket, a cancelled caller): the reply
            # may still come, so the connection must not serve another call as it is. The
            # pool reconnects it on its next use.
            await conn.disconnect(nowait=True)
            if isinstance(exc, TimeoutError | RedisError | OSError):
                raise self._unavailable(op, exc, sent=True) from exc
            raise
        finally:
            await self._pool.release(conn)

    def _unavailable(self, op: str, exc: BaseException, *, sent: bool) -> LimiterUnavailable:
        if isinstance(exc, TimeoutError):
            waited = "did not answer" if sent else "gave no connection for"
            message = f"limit store (Redis) {waited} {op} within {self._timeout_s}s"
        else:
            message = f"limit store (Redis) failed on {op}: {exc}"
        return LimiterUnavailable(message, sent=sent)

    async def _handshake(self, conn: AbstractConnection) -> None:
        """redis-py's handshake (AUTH, SELECT, ...), then the script loaded, undone when
        it is cut off.

        Loading the script here (one more round trip per connection, in the background
        when slow, see `_connection`) spares a call on a new connection to a Redis that
        lost the script (restarted, failed over) the NOSCRIPT reload's two round trips.
        redis-py disconnects a connection whose handshake fails with a Redis error, but
        not one whose handshake is cancelled: that connection would stay connected
        without its SELECT or AUTH, and the next call on it would use the wrong database.
        """
        try:
            await conn.on_connect()
            await _exchange(conn, self._load_script)
        except BaseException:
            await conn.disconnect(nowait=True)
            raise

    async def _connection(self, deadline: float) -> AbstractConnection:
        """A pooled connection by ``deadline``.

        Connecting (TCP, then the handshake's round trips) may take longer than a call may
        wait. It then goes on in the background, within a budget of its own, and leaves
        its connection in the pool for the next call; cutting it off instead would make
        a Redis further away than timeout_s allows for a fresh connection (though not for
        a call) unusable for good. The budget bounds a Redis that accepts but never answers.
        """
        idle = self._pool._available_connections  # the pool hands out the last one
        if idle and idle[-1].is_connected:
            # The usual case, without a task: nothing to connect. (Should the pool still
            # reconnect it, a stale socket say, the timer cuts that off.)
            async with asyncio.timeout_at(deadline):
                return await self._pool.get_connection()
        loop = asyncio.get_running_loop()
        started = loop.time()
        getting = loop.create_task(
            asyncio.wait_for(self._pool.get_connection(), self._connect_budget_s)
        )
        try:
            conn = await asyncio.wait_for(asyncio.shield(getting), deadline - started)
        except BaseException:
            getting.add_done_callback(self._back_to_pool)
            self._connecting.add(getting)
            raise
        # A connect of several round trips that ended just in time leaves too little for
        # the command's one: sent now, it would be cut off and the new connection thrown
        # away, again at every call. Kept for the next call instead.
        took = loop.time() - started
        if deadline - loop.time() < took / 2:
            await self._pool.release(conn)
            raise TimeoutError("connected too late for the command")
        return conn

    def _back_to_pool(self, getting: asyncio.Task[AbstractConnection]) -> None:
        self._connecting.discard(getting)
        if getting.cancelled() or getting.exception() is not None:
            return  # nothing was taken from the pool (get_connection gives its slot back)
        releasing = asyncio.get_running_loop().create_task(self._pool.release(getting.result()))
        self._connecting.add(releasing)
        releasing.add_done_callback(self._connecting.discard)


def redis_version(info: bytes | str) -> tuple[int, ...]:
    """The (major, minor) in the answer to INFO server; (0, 0) if it names none."""
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else info
    for line in text.splitlines():
        if line.startswith("redis_version:"):
            parts = line.split(":", 1)[1].strip().split(".")
            try:
                return tuple(int(p) for p in parts[:2])
            except ValueError:
                break
    return (0, 0)


async def _exchange(conn: AbstractConnection, command: bytes) -> Any:
    await conn.send_packed_command(command)
    return await conn.read_response()
