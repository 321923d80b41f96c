"""The dispatcher end to end over HTTP on 127.0.0.1 (issue 14): stored requests → the REST
dialer → the Twilio stand-in (Twilio's documented request and callback sequence) → our
webhook running flows/callback_invoice.ivr → attempts recorded in the store, once each."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp import web  # noqa: E402
from postgres_lab import Cluster  # noqa: E402
from twilio_standin import Phone, TwilioStandIn, start  # noqa: E402

from ivrflow.host.callback_lifecycle import LifecycleStore  # noqa: E402
from ivrflow.host.callback_rules import RetryPolicy  # noqa: E402
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore  # noqa: E402
from ivrflow.host.dispatcher import Dispatcher, attempt_recorder  # noqa: E402
from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.gateways.rest_dialer import RestDialer, outcome_of_status  # noqa: E402
from ivrflow.host.gateways.webhook import WebhookConfig, WebhookGateway  # noqa: E402
from ivrflow.host.sinks import MemorySink  # noqa: E402

FLOWS = Path(__file__).resolve().parents[2] / "flows"
MONDAY_MORNING = dt.datetime(2026, 12, 7, 13, 30, tzinfo=dt.UTC).timestamp()  # 10:30 local
SID, TOKEN, WEBHOOK_TOKEN = "AC" + "1" * 32, "api-secret", "hook-secret"

PHONES = {
    "+5511900000001": Phone("human", ["1"]),  # "speak to an agent now"
    "+5511900000002": Phone("human", ["2"]),  # "call me later"
    "+5511900000003": Phone("busy"),
    "+5511900000004": Phone("no-answer"),
    "+5511900000005": Phone("machine"),
    "+5511900000006": Phone("failed"),
    "+5511900000007": Phone("human", []),  # answers and says nothing
}


class Lab:
    def __init__(self, store: LifecycleStore, standin: TwilioStandIn, engine: Engine, dialer: Any):
        self.store, self.standin, self.engine, self.dialer = store, standin, engine, dialer

    def dispatcher(self, **kw: Any) -> Dispatcher:
        return Dispatcher(self.store, self.dialer, owner="test", clock=lambda: MONDAY_MORNING, **kw)

    async def settled(self, call_ids: list[str], timeout: float = 20.0) -> None:
        """Wait until every attempt of these requests has its outcome."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            entries = [self.store.entry(c) for c in call_ids]
            if all(e and e.history and all(a.outcome for a in e.history) for e in entries):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not settled: {entries}")
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def open_lab(
    tmp_path: Path,
    store: LifecycleStore | None = None,
    phones: Callable[[str], Phone] | None = None,
) -> AsyncIterator[Lab]:
    policy = RetryPolicy(retry_delay=600, max_attempts=3)
    store = store or SQLiteCallbackStore(tmp_path / "callbacks.db", policy=policy)
    engine = Engine(records=MemorySink(), callbacks=store)
    engine.on_finish.append(attempt_recorder(store))
    gateway = WebhookGateway(
        engine,
        WebhookConfig(flows_dir=FLOWS, auth_token=WEBHOOK_TOKEN, clock=lambda: MONDAY_MORNING),
    )
    hook = web.AppRunner(gateway.app())
    await hook.setup()
    site = web.TCPSite(hook, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    phones = phones or (lambda n: PHONES.get(n, Phone()))
    standin = TwilioStandIn(SID, TOKEN, phones, sign_with=WEBHOOK_TOKEN)
    api, api_url = await start(standin)
    dialer = RestDialer(SID, TOKEN, "+551140040000", hook_url, "callback_invoice", base_url=api_url)
    yield Lab(store, standin, engine, dialer)
    await dialer.close()
    await api.cleanup()
    await hook.cleanup()
    store.close()


@pytest.fixture
def with_lab(tmp_path: Path) -> Callable[[Callable[[Lab], Awaitable[None]]], None]:
    """Runs a test body against a fresh lab, on its own event loop."""

    def run(body: Callable[[Lab], Awaitable[None]]) -> None:
        async def main() -> None:
            async with open_lab(tmp_path) as lab:
                await body(lab)

        asyncio.run(main())

    return run


WithLab = Callable[[Callable[[Lab], Awaitable[None]]], None]


def stored(
    store: LifecycleStore, n: int, number: str, at: float = MONDAY_MORNING - 600, **extra: Any
) -> str:
    call_id = f"in-{n}"
    store.store(CallbackRequest(call_id, number, "billing", number, None, at, "billing", extra))
    return call_id


def test_each_kind_of_answer_is_recorded_once_as_its_outcome(with_lab: WithLab) -> None:
    with_lab(_test_each_kind_of_answer_is_recorded_once_as_its_outcome)


async def _test_each_kind_of_answer_is_recorded_once_as_its_outcome(lab: Lab) -> None:
    ids = [stored(lab.store, n, number, priority=10) for n, number in enumerate(PHONES)]
    dispatcher = lab.dispatcher()
    assert await dispatcher.run_once() == len(PHONES)
    await dispatcher.drain()
    await lab.settled(ids)
    outcomes = {}
    for call_id in ids:
        e = lab.store.entry(call_id)
        assert e is not None and len(e.history) == 1
        outcomes[e.request.number] = (e.history[0].outcome, e.state)
    assert outcomes == {
        "+5511900000001": ("answered", "completed"),
        "+5511900000002": ("later", "pending"),
        "+5511900000003": ("busy", "pending"),
        "+5511900000004": ("no_answer", "pending"),
        "+5511900000005": ("machine", "pending"),
        "+5511900000006": ("failed", "pending"),
        "+5511900000007": ("hung_up", "pending"),
    }
    assert lab.standin.creates == len(PHONES)  # each dialled once
    # The records of the outbound calls that ran the flow; a machine gets none.
    records = {r["dnis"]: r for r in lab.engine.records.records}
    assert set(records) == {"+5511900000001", "+5511900000002", "+5511900000007"}
    agent = records["+5511900000001"]
    assert agent["outcome"]["kind"] == "transferred" and agent["outcome"]["queue"] == "billing"
    assert records["+5511900000002"]["outcome"]["reason"] == "callback_later"


def test_the_request_sequence_is_twilios(with_lab: WithLab) -> None:
    with_lab(_test_the_request_sequence_is_twilios)


async def _test_the_request_sequence_is_twilios(lab: Lab) -> None:
    call_id = stored(lab.store, 1, "+5511900000001", priority=10)
    dispatcher = lab.dispatcher()
    await dispatcher.run_once()
    await dispatcher.drain()
    await lab.settled([call_id])
    (call,) = lab.standin.calls.values()
    create = call.form
    assert create["To"] == "+5511900000001" and create["From"] == "+551140040000"
    assert create["MachineDetection"] == "Enable" and create["StatusCallbackMethod"] == "POST"
    assert "/voice/callback_invoice?cb=in-1~1&priority=10" in create["Url"]
    steps = [(url.split("?")[0].rsplit("/", 1)[-1], form) for url, form in call.requests]
    assert [s[0] for s in steps] == ["callback_invoice", "callback_invoice", "callback_invoice",
                                     "callback-status"]  # fmt: skip
    assert steps[0][1]["AnsweredBy"] == "human" and "Digits" not in steps[0][1]
    assert steps[1][1]["Digits"] == "1"
    assert steps[2][1]["QueueResult"] == "bridged"
    assert steps[3][1]["CallStatus"] == "completed"
    assert call.queued == "billing"
    assert any("returning your call about your invoice" in s for s in call.said)
    e = lab.store.entry(call_id)
    assert e is not None and e.history[0].reference == call.sid


def test_an_api_outage_releases_the_claim_and_counts_nothing(with_lab: WithLab) -> None:
    with_lab(_test_an_api_outage_releases_the_claim_and_counts_nothing)


async def _test_an_api_outage_releases_the_claim_and_counts_nothing(lab: Lab) -> None:
    call_id = stored(lab.store, 1, "+5511900000001")
    lab.standin.down = True
    dispatcher = lab.dispatcher()
    await dispatcher.run_once()
    await dispatcher.drain()
    e = lab.store.entry(call_id)
    assert e is not None and (e.state, e.attempts, e.history) == ("pending", 0, ())
    assert e.last_outcome is not None and "503" in e.last_outcome
    assert dispatcher.stats.released == 1


def test_an_adopted_attempt_is_asked_about_not_dialled_again(with_lab: WithLab) -> None:
    with_lab(_test_an_adopted_attempt_is_asked_about_not_dialled_again)


async def _test_an_adopted_attempt_is_asked_about_not_dialled_again(lab: Lab) -> None:
    call_id = stored(lab.store, 1, "+5511900000003")
    (claim,) = lab.store.claim("dead", MONDAY_MORNING)
    reference = await lab.dialer.place(claim)  # the dead dispatcher placed it …
    lab.store.set_reference(call_id, 1, reference)  # … and kept its reference, then died
    for _ in range(100):
        if lab.standin.calls[reference].status == "busy":
            break
        await asyncio.sleep(0.02)
    await lab.settled([call_id])
    e = lab.store.entry(call_id)
    assert e is not None and e.history[0].outcome == "busy"


def test_adoption_asks_the_api_when_the_status_callback_was_lost(with_lab: WithLab) -> None:
    with_lab(_test_adoption_asks_the_api_when_the_status_callback_was_lost)


async def _test_adoption_asks_the_api_when_the_status_callback_was_lost(lab: Lab) -> None:
    lab.standin.calls.clear()
    call_id = stored(lab.store, 1, "+5511900000004")
    (claim,) = lab.store.claim("dead", MONDAY_MORNING - 500)
    sid = "CA" + "f" * 32
    from twilio_standin import Call

    lab.standin.calls[sid] = Call(sid, {"To": "+5511900000004", "From": "x"}, status="no-answer")
    lab.store.set_reference(call_id, 1, sid)
    dispatcher = lab.dispatcher()  # its clock is past the dead one's lease
    assert await dispatcher.run_once() == 1
    await dispatcher.drain()
    e = lab.store.entry(call_id)
    assert e is not None and e.history[0].outcome == "no_answer"
    assert "adopted by test" in (e.history[0].detail or "")
    assert lab.standin.creates == 0 and dispatcher.stats.adopted == 1


def test_a_call_placed_but_not_written_down_is_found_by_number_and_time(
    with_lab: WithLab,
) -> None:
    with_lab(_test_a_call_placed_but_not_written_down_is_found_by_number_and_time)


async def _test_a_call_placed_but_not_written_down_is_found_by_number_and_time(lab: Lab) -> None:
    lab.standin.lose_status_callbacks = True
    import time as clock

    call_id = stored(lab.store, 1, "+5511900000003", at=clock.time() - 600)
    (claim,) = lab.store.claim("dead", clock.time() - 200)  # its lease ran out long ago
    await lab.dialer.place(claim)  # placed; the dispatcher died before keeping the sid
    while next(iter(lab.standin.calls.values())).status != "busy":
        await asyncio.sleep(0.02)
    dispatcher = Dispatcher(lab.store, lab.dialer, owner="test")
    assert await dispatcher.run_once() == 1
    await dispatcher.drain()
    e = lab.store.entry(call_id)
    assert e is not None and e.history[0].outcome == "busy"
    assert lab.standin.creates == 1


def test_twilio_statuses_map_to_outcomes() -> None:
    table: dict[tuple[str, str | None], Any] = {
        ("ringing", None): "active", ("in-progress", "human"): "active",
        ("completed", "human"): "hung_up", ("completed", "machine_end_beep"): "machine",
        ("busy", None): "busy", ("no-answer", None): "no_answer", ("failed", None): "failed",
        ("canceled", None): "failed", ("nonsense", None): None,
    }  # fmt: skip
    for (status, answered_by), outcome in table.items():
        assert outcome_of_status(status, answered_by) == outcome, status


def test_a_locked_database_stops_claiming_and_nothing_is_lost(tmp_path: Path) -> None:
    """The database locked by another process beyond the busy timeout: the pass claims
    nothing and says so; once the lock goes, the same request is claimed — once."""
    import sqlite3

    db = tmp_path / "callbacks.db"
    store = SQLiteCallbackStore(db, timeout=0.05)
    stored(store, 1, "+5511900000003")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    class NoDialer:
        placed = 0

        async def place(self, claim: Any) -> str:
            NoDialer.placed += 1
            return "CA1"

        async def status(self, claim: Any) -> None:
            return None

        async def close(self) -> None:
            pass

    dispatcher = Dispatcher(store, NoDialer(), owner="t", clock=lambda: MONDAY_MORNING)

    async def passes() -> tuple[int, int]:
        locked = await dispatcher.run_once()
        holder.execute("ROLLBACK")
        free = await dispatcher.run_once()
        await dispatcher.drain()
        return locked, free

    assert asyncio.run(passes()) == (0, 1)
    assert dispatcher.stats.errors == 1 and NoDialer.placed == 1
    e = store.entry("in-1")
    assert e is not None and e.state == "dialing" and e.history[0].reference == "CA1"
    holder.close()
    store.close()


def test_undecided_detection_runs_the_flow_as_a_person(with_lab: WithLab) -> None:
    with_lab(_test_undecided_detection_runs_the_flow_as_a_person)


async def _test_undecided_detection_runs_the_flow_as_a_person(lab: Lab) -> None:
    """Twilio's AnsweredBy=unknown (detection timed out) is not a machine: the flow runs."""
    PHONES["+5511900000008"] = Phone("unknown", ["1"])
    try:
        call_id = stored(lab.store, 8, "+5511900000008")
        dispatcher = lab.dispatcher()
        await dispatcher.run_once()
        await dispatcher.drain()
        await lab.settled([call_id])
    finally:
        del PHONES["+5511900000008"]
    (call,) = lab.standin.calls.values()
    assert call.requests[0][1]["AnsweredBy"] == "unknown"
    e = lab.store.entry(call_id)
    assert e is not None and (e.state, e.history[0].outcome) == ("completed", "answered")


def test_call_progress_events_are_answered_and_the_attempt_recorded_once(
    with_lab: WithLab,
) -> None:
    with_lab(_test_call_progress_events_are_answered_and_the_attempt_recorded_once)


async def _test_call_progress_events_are_answered_and_the_attempt_recorded_once(lab: Lab) -> None:
    """All four StatusCallbackEvent values asked for: initiated, ringing, answered
    (in-progress) and completed reach the webhook in order; only the end is an outcome."""
    lab.dialer.status_events = ("initiated", "ringing", "answered", "completed")
    busy = stored(lab.store, 3, "+5511900000003")
    agent = stored(lab.store, 1, "+5511900000001")
    dispatcher = lab.dispatcher()
    assert await dispatcher.run_once() == 2
    await dispatcher.drain()
    await lab.settled([busy, agent])
    sequences = {}
    for call in lab.standin.calls.values():
        progress = [f for url, f in call.requests if "/callback-status" in url]
        assert [f["SequenceNumber"] for f in progress] == [str(i) for i in range(len(progress))]
        assert {f["CallbackSource"] for f in progress} == {"call-progress-events"}
        sequences[call.form["To"]] = [f["CallStatus"] for f in progress]
    assert sequences == {
        "+5511900000003": ["initiated", "ringing", "busy"],
        "+5511900000001": ["initiated", "ringing", "in-progress", "completed"],
    }
    for call_id, outcome in ((busy, "busy"), (agent, "answered")):
        e = lab.store.entry(call_id)
        assert e is not None and [a.outcome for a in e.history] == [outcome], e


def test_twilio_accepts_only_its_machine_detection_modes(with_lab: WithLab) -> None:
    with_lab(_test_twilio_accepts_only_its_machine_detection_modes)


async def _test_twilio_accepts_only_its_machine_detection_modes(lab: Lab) -> None:
    """The stand-in refuses what Twilio refuses (the dialer's `Enable` is one of its two)."""
    call_id = stored(lab.store, 5, "+5511900000005")
    form = lab.dialer.form
    lab.dialer.form = lambda claim: {**form(claim), "MachineDetection": "Enabled"}
    dispatcher = lab.dispatcher()
    await dispatcher.run_once()
    await dispatcher.drain()
    e = lab.store.entry(call_id)
    assert e is not None and e.history[0].outcome == "failed", e  # a 400: this attempt failed
    assert "Invalid MachineDetection" in (e.history[0].detail or ""), e


@pytest.mark.postgres
def test_the_database_down_mid_run_loses_nothing_and_dials_nothing_twice(
    own_postgres: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL stopped (immediate) while three calls ring: the dispatcher keeps polling,
    fails to claim and counts it; once the database is back the calls' ends are recorded and
    two requests stored since are dialled: five requests, five calls, each once."""
    import logging
    import time

    from ivrflow.host.callback_postgres import PostgresCallbackStore

    store = PostgresCallbackStore(
        own_postgres.dsn, policy=RetryPolicy(retry_delay=600, max_attempts=3), connect_timeout=1
    )
    numbers = [f"+55119777700{n:02d}" for n in range(1, 6)]

    async def main() -> None:
        phones = lambda n: Phone("human", ["1"], ring=6.0)  # noqa: E731
        async with open_lab(tmp_path, store, phones) as lab:
            ids = [stored(store, n, number) for n, number in enumerate(numbers[:3])]
            started = time.monotonic()
            dispatcher = Dispatcher(
                store, lab.dialer, owner="test", poll=0.2,
                clock=lambda: MONDAY_MORNING + time.monotonic() - started,
            )  # fmt: skip
            stop = asyncio.Event()
            running = asyncio.ensure_future(dispatcher.run(stop))
            while lab.standin.creates < 3:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(own_postgres.stop)
            down_at = dispatcher.stats.errors
            await asyncio.sleep(1.5)  # the loop goes on, and fails to claim
            assert not running.done()
            assert dispatcher.stats.errors > down_at, dispatcher.stats
            assert lab.standin.creates == 3  # nothing claimed, nothing dialled meanwhile
            await asyncio.to_thread(own_postgres.start)
            ids += [stored(store, n, number) for n, number in enumerate(numbers[3:], start=3)]
            await lab.settled(ids, timeout=30)
            stop.set()
            await running
            assert lab.standin.creates == len(numbers), lab.standin.creates  # each dialled once
            for call_id in ids:
                e = store.entry(call_id)
                assert e is not None and e.state == "completed", e
                assert [a.outcome for a in e.history] == ["answered"], e

    with caplog.at_level(logging.ERROR, logger="ivrflow.callbacks"):
        asyncio.run(main())
    assert any("cannot claim" in r.getMessage() for r in caplog.records), caplog.text
    store.close()
