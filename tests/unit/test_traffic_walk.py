"""The compiled walk against the real interpreter: same caller model, same outcome shares.

A random caller follows the traffic model while driving real `Session`s; the
fast walk samples the same model from its tables. Every outcome's share must
agree within sampling error (4.5 standard errors: a failure is a real bias, not
bad luck, with the fixed seeds).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import lookup_answer_from_model

import ivrflow
from ivrflow.model import CallbackOffer, Capture, Flow, Menu
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session
from ivrflow.tools.testing import epoch
from ivrflow.traffic.model import TrafficModel, choice_keys, parse_model
from ivrflow.traffic.walk import END, QUEUE, TRANSFER, Walker, expr_text

FLOW = """
flow desk "Walk check"
  language en-US
  timezone "America/New_York"
  timeout 5s, interdigit 3s, retries 3

hours office:
  timezone "America/New_York"
  mon-fri 09:00-18:00

queue sales skills [sales]
queue care skills [care]
function find_customer(number) timeout 2s

var tries = 0
var identified = false

start:
  say "Welcome to the desk."
  if ani in vip: set tries = 1
  call identify
  if not identified -> care_agent
  -> main

step identify:
  -> number

capture number:
  say "Key your customer number, then pound."
  digits 4..6
  end "#"
  noinput 1: say "I did not hear you."
  nomatch: say "That is not a number I know."
  ok -> find
  exhausted: return

lookup find find_customer(number) as cust:
  say "One moment."
  ok:
    set identified = true
    return
  error:
    set tries = tries + 1
    if tries < 2 -> number
    return

menu main:
  say "For sales press 1. For support press 2. For your balance press 3. To hear this again press star."
  1 -> sales_agent
  2 -> support
  3 -> balance
  * -> repeat
  noinput 1: say "Please choose."
  noinput 2:
    say "Press 1, 2 or 3."
    -> care_agent
  nomatch 1: say "Not an option."
  exhausted -> care_agent

step balance:
  if cust.balance > 100:
    say "You owe more than a hundred."
    -> care_agent
  say "Your balance is small. Goodbye."
  hangup "balance"

menu support:
  say "Press 1 if your line is down, 2 for anything else."
  1 -> offer
  2 -> care_agent
  exhausted -> care_agent

callback offer:
  queue care
  accept 1
  decline 2
  say "We can call you back. Press 1 for a call back, 2 to hold."
  scheduled:
    say "Done. Goodbye."
    hangup "callback"
  declined -> care_agent
  exhausted -> care_agent

step care_agent:
  if not open(office):
    say "We are closed."
    hangup "closed"
  split:
    25% -> sales_agent
    75% -> care

transfer care:
  queue care
  if ewt > 2m -> offer

transfer sales_agent:
  queue sales
"""

MODEL = """
callers:
  - {share: 0.8, ani: "+12125550100"}
  - {share: 0.2, ani: "+12125550199"}
caller: {noinput: 0.2, nomatch: 0.15, hangup: 0.03}  # high, so retries and escalation matter
states:
  main: {choices: {"1": 0.3, "2": 0.3, "3": 0.3, "*": 0.1}}
  support: {choices: {"1": 0.5, "2": 0.5}, hangup: 0}
  offer: {accept: 0.4}
lookups:
  find_customer:
    outcomes:
      - {share: 0.6, result: {balance: 50}}
      - {share: 0.2, result: {balance: 500}}
      - {share: 0.2, error: "not found"}
queues:
  sales: {agents: 5, aht: 200}
  care: {agents: 5, aht: 200}
