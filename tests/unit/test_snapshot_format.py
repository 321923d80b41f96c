"""Snapshots written by earlier code restore: the format is pinned by literal snapshots.

The two dicts below were written by `Session.to_dict` before the session was split into
modules (issue 11), when inputs, failures and call frames were positional tuples and phases
bare strings. A worker running newer code must continue such a call, and must write the same
JSON for the same call, so that an older worker can continue it too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_snapshot import FLOW, T0, compile_flow, new_session, same_future, through_json

from ivrflow.model import Flow
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session

# In a sub-flow call (`3` in main calls verify), after a no-input in main and a no-match in
# verify_menu: the call stack, both counts and the failures are set.
IN_A_CALL: dict[str, Any] = {
    "call_id": "c1", "ani": "+5511987650000", "dnis": "+551140040000",
    "started_at": 1795525200.0, "now": 1795525209.0, "state": "verify_menu", "phase": "menu",
    "noinput": 0, "nomatch": 1, "total_noinput": 1, "total_nomatch": 1, "pending": None,
    "pending_since": 0.0, "seq": 0, "rng": 2654435769, "outcome": None, "ended": False,
    "ended_at": None,
    "inputs": [["main", "dtmf", "3", 7.0, None], ["verify_menu", "dtmf", "7", 9.0, None]],
    "lookups": [], "errors": [], "choice": -1, "mask_ani": False, "_in_error": False,
    "_swallow": None, "failures": [["main", "noinput", 5.0], ["verify_menu", "nomatch", 9.0]],
    "keys": {"buffer": "", "typeahead": ""}, "format": 1, "flow": "snap", "flow_hash": "HASH",
    "vars": {
        "ani": "+5511987650000", "dnis": "+551140040000", "call_id": "c1", "language": "pt-BR",
        "voice": None, "ewt": None, "position": None, "queue": None, "callback_number": None,
        "last_input": "7", "error": None, "tries": 0, "verified": False,
    },
    "secure": {},
    "path": [["start", 1795525200.0], ["main", 1795525200.0], ["verify", 1795525207.0],
             ["verify_menu", 1795525207.0]],
    "calls": [["main", "branch", [[4, 1]], [1, 0], "choice 3"]],
}  # fmt: skip

# Waiting for a look-up's answer, a key typed ahead in a flow with a secure capture (so the
# keys were sealed, and without a key dropped).
IN_A_LOOKUP: dict[str, Any] = {
    "call_id": "c1", "ani": "+5511987650000", "dnis": "+551140040000",
    "started_at": 1795525200.0, "now": 1795525205.0, "state": "find", "phase": "lookup",
    "noinput": 0, "nomatch": 0, "total_noinput": 0, "total_nomatch": 0, "pending": "c1:1",
    "pending_since": 1795525204.0, "seq": 1, "rng": 2654435769, "outcome": None,
    "ended": False, "ended_at": None,
    "inputs": [["main", "dtmf", "1", 2.0, None],
               ["account", "dtmf", "123456", 4.0, "terminator"]],
    "lookups": [], "errors": [], "choice": -1, "mask_ani": False, "_in_error": False,
    "_swallow": None, "failures": [], "keys": {"sealed": None}, "format": 1, "flow": "snap",
    "flow_hash": "HASH",
    "vars": {
        "ani": "+5511987650000", "dnis": "+551140040000", "call_id": "c1", "language": "pt-BR",
        "voice": None, "ewt": None, "position": None, "queue": None, "callback_number": None,
        "last_input": "123456", "error": None, "tries": 0, "verified": False,
        "account": "123456",
    },
    "secure": {},
    "path": [["start", 1795525200.0], ["main", 1795525200.0], ["account", 1795525202.0],
             ["find", 1795525204.0]],
    "calls": [],
}  # fmt: skip


@pytest.fixture(scope="module")
def flow() -> Flow:
    return compile_flow(FLOW)


def literal(flow: Flow, data: dict[str, Any]) -> dict[str, Any]:
    # The hash says which flow text the call runs; the format does not depend on it.
    return {**copy.deepcopy(data), "flow_hash": flow.content_hash}


def in_a_call(flow: Flow) -> Session:
    s = new_session(flow)
    s.start()
    s.send(ev.NoInput(T0 + 5))
    s.send(ev.Digits(T0 + 7, "3"))
    s.send(ev.Digits(T0 + 9, "7"))
    return s


def in_a_lookup(flow: Flow) -> Session:
    s = new_session(flow)
    s.start()
    s.send(ev.Digits(T0 + 2, "1"))
    s.send(ev.Digits(T0 + 4, "123456#"))
    s.send(ev.Digits(T0 + 5, "2"))
    return s


def test_an_old_snapshot_inside_a_call_restores_and_goes_on(flow: Flow) -> None:
    old = Session.from_dict(flow, literal(flow, IN_A_CALL))
    assert (old.state, old.phase, old.noinput, old.nomatch) == ("verify_menu", "menu", 0, 1)
    assert tuple(old.inputs[1][:3]) == ("verify_menu", "dtmf", "7")
    assert tuple(old.failures[0][:2]) == ("main", "noinput")
    assert old.calls[0][0] == "main" and old.calls[0][2] == [(4, 1)]
    # `1` in verify_menu returns to main, which goes on where `call verify` left it.
    events = [ev.Digits(T0 + 11, "1"), ev.Digits(T0 + 13, "9"), ev.Hangup(T0 + 15)]
    same_future(in_a_call(flow), old, events)


def test_an_old_snapshot_waiting_for_a_lookup_restores_and_goes_on(flow: Flow) -> None:
    old = Session.from_dict(flow, literal(flow, IN_A_LOOKUP))
    assert (old.state, old.phase, old.pending) == ("find", "lookup", "c1:1")
    assert old.typeahead == ""  # sealed without a key: dropped, never restored in clear
    live = Session.from_dict(flow, through_json(in_a_lookup(flow)))
    events = [
        ev.LookupResult(T0 + 6, "c1:1", {"balance": 10.5}),
        ev.NoInput(T0 + 11),
        ev.Hangup(T0 + 12),
    ]
    same_future(live, old, events)


@pytest.mark.parametrize(("make", "data"), [(in_a_call, IN_A_CALL), (in_a_lookup, IN_A_LOOKUP)])
def test_the_same_call_is_written_as_it_was(flow: Flow, make: Any, data: dict[str, Any]) -> None:
    """Field for field the JSON an older worker wrote, so an older worker can read ours."""
    assert through_json(make(flow)) == literal(flow, data)
