"""Health checks a load balancer understands: liveness and readiness, per dependency.

- **Liveness** (`/healthz`): the process and its event loop answer. Always 200 while they do;
  a supervisor restarts the worker when it stops answering. It never waits for a dependency,
  so a sick Redis does not get healthy workers killed.
- **Readiness** (`/readyz`): whether this worker can take new calls now. Each dependency is
  checked (concurrently, each within `READY_TIMEOUT`) and reported by name; 200 when every
  *required* one is up, 503 when one is down, so the balancer sends new calls elsewhere.

A dependency that keeps what it refuses (the records file and the callback database behind
their spools) is never "down": while its spool holds anything it is `degraded` — nothing is
lost and calls go on, but an operator should look.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

READY_TIMEOUT = 1.0  # seconds per dependency check

Check = Callable[[], Awaitable[bool]]


def spool_depth(owner: Any) -> int | None:
    """How many entries the spool beside `owner` holds (None when it has no spool)."""
    path = getattr(owner, "spool_path", None)
    if path is None:
        return None
    try:
        with open(Path(path), "rb") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0
    except OSError:
        return None


def spooled_state(owner: Any) -> dict[str, Any]:
    """`ok`, or `degraded` with how many entries wait in the spool."""
    depth = spool_depth(owner)
    if depth:
        return {"status": "degraded", "spooled": depth, "required": False}
    return {"status": "ok", "required": False}


async def probe(check: Check, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """Run one required check: `ok` with its latency, or `down` with why."""
    began = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            up = await check()
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {timeout:g} s", "required": True}
    except Exception as exc:  # whatever the dependency raised, readiness says no
        return {"status": "down", "error": type(exc).__name__, "required": True}
    latency = round((time.perf_counter() - began) * 1000, 2)
    if not up:
        return {"status": "down", "error": "refused", "required": True}
    return {"status": "ok", "latency_ms": latency, "required": True}


async def readiness(
    required: Mapping[str, Check], spooled: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): every required check run at once, the spooled ones read."""
    names = list(required)
    results = await asyncio.gather(*(probe(required[n]) for n in names))
    checks: dict[str, Any] = dict(zip(names, results, strict=True))
    for name, owner in spooled.items():
        if owner is not None:
            checks[name] = spooled_state(owner)
    ready = all(c["status"] != "down" for c in checks.values())
    return (200 if ready else 503), {"status": "ready" if ready else "not ready", "checks": checks}


def engine_spools(engine: Any) -> dict[str, Any]:
    """The Engine's record sink and callback store, by the names readiness reports."""
    return {"records": engine.records, "callbacks": engine.callbacks}


__all__ = [
    "READY_TIMEOUT",
    "engine_spools",
    "probe",
    "readiness",
    "spool_depth",
    "spooled_state",
]