"""

TUESDAY_NOON = "2026-11-24T12:00:00-05:00"
SUNDAY_NOON = "2026-11-22T12:00:00-05:00"


def _flow(tmp_path: Path) -> Flow:
    (tmp_path / "desk.ivr").write_text(
        FLOW.replace("var tries", 'list vip ["+12125550199"]\nvar tries'), encoding="utf-8"
    )
    return ivrflow.load(tmp_path / "desk.ivr")


def _wrong_key(menu_keys: list[str]) -> str:
    return next(k for k in "0123456789#" if k not in menu_keys)


def _real_call(flow: Flow, m: TrafficModel, rng: random.Random, at: float, ewt: float) -> str:
    """One real Session, its caller drawn from the model: the outcome, named as the walk does."""
    seg = rng.choices(m.callers, [c.share for c in m.callers])[0]
    s = Session(flow, call_id="c", ani=seg.ani, dnis=seg.dnis, at=at, seed=rng.randrange(1, 2**31))
    actions = s.start()
    now = at
    for _ in range(500):
        if s.ended:
            break
        event: Any = None
        for a in actions:
            if isinstance(a, act.Lookup):
                event = lookup_answer_from_model(m, a, rng, now)
            elif isinstance(a, act.GetQueueStatus):
                event = ev.QueueStatus(now, a.queue, ewt, 3)
            elif isinstance(a, act.TransferToQueue):
                return f"queue {a.queue}"
            elif isinstance(a, act.StoreCallback):
                event = ev.CallbackStored(now, "ref")
            elif isinstance(a, act.Collect):
                event = _answer(s, m, rng, now)
            if event is not None:
                break
        if event is None:
            break
        now += 1.0
        actions = s.send(event)
    out = s.record["outcome"] if s.record else {"kind": "error"}
    if out["kind"] == "abandoned":
        return f"abandoned {out['state']}"
    if out["kind"] == "self_served":
        return f"self_served {out['reason']}"
    if out["kind"] == "callback_scheduled":
        return f"callback {out['queue']}"
    return out["kind"]


def _answer(s: Session, m: TrafficModel, rng: random.Random, now: float) -> ev.Event:
    state = s.flow.states[s.state]
    sm = m.states.get(s.state)
    hangup = sm.hangup if sm and sm.hangup is not None else m.hangup
    noinput = sm.noinput if sm and sm.noinput is not None else m.noinput
    nomatch = sm.nomatch if sm and sm.nomatch is not None else m.nomatch
    r = rng.random()
    if r < hangup:
        return ev.Hangup(now)
    if r < hangup + noinput:
        return ev.NoInput(now)
    if isinstance(state, Menu):
        keys = choice_keys(state)
        if r < hangup + noinput + nomatch:
            return ev.Digits(now, _wrong_key(keys))
        shares = [sm.choices.get(k, 0.0) for k in keys] if sm else [1.0] * len(keys)
        return ev.Digits(now, rng.choices(keys, shares)[0])
    if isinstance(state, Capture):
        if r < hangup + noinput + nomatch:
            return ev.Digits(now, "#")
        return ev.Digits(now, "1" * state.min_digits + "#")
    assert isinstance(state, CallbackOffer)
    if r < hangup + noinput + nomatch:
        return ev.Digits(now, "9")
    accept = sm.accept if sm and sm.accept is not None else 0.5
    return ev.Digits(now, state.accept[0] if rng.random() < accept else state.decline[0])


def _walked(w: Walker, rng: random.Random, at: float, ewt: float) -> str:
    r = rng.random
    hv = w.hours_id(at)
    _, kind, target, _ = w.walk(w.start(r), hv, r)
    for _ in range(100):  # a declined offer can lead back to the same transfer
        if kind != TRANSFER:
            break
        _, kind, target, _ = w.walk(w.resume(target, ewt, 3), hv, r)
    if kind == QUEUE:
        return f"queue {target[0]}"
    assert kind == END
    outcome, detail, _ = target
    if outcome == "abandoned":
        return f"abandoned {detail}"
    if outcome == "self_served":
        return f"self_served {detail}"
    if outcome == "callback_scheduled":
        return f"callback {detail}"
    return str(outcome)


def _compare(real: Counter[str], walked: Counter[str]) -> None:
    n, k = sum(real.values()), sum(walked.values())
    for name in set(real) | set(walked):
        a, b = real[name] / n, walked[name] / k
        p = (real[name] + walked[name]) / (n + k)
        se = math.sqrt(max(p * (1 - p), 1e-9) * (1 / n + 1 / k))
        assert abs(a - b) <= 4.5 * se + 1e-3, f"{name}: real {a:.3f}, walk {b:.3f} (se {se:.4f})"


@pytest.mark.parametrize(
    ("when", "ewt"), [(TUESDAY_NOON, 30.0), (TUESDAY_NOON, 600.0), (SUNDAY_NOON, 30.0)]
)
def test_walk_matches_the_interpreter(tmp_path: Path, when: str, ewt: float) -> None:
    flow, m = _flow(tmp_path), parse_model(MODEL)
    at = epoch(when)
    rng = random.Random(7)
    real = Counter(_real_call(flow, m, rng, at, ewt) for _ in range(3000))
    w = Walker(flow, m)
    walked = Counter(_walked(w, rng, at, ewt) for _ in range(30000))
    assert len(real) >= 5  # the flow really branches: several outcomes to compare
    _compare(real, walked)


def test_open_hours_change_where_calls_go(tmp_path: Path) -> None:
    flow, m = _flow(tmp_path), parse_model(MODEL)
    w = Walker(flow, m)
    rng = random.Random(3)
    weekday = Counter(_walked(w, rng, epoch(TUESDAY_NOON), 30.0) for _ in range(2000))
    sunday = Counter(_walked(w, rng, epoch(SUNDAY_NOON), 30.0) for _ in range(2000))
    assert weekday["queue care"] > 0 and sunday["queue care"] == 0
    assert sunday["self_served closed"] > 0 and weekday["self_served closed"] == 0


def test_values_the_model_does_not_give_are_assumed_and_listed(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    base = (
        "states: {main: {choices: {'3': 1}}}\n"
        "caller: {noinput: 0, nomatch: 0, hangup: 0}\n"
        "lookups: {find_customer: {outcomes: [{share: 1}]}}\n"  # ok, but no result value
        "queues: {sales: {agents: 1, aht: 60}, care: {agents: 1, aht: 60}}\n"
    )
    guessed, given = (
        Walker(flow, parse_model(base)),
        Walker(flow, parse_model(base + "conditions: {'balance: cust.balance > 100': 0.25}\n")),
    )
    rng = random.Random(5)
    at = epoch(TUESDAY_NOON)
    with_guess = Counter(_walked(guessed, rng, at, 30.0) for _ in range(4000))
    with_share = Counter(_walked(given, rng, at, 30.0) for _ in range(4000))
    assert guessed.assumed == {"balance: cust.balance > 100": 0.5}
    assert given.assumed == {}
    # balance > 100 leads to care_agent, which splits 25 % to sales
    assert abs(with_guess["queue care"] / 4000 - 0.5 * 0.75) < 0.04
    assert abs(with_share["queue care"] / 4000 - 0.25 * 0.75) < 0.04


def test_expressions_are_named_as_written(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    state = flow.states["balance"]
    cond = state.body[0].branches[0][0]  # type: ignore[union-attr]
    assert expr_text(cond) == "cust.balance > 100"


ROUTED = """
flow routed "Queue from a look-up"
  language en-US

