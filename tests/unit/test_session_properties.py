"""Property tests of the interpreter over every shipped flow (issue 3).

For any sequence of random events — keys (valid or not), utterances (phrases, near-misses,
garbage), no-inputs, hang-ups, look-up answers to the pending request or to another one,
queue status, transfer results, callback store results — at times that mostly move forward
and sometimes back:

- `send` never raises;
- once the caller goes silent, the call ends within a bounded number of events;
- there is exactly one record, with a valid outcome;
- a snapshot taken after any step, restored through JSON, continues with the same actions and
  ends with the same record as the call that was never interrupted.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ivrflow
from ivrflow import model
from ivrflow.errors import LookupFailure
from ivrflow.host.fixtures import Fixtures, for_flow
from ivrflow.model.validators import BUILTIN
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.record import OUTCOMES, Listener
from ivrflow.runtime.session import Session

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
FLOW_NAMES = sorted(p.name for p in FLOWS_DIR.glob("*.ivr"))
FLOWS: dict[str, model.Flow] = {name: ivrflow.load(FLOWS_DIR / name) for name in FLOW_NAMES}
FIXTURES: dict[str, Fixtures] = {name: for_flow(flow) for name, flow in FLOWS.items()}

SILENT_LIMIT = 60  # events a silent caller may take before the call must have ended
KEY = b"property-test-key-0123456789abcdef"
WAITS = (act.Collect, act.Lookup, act.GetQueueStatus, act.TransferToQueue, act.TransferToDestination,
         act.StoreCallback, act.Record)  # fmt: skip

STARTS = [
    1795525200.0,  # Tue 2026-11-24 10:00 São Paulo: open
    1795561200.0,  # Tue 2026-11-24 20:00: just closed
    1795748400.0,  # Thu 2026-11-26 14:00: Thanksgiving in the US
    1795834800.0,  # Fri 2026-11-27 14:00: US closes early
    1796007600.0,  # Sun 2026-11-29 14:00: closed
    1798196400.0,  # Fri 2026-12-25 10:00: Christmas
    1795500000.0,  # Tue 2026-11-24 03:00: night
]
CALLERS = [
    ("+5511912345678", "+551130030001"),
    ("+5511987654321", "+551130030001"),
    ("+5511999990000", "+551130030001"),
    ("anonymous", "+551130030001"),
    (None, None),
    ("+13055550199", "+18885550142"),
    ("(11) 91234-5678", "1130030002"),
    ("sip:garbage@pbx", "x"),
]


def _phrases() -> list[str]:
    found: set[str] = set()
    for flow in FLOWS.values():
        for state in flow.states.values():
            for choice in getattr(state, "choices", ()):
                found.update(choice.phrases)
            found.update(p for p in getattr(state, "accept", ()) if len(p) > 1)
            found.update(p for p in getattr(state, "decline", ()) if len(p) > 1)
    return sorted(found)


PHRASES = _phrases()
NEAR_MISSES = [p[:-1] + "x" for p in PHRASES[:20]] + [p.upper() + "!" for p in PHRASES[:10]]
GARBAGE = ["", " ", "???", "uh", "asdfgh qwerty", "\x00\x01", "🙂", "a" * 2000, "1 2 3 4 5 6 7 8",
           "one two three four five six seven eight nine zero", "sim", "não", "yes", "no",
           "um dois três", "star", "pound"]  # fmt: skip
UTTERANCES = PHRASES + NEAR_MISSES + GARBAGE
LOOKUP_VALUES: list[Any] = [
    {},
    None,
    [],
    "text",
    {"balance": 0, "status": "ok", "due": "2026-12-10"},
    {"balance": -1e20, "status": "late", "verified": True, "first_name": "Ana"},
    {"status": "approved", "authorization": "123456", "destination": "x"},
]


def _entries() -> list[str]:
    """Digits the fixtures know (contracts, CPFs, cards, PINs…), plus a few dates."""
    found = {"05031987", "0829", "123", "4821", "0903", "11987654321", "1234"}
    for fixtures in FIXTURES.values():
        for rules in fixtures.lookups.values():
            for rule in rules:
                found.update(v for v in rule.when.values() if str(v).isdigit())
    return sorted(found)


ENTRIES = _entries()

keys = st.one_of(
    st.sampled_from(["0", "1", "2", "3", "9", "*", "#"]),
    st.sampled_from(ENTRIES).map(lambda k: k + "#"),
    st.text(alphabet="0123456789*#aZ ", max_size=20),
)
SPEC_KINDS = ["smart"] * 30 + [
    "keys", "keys", "speak", "noinput", "noinput", "hangup", "lookup_ok", "lookup_fail", "queue",
    "transfer", "stored",
]  # fmt: skip
event_spec = st.tuples(
    st.sampled_from(SPEC_KINDS),
    st.integers(0, 1000),
    keys,
    st.booleans(),
    st.booleans(),
)
delta = st.one_of(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(-30, 0))
script_st = st.lists(st.tuples(event_spec, delta), min_size=5, max_size=40)


@dataclass
class Run:
    """One call: every batch of actions (as dicts), the record, how many records were made."""

    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] = field(default_factory=list)


class Counter(Listener):
    def __init__(self, run: Run) -> None:
        self.run = run

    def ended(self, session: Session, record: dict[str, Any]) -> None:
        self.run.records.append(record)


def _fits(capture: model.Capture, entry: str) -> bool:
    if not capture.min_digits <= len(entry) <= capture.max_digits:
        return False
    return all(BUILTIN[v.name].func(entry, *v.args) for v in capture.validators)


def _answer(session: Session, flow: str, waiting: act.Action | None, r: int, at: float) -> Any:
    """A sensible reply to what the session waits for: a menu's key, a known entry…"""
    fixtures = FIXTURES[flow]
    if isinstance(waiting, act.Lookup):
        try:
            value = fixtures.function(FLOWS[flow], waiting.function)(*waiting.args)
        except LookupFailure as exc:
            return ev.LookupFailed(at, waiting.request, str(exc))
        return ev.LookupResult(at, waiting.request, value)
    if isinstance(waiting, act.GetQueueStatus):
        ewt, position = fixtures.queue_status(waiting.queue)
        return ev.QueueStatus(at, waiting.queue, ewt if r % 3 else 20, position)
    if isinstance(waiting, act.TransferToQueue | act.TransferToDestination):
        return ev.TransferResult(at, ("answered", "busy", "full", "noanswer", "failed")[r % 5])
    if isinstance(waiting, act.StoreCallback):
        return ev.CallbackStored(at, f"ref-{r}") if r % 4 else ev.CallbackFailed(at, "down")
    if isinstance(waiting, act.Record):
        ended = ("key", "silence", "max", "hangup")[r % 4]
        if r % 5 == 4:
            return ev.RecordFailed(at, waiting.request, "disk full")
        return ev.Recorded(at, waiting.request, f"rec-{r}.wav", float(r % 30), ended, "oi")
    state = FLOWS[flow].states.get(session.state)
    if isinstance(state, model.Menu) and session.phase == "menu" and state.choices:
        choice = state.choices[r % len(state.choices)]
        if choice.sequences and state.entry is not None and (r % 2 or not choice.keys):
            owned = [e for i, e in state.entry.examples().items()
                     if state.entry.owners[i] == state.choices.index(choice)]  # fmt: skip
            return ev.Digits(at, owned[r % len(owned)].keys, terminated=True)
        if choice.keys and (r % 4 or not choice.phrases):
            return ev.Digits(at, choice.keys[0])
        return ev.Utterance(at, choice.phrases[r % len(choice.phrases)], (1.0, 0.3)[r % 2])
    if isinstance(state, model.Capture) and session.phase == "capture":
        fitting = [e for e in ENTRIES if _fits(state, e)] or ENTRIES
        entry = fitting[r % len(fitting)]
        return ev.Digits(at, entry + (state.terminator or ""), bool(r % 2))
    if isinstance(state, model.CallbackOffer) and session.phase == "offer":
        return ev.Digits(at, (state.accept + state.decline)[r % 2][:1] or "1")
    return ev.Digits(at, "12"[r % 2])


