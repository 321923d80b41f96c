"""Where the webhook gateway keeps calls between HTTP requests.

A webhook call lives across many requests, possibly served by different worker
processes; each request loads the call's state, moves it on and writes it back.
Writes are optimistic: `put` succeeds only if the stored version is still the
one read (`expected_version`, None for "must not exist yet"), so two requests
for one call racing each other never interleave their changes — the loser
sees False and starts over from the fresh state.

- `MemorySessionStore`: one process (the default; tests, single worker).
- `RedisSessionStore`: shared by workers; JSON values with a TTL, compare-and-set
  done atomically by a Lua script.

Every method is a coroutine and the Redis one never blocks the event loop (`redis.asyncio`,
each command under `timeout`): a Redis that hangs holds up only the requests that are waiting
for it, each for at most `timeout` seconds, never the other calls of the worker. `ping()` is
what the readiness check asks.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol

Data = dict[str, Any]


class SessionStore(Protocol):
    async def get(self, call_id: str) -> tuple[Data, int] | None:
        """The stored data and its version, or None when unknown (or expired)."""
        ...

    async def put(self, call_id: str, data: Data, expected_version: int | None) -> bool:
        """Store `data` if the current version is `expected_version`; False if someone else
        wrote first (or, with None, if the call already exists)."""
        ...

    async def delete(self, call_id: str) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers (the readiness check); raises or False when not."""
        ...


class MemorySessionStore:
    """In-process store; entries expire after `ttl` seconds without a write."""

    def __init__(self, ttl: float = 4 * 3600.0) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[str, int, float]] = {}  # json, version, expiry (monotonic)

    # No await inside a method: each runs to its end on the loop, which is the lock.
    async def get(self, call_id: str) -> tuple[Data, int] | None:
        item = self._items.get(call_id)
        if item is None:
            return None
        text, version, expires = item
        if expires < time.monotonic():
            del self._items[call_id]
            return None
        data: Data = json.loads(text)
        return data, version

    async def put(self, call_id: str, data: Data, expected_version: int | None) -> bool:
        text = json.dumps(data, separators=(",", ":"), default=str)
        item = self._items.get(call_id)
        if item is not None and item[2] < time.monotonic():
            item = None
        current = item[1] if item is not None else None
        if current != expected_version:
            return False
        self._items[call_id] = (text, (current or 0) + 1, time.monotonic() + self.ttl)
        return True

    async def delete(self, call_id: str) -> None:
        self._items.pop(call_id, None)

    async def ping(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._items)


# KEYS[1] the call; ARGV: expected version ("" = must not exist), data, ttl seconds.
_CAS = """
local cur = redis.call('HGET', KEYS[1], 'v')
if cur == false then cur = '' end
if cur ~= ARGV[1] then return 0 end
local new = 1
if cur ~= '' then new = tonumber(cur) + 1 end
redis.call('HSET', KEYS[1], 'v', tostring(new), 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return new
"""


class RedisSessionStore:
    """Calls as Redis hashes `{prefix}{call_id}` → {v: version, d: JSON}, with a TTL.

    An asyncio client: create and use it on the loop that serves the calls."""

    def __init__(
        self,
        url: str,
        ttl: int = 4 * 3600,
        prefix: str = "ivrflow:call:",
        timeout: float = 2.0,
    ) -> None:
        from redis import asyncio as aioredis

        self.ttl = int(ttl)
        self.prefix = prefix
        self.timeout = timeout
        # A Redis that stops answering (not just refusing) must not hold a caller for long:
        # the gateway apologizes and ends the call instead. The URL (and its password) is
        # kept only inside the client, never in messages.
        self.client: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._cas: Any = self.client.register_script(_CAS)

    def _key(self, call_id: str) -> str:
        return self.prefix + call_id

    async def _bounded(self, command: Any) -> Any:
        # The socket timeout covers each read; this covers the whole command (a connect
        # that hangs, a retry), so no request waits longer than `timeout` for Redis.
        async with asyncio.timeout(self.timeout):
            return await command

    async def get(self, call_id: str) -> tuple[Data, int] | None:
        version, text = await self._bounded(self.client.hmget(self._key(call_id), ["v", "d"]))
        if version is None or text is None:
            return None
        data: Data = json.loads(text)
        return data, int(version)

    async def put(self, call_id: str, data: Data, expected_version: int | None) -> bool:
        text = json.dumps(data, separators=(",", ":"), default=str)
        expected = "" if expected_version is None else str(expected_version)
        done = await self._bounded(
            self._cas(keys=[self._key(call_id)], args=[expected, text, self.ttl])
        )
        return bool(done)

    async def delete(self, call_id: str) -> None:
        await self._bounded(self.client.delete(self._key(call_id)))

    async def ping(self) -> bool:
        return bool(await self._bounded(self.client.ping()))

    async def close(self) -> None:
        await self.client.aclose()


__all__ = ["MemorySessionStore", "RedisSessionStore", "SessionStore"]
