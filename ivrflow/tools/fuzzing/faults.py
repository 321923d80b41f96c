"""The world around a fuzzed call: who calls, when, and how the back ends answer.

Each call draws a `Setup`: the caller's numbers (a fixtures caller, a withheld or garbled
ANI), the time (office hours, night, a holiday), emergencies, and for every look-up
function one behaviour for the whole call — the fixtures' answer, an error, a time-out, or
a malformed result — plus the queue figures the ACD reports, how transfers end and whether
the callback store works. These are exactly the `call:` settings of a scenario YAML, so a
setup is written back as one (`as_scenario_call`).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from ... import model
from ...host import fixtures as fx
from ...model import Flow
from ...runtime.events import TRANSFER_STATUSES

__all__ = ["MALFORMED", "TIMES", "Setup", "draw_setup"]

# Times the call starts at (São Paulo offsets; every flow's hours are tried in its own zone).
TIMES = (
    "2026-11-24T10:00:00-03:00",  # a Tuesday morning
    "2026-11-24T21:30:00-03:00",  # the same day, at night
    "2026-11-29T11:00:00-03:00",  # a Sunday
    "2026-12-25T10:00:00-03:00",  # Christmas
    "2026-11-24T07:59:30-03:00",  # just before opening
)
# Results a broken back end returns instead of the record the flow expects.
MALFORMED: tuple[Any, ...] = (
    None,
    "",
    0,
    -1,
    1e300,
    float("inf"),
    [],
    [1, 2, 3],
    "garbage",
    {},
    {"status": None, "balance": "NaN", "due": "not a date"},
    {"status": "ok", "balance": -99999999999999999, "due": "2026-02-30"},
    {"status": "{{ ''.__class__ }}", "name": "{% for x in y %}"},
    {"status": "ok", "balance": "x" * 20_000},
    {"a": {"b": {"c": {"d": {"e": [[[[[]]]]]}}}}},
    "nested",  # replaced by _deep(): 100 levels, past the session's bound on results
)


def _deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"status": "ok"}
    for _ in range(levels):
        value = {"status": "ok", "inner": value}
    return value


LOOKUP_ERRORS = ("not found", "internal error", "connection refused", "")
QUEUE_FIGURES: tuple[tuple[float | None, int | None], ...] = (
    (None, None),
    (0, 0),
    (30, 1),
    (300, 4),
    (3600, 99),
    (1e9, 100000),
    (-5, -1),
)
TRANSFERS = TRANSFER_STATUSES
ODD_ANIS = (None, "anonymous", "", "+", "abc", "0" * 40, "+5511 98765-4321", "restricted")


@dataclass
class Setup:
    """One call's settings, as `testing.Call` options and scenario `call:` keys."""

    ani: str | None
    dnis: str | None
    at: str
    emergency: list[str] = field(default_factory=list)
    lookups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # fixture rules
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfer: str = "answered"
    callback_store: str = "memory"
    seed: int = 0
    recorder: str = "memory"  # memory | fail: the recording store of `record` states

    def fixtures(self, base: fx.Fixtures) -> fx.Fixtures:
        """The base fixtures with this call's overrides, as a scenario's `call:` makes them."""
        out = fx.Fixtures(
            {k: list(v) for k, v in base.lookups.items()},
            dict(base.queues),
            {k: dict(v) for k, v in base.calls.items()},
        )
        for name, rules in self.lookups.items():
            out.lookups[name] = fx.from_dict({"lookups": {name: rules}}).lookups.get(name, [])
        for name, status in self.queues.items():
            out.queues[name] = fx.from_dict({"queues": {name: status}}).queues[name]
        return out

    def call_options(self) -> dict[str, Any]:
        from ..testing import epoch

        return {
            "ani": self.ani,
            "dnis": self.dnis,
            "at": epoch(self.at),
            "emergency": list(self.emergency),
            "transfer_result": self.transfer,
            "callback_store": self.callback_store,
            "recorder": self.recorder,
            "seed": self.seed,
        }

    def as_scenario_call(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ani": self.ani, "dnis": self.dnis, "at": self.at}
        if self.emergency:
            out["emergency"] = list(self.emergency)
        if self.lookups:
            out["lookups"] = self.lookups
        if self.queues:
            out["queues"] = self.queues
        out["transfer"] = self.transfer
        out["callback_store"] = self.callback_store
        if self.recorder != "memory":
            out["recorder"] = self.recorder
        out["seed"] = self.seed
        return out


def _draw_time(rng: random.Random) -> str:
    """One of `TIMES`, or any second of 2026–2027 (holidays, weekends, daylight-saving
    changes in the flows' zones, New Year's Eve…)."""
    if rng.random() < 0.6:
        return rng.choice(TIMES)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    return (start + dt.timedelta(seconds=rng.randrange(2 * 365 * 86400))).isoformat()


def draw_setup(rng: random.Random, flow: Flow, base: fx.Fixtures, faults: bool = True) -> Setup:
    """A random call setup. Without `faults`, back ends answer from the fixtures."""
    callers = [c for c in base.calls.values() if "ani" in c]
    if callers and rng.random() < 0.75:
        pick = rng.choice(callers)
        ani: str | None = pick.get("ani")
        dnis = pick.get("dnis")
    else:
        ani = rng.choice(ODD_ANIS)
        dnis = rng.choice([c.get("dnis") for c in callers] or [None])
    setup = Setup(ani, dnis, _draw_time(rng), seed=rng.randrange(1, 2**31))
    if flow.hours and rng.random() < 0.1:
        setup.emergency = [rng.choice(sorted(flow.hours))]
    if not faults:
        return setup
    for name in sorted(flow.functions):
        roll = rng.random()
        if roll < 0.65:
            continue  # the fixtures answer
        if roll < 0.8:
            setup.lookups[name] = [{"error": rng.choice(LOOKUP_ERRORS)}]
        elif roll < 0.88:
            setup.lookups[name] = [{"error": "timeout"}]
        else:
            result = rng.choice(MALFORMED)
            setup.lookups[name] = [{"result": _deep(100) if result == "nested" else result}]
    for name in sorted(flow.queues):
        if rng.random() < 0.5:
            ewt, position = rng.choice(QUEUE_FIGURES)
            setup.queues[name] = {"ewt": ewt, "position": position}
    setup.transfer = rng.choice(TRANSFERS)
    setup.callback_store = "fail" if rng.random() < 0.2 else "memory"
    if any(isinstance(s, model.Record) for s in flow.states.values()):  # no draw otherwise
        setup.recorder = "fail" if rng.random() < 0.2 else "memory"
    return setup
