"""`kill -9` of a real `ivrflow callbacks run` mid-attempt, then a restart (issue 14).

The Twilio stand-in and the webhook run here on 127.0.0.1; the dispatcher is a child process.
The customers' phones ring for a second and are busy. The dispatcher is killed while calls
ring (some placed, some only claimed); the calls go on, their status callbacks reach the
webhook, which records them. The restarted dispatcher adopts what the dead one held once its
lease runs out, then dials what is due. In the end: no request lost, none ever had two calls
at once, and each attempt has exactly one outcome — a placed call's real one, `interrupted`
only for a claim that was never placed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from aiohttp import web  # noqa: E402
from twilio_standin import Phone, TwilioStandIn, start  # noqa: E402

from ivrflow.host.callback_rules import RetryPolicy  # noqa: E402
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore  # noqa: E402
from ivrflow.host.dispatcher import attempt_recorder  # noqa: E402
from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.gateways.webhook import WebhookConfig, WebhookGateway  # noqa: E402

pytestmark = pytest.mark.fault

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SID, TOKEN = "AC" + "3" * 32, "kill-test-token"
REQUESTS = 16
POLICY = ["--retry-delay", "1", "--max-attempts", "2", "--lease", "3"]


class Overlaps(TwilioStandIn):
    """The stand-in, counting creates for a number that already has a call going."""

    overlaps = 0

    async def create(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if any(c.form.get("To") == form.get("To") and c.status in ("queued", "ringing",
               "in-progress") for c in self.calls.values()):  # fmt: skip
            self.overlaps += 1
        return await super().create(request)


async def dispatcher(db: Path, api: str, hook: str) -> asyncio.subprocess.Process:
    env = dict(os.environ, TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ivrflow", "callbacks", "run", "--store", str(db),
        "--from", "+551140040000", "--webhook-url", hook, "--outbound-flow", "callback_invoice",
        "--api-url", api, "--poll", "0.1", "--batch", "3", *POLICY,
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def scenario(tmp: Path) -> None:
    db = tmp / "callbacks.db"
    policy = RetryPolicy(retry_delay=1, max_attempts=2, lease=3)
    store = SQLiteCallbackStore(db, policy=policy)
    now = time.time()
    for n in range(REQUESTS):
        number = f"+55119{n:08d}"
        store.store(CallbackRequest(f"in-{n}", number, "billing", None, None, now - 60, "billing"))
    engine = Engine(callbacks=store)
    engine.on_finish.append(attempt_recorder(store))
    hook_runner = web.AppRunner(WebhookGateway(engine, WebhookConfig(flows_dir=FLOWS)).app())
    await hook_runner.setup()
    site = web.TCPSite(hook_runner, "127.0.0.1", 0)
    await site.start()
    hook = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    standin = Overlaps(SID, TOKEN, lambda number: Phone("busy", ring=1.0))
    api_runner, api = await start(standin)
    try:
        first = await dispatcher(db, api, hook)
        deadline = time.monotonic() + 30
        while standin.creates < 5:
            assert time.monotonic() < deadline, "the dispatcher placed nothing"
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # mid-attempt: calls ringing, claims held
        await first.wait()
        killed_at = standin.creates
        second = await dispatcher(db, api, hook)
        try:
            deadline = time.monotonic() + 60
            while True:
                entries = store.entries(limit=REQUESTS)
                if all(e.state == "exhausted" for e in entries):
                    break
                assert time.monotonic() < deadline, [(e.request.call_id, e.state) for e in entries]
                await asyncio.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()
        assert len(entries) == REQUESTS  # none lost
        assert standin.overlaps == 0  # never two calls to one customer at once
        placed_by_number: dict[str, int] = {}
        for call in standin.calls.values():
            placed_by_number[call.form["To"]] = placed_by_number.get(call.form["To"], 0) + 1
        interrupted = 0
        for e in entries:
            full = store.entry(e.request.call_id)
            assert full is not None and [a.number for a in full.history] == [1, 2]
            outcomes = [a.outcome for a in full.history]
            assert all(o in ("busy", "interrupted") for o in outcomes), outcomes
            interrupted += outcomes.count("interrupted")
            # each placed call has its real outcome; only never-placed claims are interrupted
            assert outcomes.count("busy") == placed_by_number.get(e.request.number, 0)
        assert killed_at >= 5 and standin.creates == 2 * REQUESTS - interrupted
    finally:
        await api_runner.cleanup()
        await hook_runner.cleanup()
        store.close()


def test_kill_9_mid_attempt_loses_nothing_and_dials_nothing_twice(tmp_path: Path) -> None:
    asyncio.run(scenario(tmp_path))
