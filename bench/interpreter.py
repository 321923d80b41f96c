"""How fast does the interpreter run a call, and how small is a live session?

Run from the project root:

    python bench/interpreter.py              # the full run, about 30-60 s
    python bench/interpreter.py --calls 500 --runs 3     # quicker
    python bench/interpreter.py --profile    # also: where ivrflow's time per event goes

The same 14-event call (bench/flows/interpreter_bench.ivr; the events are listed
there and in EVENTS below) runs through three implementations:

  ivrflow      `ivrflow.load()` + `Session`: start(), then 14 × send(event)
  transitions  the `transitions` library, ONE shared `Machine` and `add_model`
               per call (`pip install transitions`; the column is skipped without it)
  hand table   a hand-written dict table, state → {event type: handler}: the floor

The two baselines carry the same logic as the flow for this call: per-state and
total no-input/no-match counts, escalation prompts, retries → exhausted, menu
choices, the digit buffer completing at 8 keys (a partial entry at the
inter-digit timeout is a no-match), the look-up request id, the path of states,
and an `abandoned` ending. They emit exactly the same actions as the session
(checked before timing). They do less than the session: no CDR inputs, no
listeners, no step budget, no crash guard, no Jinja2 template (an f-string says
the balance), and their constant prompts are prebuilt action objects.

It prints figures and a verdict per goal; it asserts nothing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import linecache
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ivrflow  # noqa: E402
from ivrflow.runtime import actions as act  # noqa: E402
from ivrflow.runtime import events as ev  # noqa: E402
from ivrflow.runtime.session import Session  # noqa: E402

try:
    from transitions import Machine
except ImportError:  # the column is skipped
    Machine = None

FLOW_PATH = ROOT / "bench" / "flows" / "interpreter_bench.ivr"

# Goals (issue 3, "Performance"; see bench/README.md).
GOAL_VS_TRANSITIONS = 3.0  # ivrflow at least this many times faster per event
GOAL_VS_HAND = 10.0  # ivrflow at most this many times slower per event
GOAL_BYTES = 4096  # per live session, 10,000 sessions mid-call
GOAL_SNAPSHOT_US = 50.0  # to_dict + json round trip + from_dict

T0 = 1_767_261_600.0  # 2026-01-01 10:00 UTC: every event time is fixed
ANI = "+5511987650000"
DNIS = "+551140040000"
ACCOUNT = "45678901"
LOOKUP_VALUE = {"balance": 1234.5, "status": "ok"}
MID_CALL = 6  # events received by each live session in the memory and snapshot figures

# The call: events 1-12 are fixed; event 13 answers the Lookup action with its request id.
EVENTS: list[Any] = [
    ev.NoInput(T0 + 5),  # 1  main_menu: no-input → escalation, the menu again
    ev.Digits(T0 + 7, "1"),  # 2  main_menu → account_menu
    ev.NoInput(T0 + 12),  # 3  account_menu: no-input
    ev.Digits(T0 + 14, "1"),  # 4  account_menu → account (capture)
    *(ev.Digits(T0 + 16 + i, k) for i, k in enumerate(ACCOUNT)),  # 5-12 one key each
]
LOOKUP_AT = T0 + 30  # 13 LookupResult → balance → anything_else
HANGUP = ev.Hangup(T0 + 35)  # 14 the caller hangs up: abandoned
EVENTS_PER_CALL = len(EVENTS) + 2  # 14


# ---------------------------------------------------------------- the baselines' data
# What the flow says and collects, as the session emits it (en-US, no voice, barge-in on).
def _say(text: str) -> act.Say:
    return act.Say(text, "en-US", None, True)


MENU_COLLECT = act.Collect(("dtmf",), 1, 1, None, 5.0, 3.0, True, (), False)
CAPTURE_COLLECT = act.Collect(
    ("dtmf", "speech"), 8, 8, None, 5.0, 3.0, True, (), False, language="en-US"
)
NOT_HEARD = _say("Sorry, I did not hear you.")
NOT_OPTION = _say("Sorry, that is not an option.")
PROMPTS = {
    "main_menu": (
        _say("Welcome to ACME. For your account, press 1. For our opening hours, press 2."),
        MENU_COLLECT,
    ),
    "account_menu": (
        _say("For your balance, press 1. For the main menu, press 9."),
        MENU_COLLECT,
    ),
    "account": (_say("Please enter your 8-digit account number."), CAPTURE_COLLECT),
    "anything_else": (
        _say("To hear it again, press 1. For the main menu, press 9."),
        MENU_COLLECT,
    ),
}
NOINPUT_SAY = {s: NOT_HEARD for s in PROMPTS}
NOMATCH_SAY = {**NOINPUT_SAY, "account": _say("That account number is not valid.")}
NOMATCH_SAY.update({s: NOT_OPTION for s in ("main_menu", "account_menu", "anything_else")})
CHOICES = {
    "main_menu": {"1": "account_menu", "2": "hours_info"},
    "account_menu": {"1": "account", "9": "main_menu"},
    "anything_else": {"1": "balance", "9": "main_menu"},
}
ONE_MOMENT = _say("One moment, please.")
HOURS_SAY = _say("We are open Monday to Friday, from 8 to 6.")
SORRY_SAY = _say("Sorry, we cannot find your account right now. Please call again later.")
GOODBYE_SAY = _say("Thank you for calling. Goodbye.")
RETRIES = 3
CAPTURE_DIGITS = 8


def _balance_text(value: Any) -> str:
    return f"Your balance is ${value['balance']:,.2f}."


# ---------------------------------------------------------------- (3) the hand table
class HandCall:
    """A call as a hand-written transition table: the least work Python can do."""

    __slots__ = (
        "call_id", "now", "state", "noinput", "nomatch", "total_noinput", "total_nomatch",
        "buffer", "vars", "pending", "seq", "path", "ended", "outcome",
    )  # fmt: skip

    def __init__(self, call_id: str, at: float) -> None:
        self.call_id = call_id
        self.now = at
        self.state = "start"
        self.noinput = self.nomatch = self.total_noinput = self.total_nomatch = 0
        self.buffer = ""
        self.vars: dict[str, Any] = {}
        self.pending: str | None = None
        self.seq = 0
        self.path: list[tuple[str, float]] = []
        self.ended = False
        self.outcome: str | None = None

    def start(self) -> list[act.Action]:
        out: list[act.Action] = []
        _h_enter(self, "main_menu", out)
        return out

    def send(self, e: Any) -> list[act.Action]:
        handler = H_TABLE[self.state].get(type(e))
        if handler is None:
            return []
        self.now = e.at
        out: list[act.Action] = []
        handler(self, e, out)
        return out


def _h_enter(s: HandCall, state: str, out: list[act.Action]) -> None:
    while True:
        s.state = state
        s.path.append((state, s.now))
        s.noinput = s.nomatch = 0
        s.buffer = ""
        prompt = PROMPTS.get(state)
        if prompt is not None:
            out += prompt
            return
        if state == "find":
            out.append(ONE_MOMENT)
            s.seq += 1
            s.pending = f"{s.call_id}:{s.seq}"
            out.append(act.Lookup(s.pending, "fetch_balance", (s.vars["account"],), 2.0))
            return
        if state == "balance":
            out.append(_say(_balance_text(s.vars["acct"])))
            state = "anything_else"
        elif state == "hours_info":
            out.append(HOURS_SAY)
            state = "main_menu"
        else:  # sorry, goodbye
            out.append(SORRY_SAY if state == "sorry" else GOODBYE_SAY)
            out.append(act.Hangup("lookup failed" if state == "sorry" else "done"))
            s.ended, s.outcome, s.state = True, "self_served", "ended"
            return


def _h_failure(s: HandCall, kind: str, out: list[act.Action]) -> None:
    if kind == "noinput":
        s.noinput += 1
        s.total_noinput += 1
        out.append(NOINPUT_SAY[s.state])
    else:
        s.nomatch += 1
        s.total_nomatch += 1
        out.append(NOMATCH_SAY[s.state])
    s.buffer = ""
    if s.noinput + s.nomatch >= RETRIES:
        _h_enter(s, "goodbye", out)
    else:
        out += PROMPTS[s.state]


def _h_menu_noinput(s: HandCall, e: Any, out: list[act.Action]) -> None:
    _h_failure(s, "noinput", out)


def _h_menu_key(s: HandCall, e: Any, out: list[act.Action]) -> None:
    target = CHOICES[s.state].get(e.keys)
    if target is None:
        _h_failure(s, "nomatch", out)
    else:
        _h_enter(s, target, out)


def _h_capture_noinput(s: HandCall, e: Any, out: list[act.Action]) -> None:
    _h_failure(s, "nomatch" if s.buffer else "noinput", out)


def _h_capture_key(s: HandCall, e: Any, out: list[act.Action]) -> None:
    s.buffer += e.keys
    if len(s.buffer) >= CAPTURE_DIGITS:
        s.vars["account"] = s.buffer[:CAPTURE_DIGITS]
        _h_enter(s, "find", out)


def _h_lookup_ok(s: HandCall, e: Any, out: list[act.Action]) -> None:
    if e.request == s.pending:
        s.pending = None
        s.vars["acct"] = e.value
        _h_enter(s, "balance", out)


def _h_lookup_failed(s: HandCall, e: Any, out: list[act.Action]) -> None:
    if e.request == s.pending:
        s.pending = None
        _h_enter(s, "sorry", out)


def _h_hangup(s: HandCall, e: Any, out: list[act.Action]) -> None:
    s.ended, s.outcome, s.state = True, "abandoned", "ended"


_H_MENU = {ev.NoInput: _h_menu_noinput, ev.Digits: _h_menu_key, ev.Hangup: _h_hangup}
H_TABLE: dict[str, dict[type, Callable[[HandCall, Any, list[act.Action]], None]]] = {
    "main_menu": _H_MENU,
    "account_menu": _H_MENU,
    "anything_else": _H_MENU,
    "account": {ev.NoInput: _h_capture_noinput, ev.Digits: _h_capture_key, ev.Hangup: _h_hangup},
    "find": {
        ev.LookupResult: _h_lookup_ok,
        ev.LookupFailed: _h_lookup_failed,
        ev.Hangup: _h_hangup,
    },
    "ended": {},
}


# ---------------------------------------------------------------- (2) transitions
class TCall:
    """A model for the shared `transitions` Machine: the same counters and buffer."""

    # `transitions` sets `state` and binds trigger and is_<state> methods on each model,
    # so no __slots__ here.
    def __init__(self, call_id: str, at: float) -> None:
        self.call_id = call_id
        self.now = at
        self.noinput_count = self.nomatch_count = 0
        self.total_noinput = self.total_nomatch = 0
        self.buffer = ""
        self.vars: dict[str, Any] = {}
        self.pending: str | None = None
        self.seq = 0
        self.path: list[tuple[str, float]] = []
        self.ended = False
        self.outcome: str | None = None
        self.out: list[act.Action] = []

    def start(self) -> list[act.Action]:
        self.out = out = []
        self.begin()  # type: ignore[attr-defined]
        return out

    def send(self, e: Any) -> list[act.Action]:
        self.out = out = []
        self.now = e.at
        getattr(self, T_TRIGGERS[type(e)])(e)
        return out

    # callbacks (transitions passes the trigger's arguments: the event, if any)
    def enter_prompt(self, *_: Any) -> None:
        self.path.append((self.state, self.now))  # type: ignore[attr-defined]
        self.noinput_count = self.nomatch_count = 0
        self.buffer = ""
        self.out += PROMPTS[self.state]  # type: ignore[attr-defined]

    def enter_find(self, *_: Any) -> None:
        self.path.append(("find", self.now))
        self.out.append(ONE_MOMENT)
        self.seq += 1
        self.pending = f"{self.call_id}:{self.seq}"
        self.out.append(act.Lookup(self.pending, "fetch_balance", (self.vars["account"],), 2.0))

    def enter_ending(self, *_: Any) -> None:
        state = self.state  # type: ignore[attr-defined]
        self.path.append((state, self.now))
        self.out.append(SORRY_SAY if state == "sorry" else GOODBYE_SAY)
        self.out.append(act.Hangup("lookup failed" if state == "sorry" else "done"))
        self.ended, self.outcome = True, "self_served"

    def count_noinput(self, *_: Any) -> None:
        if self.state == "account" and self.buffer:  # type: ignore[attr-defined]
            self.nomatch_count += 1  # a partial entry at the inter-digit timeout
            self.total_nomatch += 1
            self.out.append(NOMATCH_SAY["account"])
        else:
            self.noinput_count += 1
            self.total_noinput += 1
            self.out.append(NOINPUT_SAY[self.state])  # type: ignore[attr-defined]
        self.buffer = ""

    def count_nomatch(self, *_: Any) -> None:
        self.nomatch_count += 1
        self.total_nomatch += 1
        self.out.append(NOMATCH_SAY[self.state])  # type: ignore[attr-defined]

    def exhausted(self, *_: Any) -> bool:
        return self.noinput_count + self.nomatch_count >= RETRIES

    def reprompt(self, *_: Any) -> None:
        self.out += PROMPTS[self.state]  # type: ignore[attr-defined]

    def buffer_keys(self, e: Any) -> None:
        self.buffer += e.keys

    def capture_full(self, e: Any) -> bool:
        return len(self.buffer) >= CAPTURE_DIGITS

    def store_account(self, e: Any) -> None:
        self.vars["account"] = self.buffer[:CAPTURE_DIGITS]

    def is_pending(self, e: Any) -> bool:
        return bool(e.request == self.pending)

    def say_balance(self, e: Any) -> None:
        self.pending = None
        self.vars["acct"] = e.value
        self.path.append(("balance", self.now))
        self.out.append(_say(_balance_text(e.value)))

    def say_balance_again(self, e: Any) -> None:
        self.path.append(("balance", self.now))
        self.out.append(_say(_balance_text(self.vars["acct"])))

    def say_hours(self, e: Any) -> None:
        self.path.append(("hours_info", self.now))
        self.out.append(HOURS_SAY)

    def abandon(self, *_: Any) -> None:
        self.ended, self.outcome = True, "abandoned"


T_TRIGGERS = {
    ev.NoInput: "timeout",
    ev.Digits: "key",
    ev.LookupResult: "lookup_ok",
    ev.LookupFailed: "lookup_failed",
    ev.Hangup: "hangup",
}
INPUT_STATES = ["main_menu", "account_menu", "account", "anything_else"]


def _pressed(key: str) -> Callable[[Any], bool]:
    def condition(e: Any) -> bool:
        return bool(e.keys == key)

    return condition


def build_machine() -> Any:
    """One shared Machine; calls join it with `add_model`."""
    states: list[Any] = [
        "start",
        *({"name": s, "on_enter": "enter_prompt"} for s in PROMPTS),
        {"name": "find", "on_enter": "enter_find"},
        {"name": "sorry", "on_enter": "enter_ending"},
        {"name": "goodbye", "on_enter": "enter_ending"},
        "ended",
    ]
    trans: list[dict[str, Any]] = [
        {"trigger": "begin", "source": "start", "dest": "main_menu"},
        # no-input: count and say the escalation; exhausted → goodbye, else the prompt again
        {
            "trigger": "timeout",
            "source": INPUT_STATES,
            "dest": "goodbye",
            "prepare": "count_noinput",
            "conditions": "exhausted",
        },
        {"trigger": "timeout", "source": INPUT_STATES, "dest": None, "after": "reprompt"},
    ]
    for menu, choices in CHOICES.items():
        for key, target in choices.items():
            t = {"trigger": "key", "source": menu, "conditions": _pressed(key)}
            if target == "balance":  # a step that says the balance, then this menu
                t.update(dest="anything_else", before="say_balance_again")
            elif target == "hours_info":
                t.update(dest="main_menu", before="say_hours")
            else:
                t["dest"] = target
            trans.append(t)
        trans += [
            {
                "trigger": "key",
                "source": menu,
                "dest": "goodbye",
                "prepare": "count_nomatch",
                "conditions": "exhausted",
            },
            {"trigger": "key", "source": menu, "dest": None, "after": "reprompt"},
        ]
    trans += [
        {
            "trigger": "key",
            "source": "account",
            "dest": "find",
            "prepare": "buffer_keys",
            "conditions": "capture_full",
            "before": "store_account",
        },
        {
            "trigger": "lookup_ok",
            "source": "find",
            "dest": "anything_else",
            "conditions": "is_pending",
            "before": "say_balance",
        },
        {"trigger": "lookup_failed", "source": "find", "dest": "sorry", "conditions": "is_pending"},
        {"trigger": "hangup", "source": "*", "dest": "ended", "after": "abandon"},
    ]
    return Machine(  # type: ignore[misc]
        model=None,
        states=states,
        transitions=trans,
        initial="start",
        auto_transitions=False,
        ignore_invalid_triggers=True,
        send_event=False,
    )


# ---------------------------------------------------------------- drivers
# Each returns a function that runs `n` whole calls. The work per call is the same:
# create the call, start it, send the 14 events (event 13 answers the Lookup action).
def _lookup_event(out: list[act.Action]) -> ev.LookupResult:
    for a in out:
        if type(a) is act.Lookup:
            return ev.LookupResult(LOOKUP_AT, a.request, LOOKUP_VALUE)
    return ev.LookupResult(LOOKUP_AT, "missing", LOOKUP_VALUE)


def ivrflow_calls(flow: Any) -> Callable[[int], None]:
    def run(n: int) -> None:
        fixed = EVENTS
        for i in range(n):
            s = Session(flow, call_id=f"c{i}", ani=ANI, dnis=DNIS, at=T0)
            s.start()
            for e in fixed:
                out = s.send(e)
            s.send(_lookup_event(out))
            s.send(HANGUP)

    return run


def hand_calls() -> Callable[[int], None]:
    def run(n: int) -> None:
        fixed = EVENTS
        for i in range(n):
            s = HandCall(f"c{i}", T0)
            s.start()
            for e in fixed:
                out = s.send(e)
            s.send(_lookup_event(out))
            s.send(HANGUP)

    return run


def transitions_calls(machine: Any) -> Callable[[int], None]:
    def run(n: int) -> None:
        fixed = EVENTS
        add, remove = machine.add_model, machine.remove_model
        for i in range(n):
            s = TCall(f"c{i}", T0)
            add(s)
            s.start()
            for e in fixed:
                out = s.send(e)
            s.send(_lookup_event(out))
            s.send(HANGUP)
            remove(s)  # the call is over: the shared machine lets go of it

    return run


NO_JINJA = "ivrflow, no Jinja2"
BALANCE_SAY = 'say "Your balance is {{ acct.balance | currency }}."'


def plain_flow() -> Any:
    """The benchmark flow with the balance said as constant text (no template)."""
    text = FLOW_PATH.read_text(encoding="utf-8")
    if BALANCE_SAY not in text:
        return None
    text = text.replace(BALANCE_SAY, 'say "Your balance is $1,234.50."')
    result = ivrflow.compile_file(str(FLOW_PATH), text=text)
    return result.flow


def median_setup_us(flow: Any, machine: Any, calls: int, runs: int) -> dict[str, float]:
    """µs per call to create and start a call (and, for transitions, add and remove it)."""

    def ivr(n: int) -> None:
        for i in range(n):
            Session(flow, call_id=f"c{i}", ani=ANI, dnis=DNIS, at=T0).start()

    def tr(n: int) -> None:
        for i in range(n):
            s = TCall(f"c{i}", T0)
            machine.add_model(s)
            s.start()
            machine.remove_model(s)

    def hand(n: int) -> None:
        for i in range(n):
            HandCall(f"c{i}", T0).start()

    setups = {"ivrflow": ivr, "transitions": tr, "hand table": hand}
    if machine is None:
        del setups["transitions"]
    return {k: v * EVENTS_PER_CALL for k, v in median_us_per_event(setups, calls, runs).items()}


def transcript(new: Callable[[str], Any]) -> tuple[list[list[dict[str, Any]]], Any]:
    """Every action of one call, as dicts, per event (start first)."""
    s = new("c0")
    steps = [s.start()]
    for e in EVENTS:
        steps.append(s.send(e))
    steps.append(s.send(_lookup_event(steps[-1])))
    steps.append(s.send(HANGUP))
    return [[a.as_dict() for a in step] for step in steps], s


# ---------------------------------------------------------------- measurements
def median_us_per_event(
    runners: dict[str, Callable[[int], None]], calls: int, runs: int
) -> dict[str, float]:
    """Interleaved runs (one of each implementation per round), median µs per event."""
    for run in runners.values():
        run(max(1, calls // 10))  # warm-up
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(runs):
        for name, run in runners.items():
            t = time.perf_counter()
            run(calls)
            samples[name].append(time.perf_counter() - t)
    return {
        name: statistics.median(s) / (calls * EVENTS_PER_CALL) * 1e6 for name, s in samples.items()
    }


def live_bytes(new: Callable[[int], Any], count: int, top: int = 0) -> tuple[float, list[str]]:
    """Bytes per live session: `count` sessions, each after the first MID_CALL events."""
    warm = [new(-1)]  # fill caches (templates, interned strings) before measuring
    del warm
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    live = [new(i) for i in range(count)]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    lines = []
    for s in stats[:top]:
        frame = s.traceback[0]
        where = Path(frame.filename)
        try:
            shown = str(where.relative_to(ROOT))
        except ValueError:
            shown = where.name
        code = linecache.getline(frame.filename, frame.lineno).strip()
        if where.name == "interpreter.py":  # the driver's line: the object itself, its call id
            code = "(the session object itself, and its call id)"
        lines.append(f"{s.size_diff / count:7.1f} B  {shown}:{frame.lineno}  {code[:60]}")
    del live
    gc.collect()
    return total / count, lines


def mid_call(s: Any) -> Any:
    s.start()
    for e in EVENTS[:MID_CALL]:
        s.send(e)
    return s


def snapshot_round_trip(flow: Any, repeat: int, runs: int) -> tuple[float, int, dict[str, float]]:
    """µs per to_dict + dumps + loads + from_dict of a mid-call session; JSON size."""
    s = mid_call(Session(flow, call_id="snap", ani=ANI, dnis=DNIS, at=T0))
    text = json.dumps(s.to_dict())
    parts: dict[str, Callable[[], Any]] = {
        "to_dict": lambda: s.to_dict(),
        "json.dumps": lambda: json.dumps(s.to_dict()),
        "json.loads": lambda: json.loads(text),
        "from_dict": lambda: Session.from_dict(flow, json.loads(text)),
    }

    def trip() -> None:
        Session.from_dict(flow, json.loads(json.dumps(s.to_dict())))

    def timed(fn: Callable[[], Any]) -> float:
        fn()
        best = []
        for _ in range(runs):
            t = time.perf_counter()
            for _ in range(repeat):
                fn()
            best.append((time.perf_counter() - t) / repeat * 1e6)
        return statistics.median(best)

    whole = timed(trip)
    # cumulative timings, reported as differences: to_dict, then + dumps, loads alone, + from_dict
    t_dict = timed(parts["to_dict"])
    t_dumps = timed(parts["json.dumps"]) - t_dict
    t_loads = timed(parts["json.loads"])
    t_from = timed(parts["from_dict"]) - t_loads
    return (
        whole,
        len(text.encode()),
        {
            "to_dict": t_dict,
            "json.dumps": t_dumps,
            "json.loads": t_loads,
            "from_dict": t_from,
        },
    )


def profile(flow: Any, calls: int) -> None:
    import cProfile
    import pstats

    run = ivrflow_calls(flow)
    run(100)
    prof = cProfile.Profile()
    prof.enable()
    run(calls)
    prof.disable()
    print(f"\n## cProfile: ivrflow, {calls:,} calls ({calls * EVENTS_PER_CALL:,} events)")
    print("   (profiling inflates every call; read the shares, not the absolute times)")
    pstats.Stats(prof, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(15)


# ---------------------------------------------------------------- main
def verdict(name: str, ok: bool, detail: str) -> str:
    return f"verdict: {name}: {'met' if ok else 'NOT met'} ({detail})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per timed run (2000)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs; the median counts (7)")
    parser.add_argument("--live", type=int, default=10_000, help="live sessions (10,000)")
    parser.add_argument("--snapshots", type=int, default=2000, help="round trips per run (2000)")
    parser.add_argument("--profile", action="store_true", help="cProfile ivrflow, 2,000 calls")
    args = parser.parse_args()

    flow = ivrflow.load(str(FLOW_PATH))
    machine = build_machine() if Machine is not None else None
    impl = sys.implementation
    print("# ivrflow interpreter benchmark")
    print(
        f"Python {platform.python_version()} ({impl.name}, {platform.machine()}), "
        f"{platform.system()}; flow {FLOW_PATH.relative_to(ROOT)} ({len(flow.states)} states)"
    )
    if machine is None:
        print(
            "transitions: not installed, column skipped "
            "(install it: `.venv/bin/pip install -e '.[bench]'` or `pip install transitions`)"
        )
    else:
        import transitions

        print(f"transitions {transitions.__version__}: one shared Machine, add_model per call")

    # The three must do the same thing: compare every action of one call.
    makers: dict[str, Callable[[str], Any]] = {
        "ivrflow": lambda cid: Session(flow, call_id=cid, ani=ANI, dnis=DNIS, at=T0),
        "hand table": lambda cid: HandCall(cid, T0),
    }
    if machine is not None:

        def new_tcall(cid: str) -> TCall:
            t = TCall(cid, T0)
            machine.add_model(t)
            return t

        makers["transitions"] = new_tcall
    reference, s = transcript(makers["ivrflow"])
    outcome = (s.outcome or {}).get("kind")
    print(f"call: {EVENTS_PER_CALL} events, {sum(map(len, reference))} actions, outcome {outcome}")
    for name, new in makers.items():
        if name == "ivrflow":
            continue
        got, other = transcript(new)
        if machine is not None and isinstance(other, TCall):
            machine.remove_model(other)
        same = "identical" if got == reference else "DIFFERENT (the comparison is off)"
        print(f"  {name}: actions {same} to ivrflow's; outcome {other.outcome}")

    # ---- speed
    runners: dict[str, Callable[[int], None]] = {"ivrflow": ivrflow_calls(flow)}
    if machine is not None:
        runners["transitions"] = transitions_calls(machine)
    runners["hand table"] = hand_calls()
    print(
        f"\n## Speed: median of {args.runs} runs × {args.calls:,} calls "
        f"({args.calls * EVENTS_PER_CALL:,} events a run)"
    )
    plain = plain_flow()
    if plain is not None:  # context: the same call with the balance said without Jinja2
        runners[NO_JINJA] = ivrflow_calls(plain)
    us = median_us_per_event(runners, args.calls, args.runs)
    for name, value in us.items():
        if name == NO_JINJA:
            continue
        per_call = value * EVENTS_PER_CALL
        print(
            f"  {name:<12} {value:8.2f} µs/event  {per_call:8.1f} µs/call  "
            f"{1e6 / per_call:10,.0f} calls/s"
        )
    if NO_JINJA in us:
        share = 1 - us[NO_JINJA] / us["ivrflow"]
        print(
            f"  context: ivrflow with the balance said as plain text (no Jinja2 render): "
            f"{us[NO_JINJA]:.2f} µs/event; the one render is {share:.0%} of the call"
        )
    setup = median_setup_us(flow, machine, args.calls, args.runs)
    print(
        "  context: call setup alone (create + start; transitions: + add_model/remove_model), "
        "µs/call: " + ", ".join(f"{k} {v:.1f}" for k, v in setup.items())
    )
    vs_hand = us["ivrflow"] / us["hand table"]
    print(f"  ivrflow vs hand table: {vs_hand:.1f}× slower (goal: within {GOAL_VS_HAND:.0f}×)")
    vs_tr = None
    if "transitions" in us:
        vs_tr = us["transitions"] / us["ivrflow"]
        print(
            f"  ivrflow vs transitions: {vs_tr:.2f}× faster "
            f"(goal: at least {GOAL_VS_TRANSITIONS:.0f}×)"
        )

    # ---- memory
    print(
        f"\n## Memory: {args.live:,} live sessions, each after the first {MID_CALL} events "
        "(tracemalloc snapshot difference ÷ sessions; includes the list holding them, 8 B)"
    )
    mem_makers: dict[str, Callable[[int], Any]] = {
        "ivrflow": lambda i: mid_call(Session(flow, call_id=f"c{i}", ani=ANI, dnis=DNIS, at=T0)),
    }
    if Machine is not None:
        mem_machine = build_machine()  # a fresh one: it holds every live model

        def tcall_mid(i: int) -> TCall:
            t = TCall(f"c{i}", T0)
            mem_machine.add_model(t)
            return mid_call(t)

        mem_makers["transitions"] = tcall_mid
    mem_makers["hand table"] = lambda i: mid_call(HandCall(f"c{i}", T0))
    mem: dict[str, float] = {}
    where: list[str] = []
    for name, new in mem_makers.items():
        mem[name], lines = live_bytes(new, args.live, top=8 if name == "ivrflow" else 0)
        where = where or lines
        print(f"  {name:<12} {mem[name]:8,.0f} bytes/session")
    if Machine is not None:
        del mem_machine
    print("  ivrflow's biggest allocation sites, bytes/session:")
    for line in where:
        print(f"    {line}")

    # ---- snapshots
    whole, size, parts = snapshot_round_trip(flow, args.snapshots, args.runs)
    print(
        f"\n## Snapshot round trip of a mid-call session (after {MID_CALL} events): "
        f"median of {args.runs} runs × {args.snapshots:,}"
    )
    print(f"  to_dict + json.dumps + json.loads + Session.from_dict: {whole:.1f} µs/round trip")
    print("  parts: " + ", ".join(f"{k} {v:.1f} µs" for k, v in parts.items()))
    print(f"  JSON size: {size:,} bytes")

    # ---- verdicts
    print()
    if vs_tr is not None:
        print(
            verdict(
                "≥3× faster per event than transitions",
                vs_tr >= GOAL_VS_TRANSITIONS,
                f"{vs_tr:.2f}×",
            )
        )
    else:
        print("verdict: ≥3× faster per event than transitions: not measured (not installed)")
    print(verdict("within 10× of the hand table", vs_hand <= GOAL_VS_HAND, f"{vs_hand:.1f}×"))
    print(
        verdict(
            "< 4 KB per live session",
            mem["ivrflow"] < GOAL_BYTES,
            f"{mem['ivrflow']:,.0f} bytes",
        )
    )
    print(verdict("snapshot round trip < 50 µs", whole < GOAL_SNAPSHOT_US, f"{whole:.1f} µs"))
    print(f"Python {sys.version.split()[0]}")

    if args.profile:
        profile(flow, 2000)


if __name__ == "__main__":
    main()
