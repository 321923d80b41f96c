"""Callback dispatch (issue 14): how fast one dispatcher dials due callbacks, and how fast four
dispatchers claim from one PostgreSQL store without ever claiming a request twice.

    .venv/bin/python bench/callbacks.py [--requests 400] [--claims 10000] [--repeat 5]

1. *Dialled per second per dispatcher*: N due requests; one `Dispatcher` with the REST dialer
   against the local Twilio stand-in (tests/twilio_standin.py, 127.0.0.1) places them all —
   claim, call-create request, `201`, sid written to the store. The phones ring for an hour,
   so no call ends during the run (what is measured is dialling, not talking). SQLite and
   PostgreSQL stores in the same run; medians of `--repeat` runs and their ratio.
2. *Claim rate*: `--claims` requests in one PostgreSQL store; 1 and then 4 dispatcher
   processes claim them in batches of 10 until none is left. Every claimed call id is sent
   back; the run fails if any was claimed twice or not at all.

PostgreSQL is a throw-away cluster (tests/postgres_lab.py), or `--dsn`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from twilio_standin import Phone, TwilioStandIn, start  # noqa: E402

from ivrflow.host.callback_lifecycle import LifecycleStore  # noqa: E402
from ivrflow.host.callback_postgres import PostgresCallbackStore  # noqa: E402
from ivrflow.host.callback_rules import RetryPolicy  # noqa: E402
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore  # noqa: E402
from ivrflow.host.dispatcher import Dispatcher  # noqa: E402
from ivrflow.host.gateways.rest_dialer import RestDialer  # noqa: E402

SID, TOKEN = "AC" + "2" * 32, "bench-token"
POLICY = RetryPolicy(expire_after=10 * 86400, lease=600)


def fill(store: LifecycleStore, n: int, at: float) -> None:
    for i in range(n):
        number = f"+55119{i:08d}"
        store.store(CallbackRequest(f"req-{i}", number, "billing", None, None, at, "billing"))


async def dial_all(store: LifecycleStore, n: int) -> float:
    """Seconds for one dispatcher to place `n` due callbacks."""
    standin = TwilioStandIn(SID, TOKEN, lambda number: Phone("busy", ring=3600))
    runner, url = await start(standin)
    dialer = RestDialer(
        SID, TOKEN, "+551140040000", "http://127.0.0.1:9", "callback_invoice", base_url=url
    )
    dispatcher = Dispatcher(store, dialer, owner="bench", batch=50, max_in_flight=n, poll=0.01)
    began = time.perf_counter()
    while dispatcher.stats.placed < n:
        if not await dispatcher.run_once():
            await asyncio.sleep(0.001)
        if dispatcher._tasks:
            await asyncio.wait(set(dispatcher._tasks), return_when=asyncio.FIRST_COMPLETED)
    await dispatcher.drain()
    took = time.perf_counter() - began
    assert standin.creates == n, (standin.creates, n)
    await dialer.close()
    await runner.cleanup()
    return took


def dialling(make: Callable[[], LifecycleStore], n: int) -> float:
    store = make()
    fill(store, n, time.time() - 60)
    took = asyncio.run(dial_all(store, n))
    store.close()
    return n / took


def _claimer(dsn: str, schema: str, name: str, go: Any, out: Any) -> None:
    store = PostgresCallbackStore(dsn, schema=schema, policy=POLICY)
    out.put("ready")
    go.wait()  # every dispatcher connected: the clock starts for all of them at once
    mine: list[str] = []
    now = time.time()
    empty = 0
    while empty < 3:  # rows the others hold are skipped, not waited for: look twice more
        got = store.claim(name, now, limit=10)
        empty = 0 if got else empty + 1
        mine.extend(c.request.call_id for c in got)
    store.close()
    out.put(mine)


def claim_rate(dsn: str, n: int, workers: int) -> float:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    store = PostgresCallbackStore(dsn, schema=schema, policy=POLICY)
    fill(store, n, time.time() - 60)
    for _ in range(n // 500 + 1):  # each pass gives 500 new requests their first due time
        store.claim("warm", time.time(), limit=0)
    store.close()
    ctx = multiprocessing.get_context("spawn")
    out, go = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_claimer, args=(dsn, schema, f"d{i}", go, out)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        assert out.get(timeout=120) == "ready"
    began = time.perf_counter()
    go.set()
    claimed = [cid for _ in procs for cid in out.get(timeout=600)]
    took = time.perf_counter() - began
    for p in procs:
        p.join()
    doubles = len(claimed) - len(set(claimed))
    missing = n - len(set(claimed))
    if doubles or missing:
        raise SystemExit(f"FAILED: {doubles} claimed twice, {missing} never claimed")
    return n / took


@contextlib.contextmanager
def postgres(dsn: str | None) -> Iterator[str]:
    if dsn:
        yield dsn
        return
    import postgres_lab

    with contextlib.contextmanager(postgres_lab.postgres.__wrapped__)() as started:
        yield started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dsn", help="an existing PostgreSQL server (default: a throw-away one)")
    args = parser.parse_args()
    with postgres(args.dsn) as dsn, tempfile.TemporaryDirectory() as tmp:

        def sqlite() -> LifecycleStore:
            return SQLiteCallbackStore(Path(tmp) / f"{uuid.uuid4().hex}.db", policy=POLICY)

        def pg() -> LifecycleStore:
            return PostgresCallbackStore(dsn, schema=f"b_{uuid.uuid4().hex[:10]}", policy=POLICY)

        lite = [dialling(sqlite, args.requests) for _ in range(args.repeat)]
        post = [dialling(pg, args.requests) for _ in range(args.repeat)]
        ml, mp = statistics.median(lite), statistics.median(post)
        print(f"dialled per second, one dispatcher, {args.requests} due callbacks, stand-in API:")
        print(
            f"  SQLite store      median {ml:8.0f}/s  (runs: {', '.join(f'{x:.0f}' for x in lite)})"
        )
        print(
            f"  PostgreSQL store  median {mp:8.0f}/s  (runs: {', '.join(f'{x:.0f}' for x in post)})"
        )
        print(f"  PostgreSQL / SQLite = {mp / ml:.2f}")
        reps = max(1, args.repeat // 2)
        one = [claim_rate(dsn, args.claims, 1) for _ in range(reps)]
        four = [claim_rate(dsn, args.claims, 4) for _ in range(reps)]
        m1, m4 = statistics.median(one), statistics.median(four)
        print(f"claims per second on one PostgreSQL store, {args.claims} requests, batches of 10:")
        print(f"  1 dispatcher      median {m1:8.0f}/s")
        print(f"  4 dispatchers     median {m4:8.0f}/s  (no request claimed twice or missed)")
        print(f"  4 / 1 = {m4 / m1:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
