"""How many calls can the FastAGI gateway carry, and how fast does it answer?

Run from the project root:

    python bench/gateway.py                       # the full run, about 1-2 minutes
    python bench/gateway.py --calls 1000 --hold 300 --skip-webhook     # quicker
    python bench/gateway.py --metrics-cost        # what --metrics and the call log cost
                                                  # (BENCH_OBS=metrics|log|scrape: one part)

A load generator (this process) speaks the Asterisk side of FastAGI on 127.0.0.1 to a
server in a child process (so that the two share the 2 cores like Asterisk and ivrflow
would). Each simulated call sends the agi_* environment (agi_network_script: billing, a
unique agi_uniqueid), then answers every command after a small scaled-down pause, following
one caller script through flows/billing.ivr: key 2 (balance), contract 79927398713#, 1 to
confirm, and a hang-up (HANGUP line + result=-1) at the next menu (after the look-up and the
balance read-out).

Two servers get the same load:

  ivrflow  `FastAGIServer` + `Engine`, look-ups answered by flows/fixtures/billing.yaml,
           records to a counting null sink
  bare     an asyncio Protocol that sends the fixed command sequence of one such call
           (captured from ivrflow in the warm-up) with no interpreter: the floor

Phases per server: warm-up; throughput (--calls calls, --concurrency at a time); hold
(--hold calls opened at once, each held at its first menu until all are live, memory
measured with tracemalloc in the server, then released). Optionally the webhook gateway with
a RedisSessionStore (needs aiohttp and redis-server). It prints figures and a verdict per
goal; it asserts nothing. Everything is bounded in count and time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOWS = ROOT / "flows"
FIXTURES = FLOWS / "fixtures" / "billing.yaml"
HOST = "127.0.0.1"  # loopback only
ANI, DNIS = "+5511912345678", "+551130030001"
KEYS = ["2", "79927398713#", "1"]  # balance, contract, confirm; then hang up at the next menu
CALL_LIMIT = 60.0  # seconds: one simulated call never takes longer
PHASE_LIMIT = 120.0  # seconds: one phase never takes longer

# Goals (issue 5, item 4).
GOAL_HELD = 1000
GOAL_P99_MS = 10.0
GOAL_RATIO = 2.0


# ------------------------------------------------------------------ the servers (child process)


class CountingSink:
    """A null record sink that counts outcomes."""

    blocking = False  # no disk: written on the event loop, like MemorySink

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {}

    def write(self, record: dict[str, Any]) -> None:
        kind = str((record.get("outcome") or {}).get("kind"))
        self.outcomes[kind] = self.outcomes.get(kind, 0) + 1


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.last = record.getMessage()[:200]


class BareAGI(asyncio.Protocol):
    """The floor: a Protocol with no coroutine, no parser and no interpreter. It answers each
    reply with the next command of a fixed sequence (what the first ivrflow call sent)."""

    def __init__(self, commands: list[bytes]) -> None:
        self.commands = commands
        self.sent = 0
        self.buf = b""
        self.in_environment = True
        self.hung_up = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buf += data
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            if self.in_environment:
                if not line.strip():
                    self.in_environment = False
                    self.next_command()
            elif self.hung_up:  # the pending command's own reply: done
                self.transport.close()
                return
            elif line.strip() == b"HANGUP":
                self.hung_up = True
            else:
                self.next_command()

    def next_command(self) -> None:
        assert self.transport is not None
        if self.sent == len(self.commands):
            self.transport.close()
            return
        self.transport.write(self.commands[self.sent])
        self.sent += 1


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _serve(kind: str, commands: list[bytes], conn: Any, redis_url: str) -> None:
    errors = _Errors()
    logging.getLogger("ivrflow").addHandler(errors)
    sink = CountingSink()
    ivr: Any = None
    runner: Any = None
    if kind == "webhook":
        from aiohttp import web

        from ivrflow.host.engine import Engine
        from ivrflow.host.gateways.hosting import fixtures_hook
        from ivrflow.host.gateways.session_store import RedisSessionStore
        from ivrflow.host.gateways.webhook import WebhookConfig, create_app

        engine = Engine(records=sink)
        store = RedisSessionStore(redis_url, ttl=600)
        wconfig = WebhookConfig(flows_dir=FLOWS, store=store, on_flow=fixtures_hook(str(FIXTURES)))
        runner = web.AppRunner(create_app(engine, wconfig), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, HOST, 0, backlog=4096)
        await site.start()
        port = runner.addresses[0][1]
        server: asyncio.Server | None = None
    elif kind in ("ivrflow", "ivrflow+metrics"):
        from ivrflow.host.engine import Engine
        from ivrflow.host.gateways.fastagi import FastAGIServer, ServerConfig
        from ivrflow.host.gateways.hosting import fixtures_hook

        engine = Engine(records=sink)
        if kind == "ivrflow+metrics":
            watching = _observe(engine)
        config = ServerConfig(flows_dir=FLOWS, render=False)
        ivr = FastAGIServer(engine, config)
        ivr.on_flow = fixtures_hook(str(FIXTURES))
        await ivr.start(HOST, 0)
        port = ivr.port
        server = None
    else:
        server = await asyncio.get_running_loop().create_server(
            lambda: BareAGI(commands), HOST, 0, backlog=4096
        )
        port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_command() -> None:
        try:
            what = conn.recv()
        except EOFError:
            stop.set()
            return
        if what == "trace":
            tracemalloc.start()
            conn.send(tracemalloc.get_traced_memory()[0])
        elif what == "mem":
            traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
            conn.send((traced, _rss()))
        elif what == "untrace":
            tracemalloc.stop()
            conn.send(None)
        elif what == "cpu":
            conn.send(time.process_time())
        elif what == "stats":
            conn.send((dict(sink.outcomes), errors.count, errors.last))
        else:
            stop.set()

    loop.add_reader(conn.fileno(), on_command)
    conn.send(port)
    await stop.wait()
    if kind == "ivrflow+metrics":
        for task in watching:
            task.cancel()
    loop.remove_reader(conn.fileno())
    if ivr is not None:
        await ivr.close(5.0)
    if server is not None:
        server.close()
    if runner is not None:
        await runner.cleanup()
    conn.send("stopped")


def _observe(engine: Any) -> list[asyncio.Task[None]]:
    """What `serve --metrics` adds: Prometheus figures, the JSON call log (to /dev/null, but
    formatted and written), the loop-lag probe, and a scrape every second (Prometheus scrapes
    every 15 s by default: this is 15 times the usual rendering work)."""
    from ivrflow.host.calllog import CallLog
    from ivrflow.host.metrics import Metrics

    metrics = Metrics()
    devnull = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the server)
    parts = os.environ.get("BENCH_OBS", "metrics,log,scrape").split(",")
    engine.metrics = metrics if "metrics" in parts else None
    engine.call_log = CallLog(devnull, mask_ani=True) if "log" in parts else None
    if "scrape" not in parts:
        return []

    async def scraping() -> None:
        while True:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(metrics.exposition)

    return [asyncio.create_task(metrics.watch_loop()), asyncio.create_task(scraping())]


def server_main(
    kind: str, commands: list[bytes], conn: Any, redis_url: str = "", profile: str = ""
) -> None:
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(kind, commands, conn, redis_url))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


class ServerProcess:
    def __init__(
        self, kind: str, commands: list[bytes], redis_url: str = "", profile: str = ""
    ) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=server_main, args=(kind, commands, child, redis_url, profile), daemon=True
        )
        self.proc.start()
        deadline = time.monotonic() + 60
        while not self.conn.poll(0.1):
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start")
        self.port: int = self.conn.recv()

    def ask(self, what: str) -> Any:
        self.conn.send(what)
        if not self.conn.poll(30):
            raise RuntimeError(f"server did not answer {what!r}")
        return self.conn.recv()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send("stop")
            self.conn.poll(15)
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)


# ------------------------------------------------------------------ the simulated Asterisk


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # seconds, reply sent → next command
    ok: int = 0
    errors: int = 0
    last_error: str = ""
    live: int = 0
    peak: int = 0
    held: int = 0
    all_held: asyncio.Event = field(default_factory=asyncio.Event)
    hold_target: int = 0
    release: asyncio.Event | None = None  # when set: hold each call at its first menu
    commands: list[bytes] = field(default_factory=list)  # of the first call, if recording
    record: bool = False


def env_block(uniqueid: str) -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": "billing",
        "agi_request": "agi://127.0.0.1:4573/billing",
        "agi_channel": f"PJSIP/caller-{uniqueid}",
        "agi_language": "pt_BR",
        "agi_uniqueid": uniqueid,
        "agi_callerid": ANI,
        "agi_calleridname": "Caller",
        "agi_dnid": DNIS,
        "agi_extension": "s",
        "agi_context": "ivr",
    }
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


def pause_for(cmd: str, rnd: random.Random) -> float:
    """A scaled-down Asterisk pause, in seconds, before answering `cmd`."""
    if cmd.startswith("STREAM FILE"):
        return rnd.uniform(0.001, 0.005)  # a prompt played
    if cmd.startswith("WAIT FOR DIGIT"):
        return rnd.uniform(0.001, 0.003)  # the caller thinks
    if cmd.startswith("GET DATA"):
        return rnd.uniform(0.002, 0.006)  # the caller keys the rest
    if cmd.startswith("EXEC"):
        return rnd.uniform(0.001, 0.005)
    return 0.0  # SET/GET VARIABLE, VERBOSE: Asterisk answers at once


async def caller(port: int, uniqueid: str, load: Load, rnd: random.Random) -> None:
    keys = list(KEYS)
    rest = ""
    hold = load.release is not None
    sent_at: float | None = None
    counted = False
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(CALL_LIMIT):
            reader, writer = await asyncio.open_connection(HOST, port)
            load.live += 1
            counted = True
            load.peak = max(load.peak, load.live)
            writer.write(env_block(uniqueid))
            await writer.drain()
            while True:
                line = await reader.readline()
                now = time.perf_counter()
                if not line:
                    raise ConnectionError("server closed the call before the caller hung up")
                if sent_at is not None:
                    load.latencies.append(now - sent_at)
                if load.record:
                    load.commands.append(line)
                cmd = line.decode().rstrip("\n")
                if cmd.startswith("WAIT FOR DIGIT") and hold and load.release is not None:
                    hold = False
                    load.held += 1
                    if load.held >= load.hold_target:
                        load.all_held.set()
                    await load.release.wait()
                pause = pause_for(cmd, rnd)
                if pause:
                    await asyncio.sleep(pause)
                if cmd.startswith("WAIT FOR DIGIT"):
                    if not keys:  # the caller hangs up at this menu
                        writer.write(b"HANGUP\n200 result=-1\n")
                        await writer.drain()
                        while await reader.readline():  # the server must close the socket
                            writer.write(b"511 Command Not Permitted on a dead channel\n")
                        load.ok += 1
                        return
                    entry = keys.pop(0)
                    rest = entry[1:].rstrip("#")
                    reply = f"200 result={ord(entry[0])}"
                elif cmd.startswith("GET DATA"):
                    reply = f"200 result={rest}" if rest else "200 result= (timeout)"
                    rest = ""
                elif cmd.startswith("STREAM FILE"):
                    reply = f"200 result=0 endpos={rnd.randint(4000, 40000)}"
                elif cmd.startswith("GET VARIABLE"):
                    reply = "200 result=1 (TIMEOUT)" if "QUEUESTATUS" in cmd else "200 result=0"
                elif cmd.startswith("EXEC"):
                    reply = "200 result=0"
                elif cmd == "HANGUP":
                    writer.write(b"200 result=1\n")
                    raise ConnectionError("the flow hung up before the caller did")
                else:  # SET VARIABLE, VERBOSE
                    reply = "200 result=1"
                writer.write(reply.encode() + b"\n")
                await writer.drain()
                sent_at = time.perf_counter()
    except (OSError, TimeoutError, ConnectionError) as exc:
        load.errors += 1
        load.last_error = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        if counted:
            load.live -= 1
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def run_calls(port: int, calls: int, concurrency: int, tag: str, load: Load) -> float:
    """`calls` calls, `concurrency` at a time; the wall time in seconds."""
    rnd = random.Random(5)
    counter = iter(range(calls))

    async def worker() -> None:
        for i in counter:
            await caller(port, f"{tag}.{i}", load, rnd)

    start = time.perf_counter()
    async with asyncio.timeout(PHASE_LIMIT):
        await asyncio.gather(*(worker() for _ in range(min(concurrency, calls))))
    return time.perf_counter() - start


async def hold_calls(server: ServerProcess, n: int, tag: str) -> dict[str, Any]:
    """Open `n` calls at once, hold each at its first menu, measure, release."""
    load = Load(release=asyncio.Event(), hold_target=n)
    assert load.release is not None
    rnd = random.Random(7)
    base_traced = server.ask("trace")
    base_rss = server.ask("mem")[1]
    tasks = [asyncio.create_task(caller(server.port, f"{tag}.{i}", load, rnd)) for i in range(n)]
    start = time.perf_counter()
    reached = True
    try:
        await asyncio.wait_for(load.all_held.wait(), PHASE_LIMIT / 2)
    except TimeoutError:
        reached = False
    open_s = time.perf_counter() - start
    await asyncio.sleep(0.2)  # let the server settle
    traced, rss = server.ask("mem")
    server.ask("untrace")
    load.latencies.clear()
    load.release.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks), PHASE_LIMIT)
    for t in tasks:
        t.cancel()
    return {
        "n": n,
        "held": load.held,
        "reached": reached,
        "open_s": open_s,
        "ok": load.ok,
        "errors": load.errors,
        "last_error": load.last_error,
        "traced_per_call": (traced - base_traced) / max(load.held, 1),
        "rss_per_call": (rss - base_rss) / max(load.held, 1),
        "peak": load.peak,
        "latencies": load.latencies,
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def bench_server(
    kind: str, commands: list[bytes], args: argparse.Namespace
) -> tuple[dict[str, Any], list[bytes]]:
    server = ServerProcess(kind, commands, profile=args.profile if kind == "ivrflow" else "")
    try:
        warm = Load(record=True)
        await caller(server.port, f"{kind}-first", warm, random.Random(1))
        first = list(warm.commands)
        warm.record = False
        await run_calls(server.port, args.warmup, 20, f"{kind}-warm", warm)
        load = Load()
        cpu0 = server.ask("cpu")
        wall = await run_calls(server.port, args.calls, args.concurrency, kind, load)
        cpu = server.ask("cpu") - cpu0
        light = Load()
        await run_calls(server.port, args.light_calls, args.light_concurrency, f"{kind}-l", light)
        held = await hold_calls(server, args.hold, f"{kind}-hold")
        outcomes, server_errors, server_last = server.ask("stats")
    finally:
        server.stop()
    result = {
        "kind": kind,
        "wall": wall,
        "ok": load.ok,
        "errors": load.errors + warm.errors + light.errors,
        "light_p50": pct(light.latencies, 0.50),
        "light_p99": pct(light.latencies, 0.99),
        "last_error": load.last_error or warm.last_error or light.last_error,
        "cps": load.ok / wall if wall else 0.0,
        "cpu_per_call": cpu / max(load.ok, 1),
        "p50": pct(load.latencies, 0.50),
        "p99": pct(load.latencies, 0.99),
        "replies": len(load.latencies),
        "peak": load.peak,
        "hold": held,
        "outcomes": outcomes,
        "server_errors": server_errors,
        "server_last": server_last,
    }
    return result, first


def report_agi(r: dict[str, Any], args: argparse.Namespace) -> None:
    h = r["hold"]
    print(f"\n[{r['kind']}]")
    print(
        f"  throughput: {r['ok']} calls ok, {r['errors']} errors in {r['wall']:.2f} s at "
        f"concurrency {args.concurrency} (peak live {r['peak']}): {r['cps']:.0f} calls/s"
    )
    print(f"  server CPU per call: {r['cpu_per_call'] * 1e6:.0f} µs (user+sys, throughput phase)")
    print(
        f"  latency reply→next command: p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms "
        f"({r['replies']} replies)"
    )
    print(
        f"  light load ({args.light_calls} calls at concurrency {args.light_concurrency}): "
        f"p50 {r['light_p50']:.2f} ms, p99 {r['light_p99']:.2f} ms"
    )
    print(
        f"  hold: {h['held']}/{h['n']} calls live at once (opened in {h['open_s']:.2f} s), "
        f"then {h['ok']} finished ok, {h['errors']} errors; "
        f"on release p50 {pct(h['latencies'], 0.5):.2f} ms, p99 {pct(h['latencies'], 0.99):.2f} ms"
    )
    print(
        f"  memory per live call (server): {h['traced_per_call'] / 1024:.1f} KiB traced "
        f"(tracemalloc), {h['rss_per_call'] / 1024:.1f} KiB RSS delta"
    )
    if r["kind"] == "ivrflow":
        print(f"  server records by outcome: {r['outcomes']}")
    if r["server_errors"]:
        print(f"  server warnings/errors logged: {r['server_errors']} (last: {r['server_last']})")
    if r["errors"] or h["errors"]:
        print(f"  last client error: {r['last_error'] or h['last_error']}")


# ------------------------------------------------------------------ the webhook gateway


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


async def webhook_call(
    client: Any, base: str, sid: str, latencies: list[float], stats: dict[str, int]
) -> None:
    """One scripted call: start, press 2, the contract, 1, then the caller hangs up."""
    import xml.etree.ElementTree as ET

    async def post(url: str, **fields: str) -> ET.Element:
        start = time.perf_counter()
        async with client.post(base + url, data={"CallSid": sid, **fields}) as resp:
            text = await resp.text()
            status = resp.status
        latencies.append(time.perf_counter() - start)
        stats["requests"] += 1
        if status != 200:
            raise RuntimeError(f"HTTP {status} for {url}: {text[:100]}")
        return ET.fromstring(text)

    try:
        async with asyncio.timeout(CALL_LIMIT):
            root = await post("/voice/billing", CallStatus="ringing", From=ANI, To=DNIS)
            for keys in KEYS:
                gather = root.find("Gather")
                action = gather.get("action") if gather is not None else None
                if not action:
                    raise RuntimeError(f"no Gather to press {keys!r} into")
                root = await post(action, Digits=keys.rstrip("#"), CallStatus="in-progress")
            if root.find("Gather") is None:
                raise RuntimeError("the call did not reach the next menu")
            await post("/voice/billing", CallStatus="completed")
        stats["ok"] += 1
    except Exception as exc:
        stats["errors"] += 1
        stats["last_error"] = f"{type(exc).__name__}: {exc}"[:200]  # type: ignore[assignment]


async def bench_webhook(args: argparse.Namespace) -> None:
    print("\n[webhook + Redis]")
    try:
        import aiohttp
        import redis  # noqa: F401
    except ImportError as exc:
        print(f"  skipped: {exc.name} is not installed")
        return
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("  skipped: redis-server is not on PATH")
        return
    with tempfile.TemporaryDirectory(prefix="ivrflow-bench-redis-") as tmp:
        rport = free_port()
        proc = subprocess.Popen(
            [
                redis_server,
                "--port",
                str(rport),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
                "--daemonize",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server: ServerProcess | None = None
        try:
            url = f"redis://{HOST}:{rport}/0"
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError):
                    socket.create_connection((HOST, rport), 0.2).close()
                    break
                if time.monotonic() > deadline or proc.poll() is not None:
                    print("  skipped: redis-server did not start")
                    return
                await asyncio.sleep(0.05)
            server = ServerProcess("webhook", [], url)
            base = f"http://{HOST}:{server.port}"
            calls = max(1, args.requests // (len(KEYS) + 2))
            conc = max(1, args.webhook_concurrency)
            connector = aiohttp.TCPConnector(limit=conc)
            async with aiohttp.ClientSession(connector=connector) as client:
                warm: dict[str, Any] = {"requests": 0, "ok": 0, "errors": 0}
                for i in range(20):
                    await webhook_call(client, base, f"CAwarm{i}", [], warm)
                latencies: list[float] = []
                stats: dict[str, Any] = {"requests": 0, "ok": 0, "errors": 0, "last_error": ""}
                counter = iter(range(calls))

                async def worker() -> None:
                    for i in counter:
                        await webhook_call(client, base, f"CA{i:08d}", latencies, stats)

                start = time.perf_counter()
                async with asyncio.timeout(PHASE_LIMIT):
                    await asyncio.gather(*(worker() for _ in range(min(conc, calls))))
                wall = time.perf_counter() - start
            outcomes, server_errors, server_last = server.ask("stats")
        finally:
            if server is not None:
                server.stop()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    print(
        f"  {stats['requests']} requests ({stats['ok']} calls ok, {stats['errors']} errors + "
        f"{warm['errors']} in warm-up) in {wall:.2f} s at concurrency {conc}: "
        f"{stats['requests'] / wall:.0f} requests/s, {stats['ok'] / wall:.0f} calls/s"
    )
    print(
        f"  latency per request: p50 {pct(latencies, 0.5):.2f} ms, "
        f"p99 {pct(latencies, 0.99):.2f} ms"
    )
    print(f"  server records by outcome: {outcomes}")
    if server_errors:
        print(f"  server warnings/errors logged: {server_errors} (last: {server_last})")
    if stats["errors"] or warm["errors"]:
        print(f"  last client error: {stats['last_error'] or warm.get('last_error')}")


# ------------------------------------------------------------------ main


async def metrics_cost(args: argparse.Namespace) -> None:
    """Server CPU per call with and without metrics and the call log: the same calls, in
    alternating rounds of one run (a fresh server each), medians and their ratio."""
    print(
        f"metrics cost: {args.rounds} rounds x {args.calls} calls at concurrency "
        f"{args.concurrency}, each round on a fresh server, with and without --metrics"
    )
    cpu: dict[str, list[float]] = {"ivrflow": [], "ivrflow+metrics": []}
    for n in range(args.rounds):
        kinds = ["ivrflow", "ivrflow+metrics"] if n % 2 == 0 else ["ivrflow+metrics", "ivrflow"]
        for kind in kinds:
            server = ServerProcess(kind, [])
            try:
                warm = Load()
                await run_calls(server.port, args.warmup, 20, f"{kind}-warm", warm)
                load = Load()
                cpu0 = server.ask("cpu")
                await run_calls(server.port, args.calls, args.concurrency, f"{kind}-{n}", load)
                used = server.ask("cpu") - cpu0
                outcomes, errors, last = server.ask("stats")
            finally:
                server.stop()
            if load.errors or errors:
                print(f"  {kind}: {load.errors} call errors, {errors} server errors ({last})")
            cpu[kind].append(used / max(load.ok, 1))
            print(f"  round {n + 1} {kind:16s} {cpu[kind][-1] * 1e6:7.0f} µs CPU per call")
    plain = statistics.median(cpu["ivrflow"])
    observed = statistics.median(cpu["ivrflow+metrics"])
    ratios = [m / p for m, p in zip(cpu["ivrflow+metrics"], cpu["ivrflow"], strict=True)]
    cost = (observed / plain - 1) * 100
    print(f"median server CPU per call without metrics: {plain * 1e6:.0f} µs")
    print(f"median server CPU per call with metrics:    {observed * 1e6:.0f} µs")
    print(
        f"ratio of medians {observed / plain:.3f} ({cost:+.1f} %); median of per-round ratios "
        f"{statistics.median(ratios):.3f}"
    )
    print(
        f"verdict: metrics cost under 3 % of gateway CPU per call: {'met' if cost < 3 else 'NOT met'}"
    )


async def main_async(args: argparse.Namespace) -> None:
    if args.metrics_cost:
        await metrics_cost(args)
        return
    print(
        f"FastAGI gateway benchmark: flows/billing.ivr, caller script {KEYS} then hang-up; "
        f"{args.calls} calls at concurrency {args.concurrency}, hold {args.hold}"
    )
    ivr, commands = await bench_server("ivrflow", [], args)
    report_agi(ivr, args)
    print(f"  (one call = {len(commands)} AGI commands; the bare server replays them)")
    bare, _ = await bench_server("bare", commands, args)
    report_agi(bare, args)
    ratio = ivr["cps"] / bare["cps"] if bare["cps"] else float("nan")
    slow = bare["cps"] / ivr["cps"] if ivr["cps"] else float("inf")
    print(f"\nivrflow/bare calls/s: {ratio:.2f} (bare is {slow:.2f}x ivrflow)")
    print(
        f"server CPU per call ivrflow/bare: {ivr['cpu_per_call'] / bare['cpu_per_call']:.1f}x "
        "(server process only; calls/s also depends on the load generator sharing the 2 cores)"
    )
    h = ivr["hold"]
    held_ok = h["held"] >= GOAL_HELD and h["errors"] == 0 and h["ok"] == h["n"]
    print(
        f"verdict: {GOAL_HELD} concurrent calls held without error: "
        f"{'met' if held_ok else 'NOT met'} ({h['held']} held, {h['ok']} ok, {h['errors']} errors)"
    )
    print(
        f"verdict: p99 reply→command under {GOAL_P99_MS:.0f} ms at concurrency "
        f"{args.concurrency}: {'met' if ivr['p99'] < GOAL_P99_MS else 'NOT met'} "
        f"({ivr['p99']:.2f} ms; at concurrency {args.light_concurrency}: "
        f"{ivr['light_p99']:.2f} ms; {h['n']} released at once: "
        f"{pct(h['latencies'], 0.99):.2f} ms)"
    )
    print(
        f"verdict: calls/s within {GOAL_RATIO:.0f}x of the bare server: "
        f"{'met' if slow <= GOAL_RATIO else 'NOT met'} ({slow:.2f}x)"
    )
    if not args.skip_webhook:
        await bench_webhook(args)
    print(f"\nPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=10000, help="calls in the throughput phase")
    p.add_argument("--concurrency", type=int, default=100, help="calls at a time (throughput)")
    p.add_argument("--hold", type=int, default=GOAL_HELD, help="calls held live at once")
    p.add_argument("--light-calls", type=int, default=1000, help="calls in the light-load phase")
    p.add_argument("--light-concurrency", type=int, default=10, help="calls at a time (light)")
    p.add_argument("--warmup", type=int, default=100, help="warm-up calls")
    p.add_argument("--requests", type=int, default=3000, help="webhook requests")
    p.add_argument("--webhook-concurrency", type=int, default=50, help="webhook requests at a time")
    p.add_argument("--skip-webhook", action="store_true", help="skip the webhook gateway")
    p.add_argument(
        "--profile", default="", metavar="FILE", help="cProfile the ivrflow server into FILE"
    )
    p.add_argument(
        "--metrics-cost",
        action="store_true",
        help="only measure what --metrics and the call log cost (server CPU per call)",
    )
    p.add_argument("--rounds", type=int, default=6, help="rounds of --metrics-cost")
    args = p.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
