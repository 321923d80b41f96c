"""Write flows/records/*.jsonl: a week of call records from the example flows.

The calls are real: each one runs the interpreter (`ivrflow.testing.Call`) over
flows/*.ivr with their fixtures, and its record is written by the real
`JsonLinesSink`. Only the callers are invented — when they call (busy mornings and
afternoons, quiet nights, a holiday, a short emergency), what they press or say,
when they go silent, press a wrong key or hang up — and so are the host's answers
that a fixture fixes (look-up latency and failures, the transfer's result, the callback
store). The queues are those of flows/models/sample-center.yaml, simulated as the traffic
model does (`SampleQueue`): the EWT the flow is told, who is answered after which wait and
who abandons. A fixed seed makes the files the same on every run:

    .venv/bin/python scripts/make_sample_records.py            # rewrites flows/records/
    .venv/bin/python scripts/make_sample_records.py --out /tmp/r --only billing

`ivrflow report flows/records/*.jsonl` reads them; tests/unit/test_insight_samples.py
checks that this script still reproduces them byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivrflow import model  # noqa: E402
from ivrflow.compiler import load  # noqa: E402
from ivrflow.errors import LookupFailure  # noqa: E402
from ivrflow.host.fixtures import Fixtures, for_flow  # noqa: E402
from ivrflow.host.sinks import JsonLinesSink  # noqa: E402
from ivrflow.runtime import actions as act  # noqa: E402
from ivrflow.runtime import events as ev  # noqa: E402
from ivrflow.tools.testing import Call  # noqa: E402
from ivrflow.traffic.model import load_model  # noqa: E402
from ivrflow.traffic.queue import QueueSpec  # noqa: E402

SEED = 20261116
WEEK_START = dt.date(2026, 11, 16)  # a Monday; Friday 20 is a Brazilian holiday
ZONE = zoneinfo.ZoneInfo("America/Sao_Paulo")
MAX_INPUTS = 80  # a caller who is still in the IVR after this many answers hangs up

# How many calls each flow gets over the week.
VOLUME = {"billing": 1400, "telecom_support": 1100, "bank": 700, "appointments": 500}

# Share of a weekday's calls in each local hour (0–23): a morning peak and an afternoon one.
WEEKDAY_HOURS = [
    *[0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 2.5],  # 00–07
    *[6.0, 9.0, 10.0, 9.0, 6.5, 7.0, 8.5, 8.5],  # 08–15
    *[7.5, 6.5, 5.0, 3.5, 2.5, 1.8, 1.0, 0.5],  # 16–23
]
DAY_WEIGHT = [1.25, 1.1, 1.0, 1.0, 0.6, 0.55, 0.3]  # Monday … Sunday (Friday a holiday)

# The host's side: caller-entered values the fixtures know (and some they do not).
GOOD_ENTRIES: dict[str, list[tuple[str, float]]] = {
    # billing
    "account": [("79927398713", 5), ("12345674", 2), ("49927398716", 1.5), ("4992739872", 1)],
    "card": [("4111111111111111", 6), ("4000000000000002", 2), ("5555555555554444", 1)],
    "card_expiry": [("0829", 3), ("1230", 1)],
    "card_cvv": [("123", 1)],
    "ask_callback_number": [("11987654321", 1)],
    # telecom_support
    "ask_contract": [("202405176", 4), ("12345679", 1)],
    # bank
    "cpf": [("52998224725", 6), ("11144477735", 1), ("39053344705", 1)],
    "pin": [("4821", 6), ("1234", 2)],
    "card_last4": [("1111", 5), ("9999", 1), ("4321", 1)],
    # appointments, and the identity subflow
    "identity_cpf": [("39053344705", 6), ("52998224725", 1)],
    "identity_birth": [("05031987", 6), ("12121990", 1)],
    "preferred_date": [("0903", 3), ("1003", 2), ("1503", 1)],
}
CALLBACK_NUMBER = "11987654321"

# Known callers from the fixtures, drawn more often than strangers, so that look-ups by
# the caller's number find someone; a share of callers withhold their number.
WITHHELD_SHARE = 0.05
KNOWN_SHARE = 0.6
RARE_FIXTURE_ANIS = {"+5511999990000", "anonymous"}  # billing's blocked caller; withheld

# Median look-up latency in ms per function (log-normal around it); the rest: 250 ms.
LATENCY_MS = {"line_test": 6000.0, "pay_with_card": 2500.0, "reboot_modem": 1500.0}
LOOKUP_FAILURE = 0.015  # the host's service is down now and then

# The ACD: the queues of flows/models/sample-center.yaml (agents per hour, AHT, patience),
# simulated as the traffic model simulates them — FCFS in the order calls reach the queue,
# callers leaving when their patience (exponential, that mean) runs out.
CENTER = ROOT / "flows" / "models" / "sample-center.yaml"
# A number transfer's result (the queue's come from the simulation).
TRANSFER_RESULTS = [("answered", 88), ("queued", 4), ("busy", 3), ("noanswer", 3), ("full", 1.5)]
TRANSFER_FAILED = 0.5  # per cent
CALLBACK_STORE_FAILS = 0.02

# A 40-minute emergency closure of the São Paulo office on Wednesday afternoon.
EMERGENCY = (
    dt.datetime(2026, 11, 18, 14, 0, tzinfo=ZONE).timestamp(),
    dt.datetime(2026, 11, 18, 14, 40, tzinfo=ZONE).timestamp(),
)


@dataclass
class Caller:
    """One caller's temper: how likely they are to go silent, fumble or give up."""

    silence: float
    fumble: float
    hangup: float
    speaks: float
    accepts_callback: float