def _event(
    spec: tuple[Any, ...], at: float, waiting: act.Action | None, flow: str, session: Session
) -> Any:
    kind, r, text, flag, other_flag = spec
    if kind == "smart":
        return _answer(session, flow, waiting, r, at)
    if kind == "keys":
        return ev.Digits(at, text, flag)
    if kind == "speak":
        return ev.Utterance(at, UTTERANCES[r % len(UTTERANCES)], (1.0, 0.9, 0.3)[r % 3])
    if kind == "noinput":
        return ev.NoInput(at)
    if kind == "hangup":
        return ev.Hangup(at)
    if kind in ("lookup_ok", "lookup_fail"):
        pending = waiting.request if isinstance(waiting, act.Lookup) else "c1:1"
        request = pending if flag else pending + "-stale"
        if kind == "lookup_fail":
            return ev.LookupFailed(at, request, "back end down", timed_out=other_flag)
        return ev.LookupResult(at, request, LOOKUP_VALUES[r % len(LOOKUP_VALUES)])
    if kind == "queue":
        queue = waiting.queue if isinstance(waiting, act.GetQueueStatus) else "billing"
        return ev.QueueStatus(at, queue, (None, 0, 30, 181, 300, 3600)[r % 6], r % 9)
    if kind == "transfer":
        statuses = ("answered", "queued", "busy", "noanswer", "full", "failed")
        return ev.TransferResult(at, statuses[r % 6])  # type: ignore[arg-type]
    if flag:
        return ev.CallbackStored(at, "ref-1")
    return ev.CallbackFailed(at, "store down")