queue billing
queue sales
queue retention
function segment(ani)

start:
  -> find

lookup find segment(ani) as customer:
  ok -> agent
  error -> agent

transfer agent:
  queue customer.queue among [billing, sales]
  failed: hangup "no queue"
"""


def _routed(tmp_path: Path, outcomes: str) -> Walker:
    path = tmp_path / "routed.ivr"
    path.write_text(ROUTED, encoding="utf-8")
    model = (
        "caller: {noinput: 0, nomatch: 0, hangup: 0}\n"
        f"lookups: {{segment: {{outcomes: [{outcomes}]}}}}\n"
        "queues: {billing: {agents: 1, aht: 60}, sales: {agents: 1, aht: 60}}\n"
    )
    return Walker(ivrflow.load(path), parse_model(model))


def test_a_queue_from_a_lookup_follows_the_lookups_answers(tmp_path: Path) -> None:
    w = _routed(
        tmp_path,
        "{share: 0.7, result: {queue: billing}}, {share: 0.2, result: {queue: sales}},"
        " {share: 0.1, result: {queue: retention}}",
    )
    rng = random.Random(11)
    walked = Counter(_walked(w, rng, epoch(TUESDAY_NOON), 30.0) for _ in range(4000))
    assert set(walked) == {"queue billing", "queue sales", "self_served no queue"}
    assert abs(walked["queue billing"] / 4000 - 0.7) < 0.03
    # retention is not among the reachable: the failed branch, as at run time
    assert abs(walked["self_served no queue"] / 4000 - 0.1) < 0.02


def test_a_queue_the_model_cannot_know_is_spread_over_the_reachable_ones(
    tmp_path: Path,
) -> None:
    w = _routed(tmp_path, "{share: 1}")  # ok, but the model gives no result value
    rng = random.Random(12)
    walked = Counter(_walked(w, rng, epoch(TUESDAY_NOON), 30.0) for _ in range(4000))
    assert set(walked) == {"queue billing", "queue sales"}
    assert abs(walked["queue billing"] / 4000 - 0.5) < 0.04