class SampleQueue:
    """One ACD queue: agents on duty by the local hour, each with the calls booked on it.

    Calls reach the queue a little out of order (the script runs them by when they started,
    not by when they left the IVR), so each agent keeps its busy spans and a caller takes the
    first gap long enough for their call: FCFS as the queue itself would serve them.
    """

    def __init__(self, spec: QueueSpec, rng: random.Random) -> None:
        self.spec, self.rng = spec, rng
        agents = max(spec.staffed(h) for h in range(24))
        self.booked: list[list[tuple[float, float]]] = [[] for _ in range(agents)]
        self.waiting: list[tuple[float, float]] = []  # (joined, left the line) of callers

    def on_duty(self, at: float) -> int:
        return self.spec.staffed(dt.datetime.fromtimestamp(at, ZONE).hour)

    def busy(self, agent: int, at: float) -> bool:
        return any(s <= at < e for s, e in self.booked[agent])

    def ewt(self, at: float) -> float:
        """The ACD's estimate, as the traffic model's: callers ahead + 1, times AHT, over the
        agents on duty (an hour when nobody is: an hour)."""
        agents = self.on_duty(at)
        if agents == 0:
            return 3600.0
        ahead = sum(1 for joined, left in self.waiting if joined <= at < left)
        if ahead == 0 and not all(self.busy(i, at) for i in range(agents)):
            return 0.0
        return (ahead + 1) * self.spec.aht / agents

    def _start(self, agent: int, at: float, handle: float) -> float:
        """The first time from `at` when `agent` is on duty and free for `handle` seconds."""
        t = at
        for _ in range(1000):
            if agent >= self.on_duty(t):
                t = (t // 3600 + 1) * 3600  # the next hour (São Paulo's offset is whole hours)
                continue
            clash = next((e for s, e in self.booked[agent] if s < t + handle and t < e), None)
            if clash is None:
                return t
            t = clash
        return math.inf

    def join(self, at: float) -> tuple[str, float]:
        """A caller joins at `at`: ('answered', wait), ('abandoned', wait) or ('busy', 0)."""
        if self.on_duty(at) == 0:
            return "busy", 0.0  # nobody on duty: Asterisk's JOINEMPTY
        patience = self.rng.expovariate(1.0 / (self.spec.patience or math.inf))
        handle = self.rng.expovariate(1.0 / self.spec.aht)
        starts = [self._start(i, at, handle) for i in range(len(self.booked))]
        agent = min(range(len(starts)), key=starts.__getitem__)
        wait = starts[agent] - at
        if wait > patience:
            self.waiting.append((at, at + patience))
            return "abandoned", round(patience, 1)
        self.booked[agent].append((starts[agent], starts[agent] + handle))
        self.waiting.append((at, at + wait))
        return "answered", round(wait, 1)


class HostCall(Call):
    """`Call` with a host that answers like a real one: latencies that vary, a service that
    fails or times out now and then, a queue whose wait follows the hour."""

    def __init__(
        self, flow: model.Flow, rng: random.Random, queues: dict[str, SampleQueue], **options: Any
    ):
        super().__init__(flow, **options)
        self.rng = rng
        self.queues = queues

    def _lookup(self, a: act.Lookup) -> ev.Event:
        name = a.function
        median = LATENCY_MS.get(name, 250.0)
        latency = median * math.exp(self.rng.gauss(0.0, 0.6)) / 1000
        if latency >= a.timeout:
            self.now += a.timeout
            return ev.LookupFailed(self.now, a.request, "timeout", True)
        self.now += latency
        if self.rng.random() < LOOKUP_FAILURE:
            return ev.LookupFailed(self.now, a.request, "service unavailable")
        params = self.flow.functions[name].params if name in self.flow.functions else ()
        try:
            value = self.fixtures.answer(name, params, a.args)
        except LookupFailure as exc:
            return ev.LookupFailed(self.now, a.request, str(exc))
        return ev.LookupResult(self.now, a.request, value)

    def _perform(self, a: act.Action) -> ev.Event | None:
        if isinstance(a, act.GetQueueStatus):
            ewt = round(self.queues[a.queue].ewt(self.now))
            return ev.QueueStatus(self.now, a.queue, float(ewt), max(0, round(ewt / 40)))
        if isinstance(a, act.TransferToQueue):
            queued_at = self.now + 1.0  # the transfer's prompt
            status, wait = self.queues[a.queue].join(queued_at)
            if self.transfer_result == "failed":
                status, wait = "failed", 0.0
            self.now = queued_at + wait
            return ev.TransferResult(self.now, status, wait=wait, queued_at=queued_at)  # type: ignore[arg-type]
        return super()._perform(a)


def pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def arrivals(rng: random.Random, count: int) -> list[float]:
    """`count` arrival times over the week, following the hour and day profiles."""
    slots = [(d, h) for d in range(7) for h in range(24)]
    weights = [DAY_WEIGHT[d] * WEEKDAY_HOURS[h] for d, h in slots]
    out = []
    for d, h in rng.choices(slots, weights, k=count):
        day = WEEK_START + dt.timedelta(days=d)
        start = dt.datetime(day.year, day.month, day.day, h, tzinfo=ZONE)
        out.append(start.timestamp() + rng.uniform(0, 3600))
    return sorted(out)


def callers_for(fixtures: Fixtures, rng: random.Random) -> tuple[str | None, str | None]:
    """An (ani, dnis) pair: a fixture's caller, a stranger, or a withheld number."""
    known = [c for c in fixtures.calls.values() if "ani" in c]
    # A blocked caller or a withheld fixture is rare; the regular callers are not.
    weights = [0.05 if c["ani"] in RARE_FIXTURE_ANIS else 1.0 for c in known]
    main_dnis = known[0]["dnis"] if known else None
    dnis_pool = sorted({c["dnis"] for c in known if "dnis" in c})
    draw = rng.random()
    if draw < WITHHELD_SHARE:
        ani: str | None = "anonymous"
    elif draw < WITHHELD_SHARE + KNOWN_SHARE and known:
        ani = rng.choices(known, weights)[0]["ani"]
    else:
        area = rng.choice(["11", "11", "11", "21", "19", "31", "41", "51", "61", "71"])
        ani = f"+55{area}9{rng.randrange(10_000_000, 100_000_000)}"
    # Most dial the main number; the rest, the flow's other numbers.
    dnis = main_dnis if len(dnis_pool) < 2 or rng.random() < 0.85 else rng.choice(dnis_pool)
    return ani, dnis


def wrong_entry(rng: random.Random, cap: model.Capture) -> str:
    """Digits that will not do: too short, or the right length but failing the check."""
    if rng.random() < 0.4 and cap.min_digits > 1:
        n = rng.randint(1, cap.min_digits - 1)
    else:
        n = rng.randint(cap.min_digits, cap.max_digits)
    return "".join(rng.choice("0123456789") for _ in range(n))


def answer(call: HostCall, caller: Caller, rng: random.Random) -> None:
    """What the caller does at the question the IVR is asking now."""
    session = call.session
    state = call.flow.states[session.state]
    phase = session.phase
    roll = rng.random()
    if roll < caller.hangup:
        call.hangup()
        return
    if roll < caller.hangup + caller.silence:
        call.wait()
        return
    fumble = rng.random() < caller.fumble
    listening = call.listening
    speech = listening is not None and "speech" in listening.kinds
    if phase in ("capture_confirm", "offer_confirm", "did_you_say"):
        call.press("2" if fumble else "1")
    elif phase == "offer":
        offer: model.CallbackOffer = state  # type: ignore[assignment]
        if fumble:
            call.press("7")
        elif rng.random() < caller.accepts_callback:
            call.press(offer.accept[0])
        else:
            call.press(offer.decline[0])
    elif phase == "offer_number":
        call.press(("119" if fumble else CALLBACK_NUMBER) + "#")
    elif phase == "capture" and session.buffer:
        call.wait()  # a short entry with no terminator: the inter-digit timeout ends it
    elif phase == "capture":
        cap: model.Capture = state  # type: ignore[assignment]
        pool = GOOD_ENTRIES.get(cap.name)
        value = wrong_entry(rng, cap) if fumble or not pool else pick(rng, pool)
        end = cap.terminator if cap.terminator and len(value) < cap.max_digits else ""
        call.press(value + (end or ""))
    elif isinstance(state, model.Menu):
        choices = [c for c in state.choices if c.keys != ("*",)]
        if fumble:
            used = {k for c in state.choices for k in c.keys}
            call.press(next((k for k in "7854632190#" if k not in used), "#"))
            return
        # Earlier choices are the popular ones; "*" (repeat) is rare.
        weights = [1.0 / (i + 1) for i in range(len(choices))]
        choice = rng.choices(choices, weights)[0]
        # A voice-first menu invites speech; elsewhere some callers speak anyway.
        speaks = 0.8 if "voice" in state.name else caller.speaks
        if speech and choice.phrases and rng.random() < speaks:
            call.say(rng.choice(choice.phrases), confidence=round(rng.uniform(0.45, 1.0), 2))
        else:
            call.press(choice.keys[0] if choice.keys else "1")
    else:
        call.wait()


def one_call(
    flow: model.Flow,
    fixtures: Fixtures,
    at: float,
    n: int,
    rng: random.Random,
    queues: dict[str, SampleQueue],
) -> Any:
    ani, dnis = callers_for(fixtures, rng)
    patient = rng.random() < 0.7
    caller = Caller(
        silence=0.04 if patient else 0.1,
        fumble=0.05 if patient else 0.12,
        hangup=0.015 if patient else 0.06,
        speaks=0.25,
        accepts_callback=0.65,
    )
    result = pick(rng, [(r, w) for r, w in TRANSFER_RESULTS])
    if rng.random() * 100 < TRANSFER_FAILED:
        result = "failed"
    call = HostCall(
        flow,
        rng,
        queues,
        ani=ani,
        dnis=dnis,
        at=at,
        fixtures=fixtures,
        emergency={"office"} if EMERGENCY[0] <= at < EMERGENCY[1] else set(),
        transfer_result=result,
        callback_store="fail" if rng.random() < CALLBACK_STORE_FAILS else "memory",
        seed=rng.randrange(1, 2**31),
        call_id=f"{flow.name}-{n:05d}",
    )
    call.start()
    for _ in range(MAX_INPUTS):
        if call.ended:
            break
        answer(call, caller, rng)
    if not call.ended:
        call.hangup()
    return call.record


def generate(name: str, out_dir: Path) -> Path:
    flow = load(ROOT / "flows" / f"{name}.ivr")
    fixtures = for_flow(flow)
    rng = random.Random(f"{SEED}-{name}")
    center = load_model(CENTER).queues
    queues = {q: SampleQueue(center[q], random.Random(f"{SEED}-{q}")) for q in flow.queues}
    records = [
        one_call(flow, fixtures, at, n, rng, queues)
        for n, at in enumerate(arrivals(rng, VOLUME[name]), 1)
    ]
    records.sort(key=lambda r: (r["ended_at"], r["call_id"]))  # a sink writes as calls end
    path = out_dir / f"{name}.jsonl"
    path.unlink(missing_ok=True)
    sink = JsonLinesSink(path, fsync=False)
    for record in records:
        sink.write(record)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "flows" / "records")
    p.add_argument("--only", choices=sorted(VOLUME), action="append")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or sorted(VOLUME):
        path = generate(name, args.out)
        print(f"{path}: {VOLUME[name]} records, {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