def _silent(at: float, waiting: act.Action | None) -> Any:
    """What a caller who says nothing more, and hosts that fail everything, send next."""
    if isinstance(waiting, act.Lookup):
        return ev.LookupFailed(at, waiting.request, "timed out", timed_out=True)
    if isinstance(waiting, act.GetQueueStatus):
        return ev.QueueStatus(at, waiting.queue, None)
    if isinstance(waiting, act.TransferToQueue | act.TransferToDestination):
        return ev.TransferResult(at, "failed")
    if isinstance(waiting, act.StoreCallback):
        return ev.CallbackFailed(at, "store down")
    if isinstance(waiting, act.Record):  # a silent caller leaves no message
        return ev.Recorded(at, waiting.request, None, 0.0, "silence")
    return ev.NoInput(at)


def drive(
    flow_name: str,
    caller: int,
    start: int,
    emergency: bool,
    script: list[tuple[tuple[Any, ...], int]],
    snapshot_after: int | None = None,
) -> Run:
    """Run the script, then a silent caller; snapshot/restore after `snapshot_after` events."""
    flow = FLOWS[flow_name]
    run = Run()
    host: dict[str, Any] = {
        "emergency": frozenset({"office", "office_us"}) if emergency else frozenset(),
        "listeners": (Counter(run),),
    }
    ani, dnis = CALLERS[caller]
    t = STARTS[start]
    session = Session(flow, call_id="c1", ani=ani, dnis=dnis, at=t, seed=caller + 1, **host)
    waiting: act.Action | None = None

    def step(actions: list[act.Action]) -> None:
        nonlocal waiting
        run.batches.append([a.as_dict() for a in actions])
        for a in actions:
            if isinstance(a, WAITS):
                waiting = a

    def restore() -> Session:
        data = json.loads(json.dumps(session.to_dict(key=KEY)))
        return Session.from_dict(flow, data, key=KEY, **host)

    step(session.start())
    if snapshot_after == 0:
        session = restore()
    for n, (spec, dt) in enumerate(script, start=1):
        t += dt
        step(session.send(_event(spec, t, waiting, flow_name, session)))
        if snapshot_after == n:
            session = restore()
    for _ in range(SILENT_LIMIT):
        if session.ended:
            break
        t += 5
        step(session.send(_silent(t, waiting)))
    assert session.ended, f"still running after {SILENT_LIMIT} silent events: {session.state}"
    run.record = session.record
    # Nothing more happens after the end, and the record stays the same.
    assert session.send(ev.Digits(t + 1, "1")) == []
    assert session.send(ev.Hangup(t + 2)) == []
    assert session.record == run.record
    return run


common = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("flow_name", FLOW_NAMES)
@common
@given(
    caller=st.integers(0, len(CALLERS) - 1),
    start=st.integers(0, len(STARTS) - 1),
    emergency=st.booleans(),
    script=script_st,
)
def test_any_events_end_in_exactly_one_record(
    flow_name: str, caller: int, start: int, emergency: bool, script: list[Any]
) -> None:
    run = drive(flow_name, caller, start, emergency, script)
    assert run.record is not None
    assert run.record["outcome"]["kind"] in OUTCOMES
    assert len(run.records) == 1
    assert run.records[0] == run.record
    assert run.record["flow"] == FLOWS[flow_name].name
    assert run.record["duration"] >= 0
    json.dumps(run.record)  # plain JSON


@pytest.mark.parametrize("flow_name", FLOW_NAMES)
@common
@given(
    caller=st.integers(0, len(CALLERS) - 1),
    start=st.integers(0, len(STARTS) - 1),
    emergency=st.booleans(),
    script=script_st,
    data=st.data(),
)
def test_a_snapshot_after_any_step_changes_nothing(
    flow_name: str, caller: int, start: int, emergency: bool, script: list[Any], data: Any
) -> None:
    plain = drive(flow_name, caller, start, emergency, script)
    k = data.draw(st.integers(0, len(script)), label="snapshot after")
    restored = drive(flow_name, caller, start, emergency, script, snapshot_after=k)
    assert restored.batches == plain.batches
    assert restored.record == plain.record
    assert len(restored.records) == 1


@pytest.mark.parametrize("flow_name", FLOW_NAMES)
def test_a_silent_caller_ends_every_flow(flow_name: str) -> None:
    for caller in range(len(CALLERS)):
        for start in range(len(STARTS)):
            run = drive(flow_name, caller, start, False, [])
            assert run.record is not None
            assert run.record["outcome"]["kind"] in OUTCOMES


KEY_TEXTS = ["0", "1", "2", "3", "9", "*", "#", "12", "1a", "", "99999", "#1"]


def random_script(rng: random.Random, length: int) -> list[tuple[tuple[Any, ...], int]]:
    """The same kind of script as `script_st`, from a seeded generator: long walks, cheaply."""
    script = []
    for _ in range(length):
        kind = rng.choice(SPEC_KINDS)
        text = rng.choice(KEY_TEXTS + [e + "#" for e in ENTRIES])
        spec = (kind, rng.randrange(1001), text, rng.random() < 0.5, rng.random() < 0.5)
        script.append((spec, rng.choice((0, 1, 2, 5, 10, 30, -20))))
    return script


@pytest.mark.parametrize("flow_name", FLOW_NAMES)
def test_long_random_walks_with_snapshots(flow_name: str) -> None:
    for seed in range(120):
        rng = random.Random(seed)
        script = random_script(rng, rng.randrange(10, 60))
        caller, start = rng.randrange(len(CALLERS)), rng.randrange(len(STARTS))
        emergency = rng.random() < 0.1
        plain = drive(flow_name, caller, start, emergency, script)
        assert plain.record is not None
        assert plain.record["outcome"]["kind"] in OUTCOMES
        assert len(plain.records) == 1
        k = rng.randrange(len(script) + 1)
        restored = drive(flow_name, caller, start, emergency, script, snapshot_after=k)
        assert restored.batches == plain.batches, (seed, k)
        assert restored.record == plain.record, (seed, k)
