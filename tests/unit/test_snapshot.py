"""Session snapshots: continue a call exactly where it was, on any process (issue 3).

`to_dict()` → JSON text → `from_dict()`, mid-capture, mid-look-up, inside a subflow; a changed
flow or a damaged snapshot is a `SnapshotError`; secure values never appear in clear.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ivrflow
from ivrflow.errors import IvrflowError
from ivrflow.model import Flow
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.record import Listener
from ivrflow.runtime.session import Session
from ivrflow.runtime.snapshot import SnapshotError

T0 = 1795525200.0  # Tuesday 2026-11-24 10:00 in São Paulo
KEY = b"0123456789abcdef0123456789abcdef"
CARD = "4111111111111111"


def compile_flow(text: str) -> Flow:
    result = ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return result.flow


def new_session(flow: Flow, **options: Any) -> Session:
    return Session(flow, call_id="c1", ani="+5511987650000", dnis="+551140040000", at=T0, **options)


def through_json(session: Session, key: bytes | None = None) -> dict[str, Any]:
    text = json.dumps(session.to_dict(key=key))  # plain JSON: no default= needed
    return json.loads(text)


def restored(session: Session, flow: Flow | None = None, key: bytes | None = None) -> Session:
    return Session.from_dict(flow or session.flow, through_json(session, key), key=key)


def as_dicts(actions: list[act.Action]) -> list[dict[str, Any]]:
    return [a.as_dict() for a in actions]


Script = list[Callable[[Session, float], Any]]


def same_future(a: Session, b: Session, events: list[Any]) -> None:
    """Both sessions give the same actions for the same events, and the same record."""
    for event in events:
        assert as_dicts(a.send(event)) == as_dicts(b.send(event)), event
    assert a.ended and b.ended
    assert a.record == b.record


FLOW = """
flow snap
  language pt-BR
  country BR
  timezone "America/Sao_Paulo"
function fetch_account(contract) timeout 2s
function pay(contract, card) timeout 5s
queue billing "Billing"
var tries = 0
start:
  -> main
menu main:
  say "Tecle 1 para o saldo, 2 para pagar, 3 para verificar."
  1 -> account
  2 -> card
  3:
    call verify
    say "Verificado: {{ verified }}."
    -> main
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  exhausted: hangup "exhausted"
capture account:
  digits 6..10
  end "#"
  say "Digite o contrato."
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  ok -> find
  exhausted: hangup "exhausted"
lookup find fetch_account(account) as acct:
  say "Um momento."
  ok:
    set tries = tries + 1
    say "Saldo {{ acct.balance | currency }}."
    -> main
  error: hangup "lookup failed"
capture card:
  digits 16
  end none
  secure
  say "Digite o cartão."
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  ok -> charge
  exhausted: hangup "exhausted"
lookup charge pay(account, card) as payment:
  ok: hangup "paid"
  error: hangup "not paid"
var verified = false
step verify:
  say "Verificando."
  -> verify_menu
menu verify_menu:
  say "Tecle 1 para confirmar."
  1:
    set verified = true
    return
  noinput: say "?"
  nomatch: say "?"
  exhausted: return
"""


@pytest.fixture(scope="module")
def flow() -> Flow:
    return compile_flow(FLOW)


def test_a_snapshot_is_plain_json_stamped_with_the_flow(flow: Flow) -> None:
    session = new_session(flow)
    session.start()
    data = through_json(session)
    assert data["flow"] == "snap"
    assert data["flow_hash"] == flow.content_hash
    assert json.loads(json.dumps(data)) == data


def test_round_trip_before_start(flow: Flow) -> None:
    a = new_session(flow)
    b = restored(a)
    assert as_dicts(a.start()) == as_dicts(b.start())


def test_round_trip_mid_capture(flow: Flow) -> None:
    a = new_session(flow)
    a.start()
    a.send(ev.Digits(T0 + 1, "1"))
    a.send(ev.Digits(T0 + 2, "123"))  # three keys of 6..10 buffered
    b = restored(a)
    assert b.state == "account" and b.phase == "capture"
    same_future(
        a,
        b,
        [
            ev.Digits(T0 + 3, "4567#"),
            ev.LookupResult(T0 + 4, "c1:1", {"balance": 5}),
            ev.Hangup(T0 + 5),
        ],
    )
    assert a.vars["account"] == "1234567"


def test_round_trip_mid_lookup(flow: Flow) -> None:
    a = new_session(flow)
    a.start()
    a.send(ev.Digits(T0 + 1, "1"))
    actions = a.send(ev.Digits(T0 + 2, "123456#"))
    lookup = [x for x in actions if isinstance(x, act.Lookup)][0]
    a.send(ev.Digits(T0 + 2.5, "2"))  # type-ahead during the look-up
    b = restored(a, key=KEY)  # the flow has a secure capture: type-ahead is sealed
    assert b.phase == "lookup"
    events = [
        ev.LookupResult(T0 + 3, "stale-request", {"balance": 1}),
        ev.LookupResult(T0 + 3.2, lookup.request, {"balance": 12.5}),
        ev.Digits(T0 + 4, "1234123412341234"),
        ev.LookupFailed(T0 + 5, "c1:2", "declined"),
    ]
    same_future(a, b, events)
    assert a.record is not None
    assert a.record["lookups"][0]["latency_ms"] == 1200.0
    assert a.record["outcome"]["reason"] == "not paid"


def test_type_ahead_in_a_flow_with_secure_captures_needs_the_key(flow: Flow) -> None:
    a = new_session(flow)
    a.start()
    a.send(ev.Digits(T0 + 1, "1"))
    a.send(ev.Digits(T0 + 2, "123456#"))
    a.send(ev.Digits(T0 + 2.5, "2"))  # type-ahead during the look-up: maybe a card number
    assert '"2"' not in json.dumps(a.to_dict()["keys"])
    b = Session.from_dict(flow, through_json(a))  # no key: the keys are dropped
    actions = b.send(ev.LookupResult(T0 + 3, "c1:1", {"balance": 1}))
    assert b.state == "main"  # the "2" was not kept: the menu listens
    assert isinstance(actions[-1], act.Collect)


def test_round_trip_inside_a_subflow_call(flow: Flow) -> None:
    a = new_session(flow)
    a.start()
    actions = a.send(ev.Digits(T0 + 1, "3"))
    assert a.state == "verify_menu"
    assert isinstance(actions[-1], act.Collect)
    b = restored(a)
    first = b.send(ev.Digits(T0 + 2, "1"))
    assert [x.text for x in first if isinstance(x, act.Say)][:1] == ["Verificado: True."]
    a.send(ev.Digits(T0 + 2, "1"))
    same_future(a, b, [ev.Digits(T0 + 3, "9"), ev.NoInput(T0 + 9), ev.Hangup(T0 + 10)])


def test_round_trip_after_every_event_of_a_call(flow: Flow) -> None:
    events = [
        ev.NoInput(T0 + 5),
        ev.Digits(T0 + 6, "1"),
        ev.Digits(T0 + 7, "12"),
        ev.NoInput(T0 + 10),
        ev.Digits(T0 + 11, "123456#"),
        ev.LookupResult(T0 + 12, "c1:1", {"balance": 3}),
        ev.Digits(T0 + 13, "3"),
        ev.Digits(T0 + 14, "1"),
        ev.Digits(T0 + 15, "2"),
        ev.Digits(T0 + 16, CARD),
        ev.LookupResult(T0 + 17, "c1:2", {"ok": True}),
    ]
    plain = new_session(flow)
    expected = [as_dicts(plain.start())] + [as_dicts(plain.send(e)) for e in events]
    assert plain.ended
    for k in range(len(events) + 1):
        session = new_session(flow)
        got = [as_dicts(session.start())]
        for n, event in enumerate(events):
            if n == k:
                session = restored(session, key=KEY)
            got.append(as_dicts(session.send(event)))
        assert got == expected, k
        assert session.record == plain.record, k


def test_round_trip_keeps_the_split_seed() -> None:
    flow = compile_flow(
        """
        flow ab
          language en-US
        start:
          -> ask
        menu ask:
          say "Press 1."
          1:
            split:
              50% -> a
              50% -> b
          noinput: say "?"
          nomatch: say "?"
          exhausted: hangup "out"
        step a:
          hangup "a"
        step b:
          hangup "b"
        """
    )
    for seed in range(1, 30):
        a = new_session(flow, seed=seed)
        a.start()
        b = restored(a)
        same_future(a, b, [ev.Digits(T0 + 1, "1")])


def test_round_trip_of_an_ended_call(flow: Flow) -> None:
    a = new_session(flow)
    a.start()
    a.send(ev.Hangup(T0 + 3))
    b = restored(a)
    assert b.ended
    assert b.record == a.record
    assert b.send(ev.Digits(T0 + 4, "1")) == []


def test_host_settings_are_given_again_on_restore(flow: Flow) -> None:
    ended: list[dict[str, Any]] = []

    class OnEnd(Listener):
        def ended(self, session: Session, record: dict[str, Any]) -> None:
            ended.append(record)

    a = new_session(flow)
    a.start()
    b = Session.from_dict(flow, through_json(a), listeners=[OnEnd()], emergency=frozenset())
    b.send(ev.Hangup(T0 + 1))
    assert len(ended) == 1
    assert ended[0]["outcome"]["kind"] == "abandoned"


# ---------------------------------------------------------------- a changed flow


def test_restoring_against_a_changed_flow_names_both_hashes(flow: Flow) -> None:
    changed = compile_flow(FLOW.replace("Tecle 1 para o saldo", "Tecle 1 para saber o saldo"))
    assert changed.content_hash != flow.content_hash
    session = new_session(flow)
    session.start()
    with pytest.raises(SnapshotError) as info:
        Session.from_dict(changed, through_json(session))
    message = str(info.value)
    assert flow.content_hash[:12] in message
    assert changed.content_hash[:12] in message
    assert "snap" in message
    assert isinstance(info.value, IvrflowError)


def test_restoring_against_another_flow(flow: Flow) -> None:
    other = compile_flow(FLOW.replace("flow snap", "flow other"))
    session = new_session(flow)
    session.start()
    with pytest.raises(SnapshotError, match="other|snap"):
        Session.from_dict(other, through_json(session))


# ---------------------------------------------------------------- damaged snapshots


def _damage(data: dict[str, Any], how: str) -> Any:
    data = copy.deepcopy(data)
    if how == "not a mapping":
        return ["not", "a", "snapshot"]
    if how == "no format":
        del data["format"]
    elif how == "future format":
        data["format"] = 999
    elif how == "no vars":
        del data["vars"]
    elif how == "vars not a mapping":
        data["vars"] = 5
    elif how == "no path":
        del data["path"]
    elif how == "path not pairs":
        data["path"] = [["start"]]
    elif how == "path times not numbers":
        data["path"] = [["start", "yesterday"]]
    elif how == "calls not frames":
        data["calls"] = [[1]]
    elif how == "calls point nowhere":
        assert data["calls"], "the session should be inside a call"
        data["calls"][0][2] = [[99999, 0]]
    elif how == "no keys":
        del data["keys"]
    elif how == "keys not a mapping":
        data["keys"] = "123"
    elif how == "unknown state":
        data["state"] = "no_such_state"
    elif how == "started_at not a number":
        data["started_at"] = "noon"
    elif how == "no call_id":
        del data["call_id"]
    elif how == "secure not a mapping":
        data["secure"] = 5
    elif how == "sealed value not text":
        data["secure"] = {"card": 5}
    elif how == "outcome not a mapping":
        data["outcome"] = 5
    elif how == "inputs not a list":
        data["inputs"] = 5
    elif how == "empty":
        return {}
    else:
        raise AssertionError(how)
    return data


DAMAGES = [
    "not a mapping",
    "no format",
    "future format",
    "no vars",
    "vars not a mapping",
    "no path",
    "path not pairs",
    "path times not numbers",
    "calls not frames",
    "calls point nowhere",
    "no keys",
    "keys not a mapping",
    "unknown state",
    "started_at not a number",
    "no call_id",
    "empty",
    "secure not a mapping",
    "sealed value not text",
    "outcome not a mapping",
    "inputs not a list",
]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_snapshot_is_a_snapshot_error(flow: Flow, how: str) -> None:
    session = new_session(flow)
    session.start()
    session.send(ev.Digits(T0 + 1, "3"))  # inside a subflow call: the call stack is set
    data = _damage(through_json(session), how)
    try:
        restored_session = Session.from_dict(flow, data, key=KEY)
    except SnapshotError:
        return
    # Accepting it is only fine if the call then goes on without crashing.
    restored_session.send(ev.Digits(T0 + 2, "1"))
    restored_session.send(ev.Hangup(T0 + 3))
    assert restored_session.record is not None


@pytest.mark.parametrize(
    "how",
    ["not a mapping", "no format", "future format", "no vars", "unknown state", "empty"],
)
def test_clearly_damaged_snapshots_are_refused(flow: Flow, how: str) -> None:
    session = new_session(flow)
    session.start()
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, _damage(through_json(session), how))


# ---------------------------------------------------------------- secure values


def at_secure_capture(flow: Flow, keys: str) -> Session:
    session = new_session(flow)
    session.start()
    session.send(ev.Digits(T0 + 1, "1"))
    session.send(ev.Digits(T0 + 2, "123456#"))
    session.send(ev.LookupResult(T0 + 3, "c1:1", {"balance": 1}))
    session.send(ev.Digits(T0 + 4, "2"))
    assert session.state == "card"
    if keys:
        session.send(ev.Digits(T0 + 5, keys))
    return session


def test_a_secure_value_is_never_in_clear_without_a_key(flow: Flow) -> None:
    session = at_secure_capture(flow, CARD)
    assert session.state == "charge"
    assert session.vars["card"] == CARD
    text = json.dumps(session.to_dict())
    assert CARD not in text
    assert CARD[-4:] + '"' not in text


def test_a_secure_value_is_never_in_clear_with_a_key_and_comes_back(flow: Flow) -> None:
    session = at_secure_capture(flow, CARD)
    text = json.dumps(session.to_dict(key=KEY))
    assert CARD not in text
    back = Session.from_dict(flow, json.loads(text), key=KEY)
    assert back.vars["card"] == CARD
    same_future(session, back, [ev.LookupResult(T0 + 6, "c1:2", {}), ev.Hangup(T0 + 7)])


def test_a_secure_value_left_out_takes_the_error_path_when_read() -> None:
    flow2 = compile_flow(
        """
        flow secret
          language en-US
        start:
          -> pin
        capture pin:
          digits 4
          end none
          secure
          say "PIN?"
          noinput: say "?"
          nomatch: say "?"
          ok -> confirm
          exhausted: hangup "out"
        menu confirm:
          say "Press 1 to hear it."
          1:
            say "Your PIN is {{ pin }}."
            hangup "heard"
          noinput: say "?"
          nomatch: say "?"
          exhausted: hangup "out"
        """
    )
    a = new_session(flow2)
    a.start()
    a.send(ev.Digits(T0 + 1, "4821"))
    text = json.dumps(a.to_dict())
    assert "4821" not in text
    b = Session.from_dict(flow2, json.loads(text))
    b.send(ev.Digits(T0 + 2, "1"))
    assert b.ended
    assert b.record is not None
    assert b.record["outcome"]["kind"] == "error"
    assert "4821" not in json.dumps(b.record)
    # With the key the call goes on as if never interrupted.
    c = Session.from_dict(flow2, through_json(a, KEY), key=KEY)
    said = [x.text for x in c.send(ev.Digits(T0 + 2, "1")) if isinstance(x, act.Say)]
    assert said == ["Your PIN is 4821."]


def test_secure_keys_mid_entry_are_not_in_clear(flow: Flow) -> None:
    session = at_secure_capture(flow, "")
    session.send(ev.Digits(T0 + 5, "41119876"))  # half a card
    assert session.phase == "capture"
    assert "41119876" not in json.dumps(session.to_dict())
    assert "41119876" not in json.dumps(session.to_dict(key=KEY))
    back = Session.from_dict(flow, through_json(session, KEY), key=KEY)
    same_future(
        session,
        back,
        [ev.Digits(T0 + 6, "54321012"), ev.LookupResult(T0 + 7, "c1:2", {}), ev.Hangup(T0 + 8)],
    )
    assert session.vars["card"] == "4111987654321012"


def test_secure_keys_mid_entry_without_key_are_dropped_not_kept(flow: Flow) -> None:
    session = at_secure_capture(flow, "")
    session.send(ev.Digits(T0 + 5, "41119876"))
    back = Session.from_dict(flow, through_json(session))
    back.send(ev.Digits(T0 + 6, "54321012"))
    assert back.vars.get("card") != "4111987654321012"  # the first half was not kept


def test_a_wrong_key_is_a_snapshot_error(flow: Flow) -> None:
    session = at_secure_capture(flow, CARD)
    data = through_json(session, KEY)
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, data, key=b"another key, quite wrong........")


def test_a_tampered_sealed_value_is_a_snapshot_error(flow: Flow) -> None:
    session = at_secure_capture(flow, CARD)
    data = through_json(session, KEY)
    token = data["secure"]["card"]
    assert isinstance(token, str)
    data["secure"]["card"] = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, data, key=KEY)
    data["secure"]["card"] = "!!! not base64 !!!"
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, data, key=KEY)


def test_sealing_uses_a_fresh_nonce(flow: Flow) -> None:
    session = at_secure_capture(flow, CARD)
    first = session.to_dict(key=KEY)["secure"]["card"]
    second = session.to_dict(key=KEY)["secure"]["card"]
    assert first != second


def test_the_record_never_holds_a_secure_value(flow: Flow) -> None:
    session = at_secure_capture(flow, CARD)
    session.send(ev.Hangup(T0 + 9))
    assert CARD not in json.dumps(session.record)


# ---------------------------------------------------------------- known gaps


ERROR_STATE = """
flow errstate
  language en-US
var zero = 0
start:
  set a = 1 / zero
  hangup "never"
step error:
  -> ask
menu ask:
  say "Press 1."
  1:
    set b = 1 / zero
    hangup "never"
  noinput: say "?"
  nomatch: say "?"
  exhausted: hangup "out"
"""


def test_the_error_state_is_entered_once_across_a_snapshot() -> None:
    flow = compile_flow(ERROR_STATE)
    a = new_session(flow)
    a.start()
    assert a.state == "ask"
    b = restored(a)
    same_future(a, b, [ev.Digits(T0 + 1, "1")])
    assert a.record is not None and a.record["outcome"]["kind"] == "error"


def test_type_ahead_for_a_secure_capture_is_not_in_clear() -> None:
    flow2 = compile_flow(
        """
        flow ahead
          language en-US
        function fetch(x)
        start:
          -> find
        lookup find fetch(1) as r:
          ok -> card
          error -> card
        capture card:
          digits 16
          end none
          secure
          say "Card?"
          noinput: say "?"
          nomatch: say "?"
          ok: hangup "ok"
          exhausted: hangup "out"
        """
    )
    a = new_session(flow2)
    a.start()
    a.send(ev.Digits(T0 + 1, CARD))  # keyed during the look-up
    assert CARD not in json.dumps(a.to_dict())
    assert CARD not in json.dumps(a.to_dict(key=KEY))
    b = Session.from_dict(flow2, through_json(a, KEY), key=KEY)
    same_future(a, b, [ev.LookupResult(T0 + 2, "c1:1", {})])
    assert a.vars["card"] == CARD


def test_copy_is_an_independent_fork() -> None:
    """Session.copy() forks a call in process: both go on their own way from the same point."""
    from ivrflow.tools.testing import Call

    flows = Path(__file__).resolve().parents[2] / "flows"
    call = Call(ivrflow.load(flows / "billing.ivr"), dnis="+551130030001")
    call.start()
    call.press("2")
    twin = call.session.copy()
    a = call.session.send(ev.Digits(call.now + 5, "79927398713#"))
    b = twin.send(ev.Hangup(call.now + 5))
    assert twin.ended and not call.session.ended
    assert twin.record is not None and twin.record["outcome"]["kind"] == "abandoned"
    assert [x.as_dict() for x in a] and not b
    assert call.session.inputs != twin.inputs


def test_failures_survive_a_snapshot_and_older_snapshots_without_them_restore(
    flow: Flow,
) -> None:
    a = new_session(flow)
    a.start()
    a.send(ev.NoInput(T0 + 5))
    b = restored(a)
    assert b.failures == a.failures and a.failures[0][:2] == ("main", "noinput")
    older = through_json(a)
    del older["failures"]  # written by a worker from before the field existed
    c = Session.from_dict(flow, older)
    assert c.failures == []
    c.send(ev.Hangup(T0 + 6))
    assert c.record is not None and c.record["outcome"]["kind"] == "abandoned"


def test_a_call_resumes_on_a_worker_that_keeps_the_flows_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hash stamps snapshots and records: it must say what the flow is, not where it sits.
    import shutil

    flows = Path(__file__).resolve().parents[2] / "flows"
    skip = shutil.ignore_patterns("records", "tests", "models")
    shutil.copytree(flows, tmp_path / "a" / "flows", ignore=skip)
    shutil.copytree(flows, tmp_path / "b" / "ivr", ignore=skip)
    monkeypatch.chdir(tmp_path / "a")
    here = ivrflow.load("flows/billing.ivr")  # a relative path on one worker…
    there = ivrflow.load(tmp_path / "b" / "ivr" / "billing.ivr")  # …an absolute one on another
    assert here.content_hash == there.content_hash
    call = Session(here, call_id="c1", ani="+5511987650000", dnis="+551130030001", at=T0)
    call.start()
    resumed = Session.from_dict(there, through_json(call))
    assert resumed.state == call.state
    (tmp_path / "b" / "ivr" / "common" / "hours.ivr").write_text(
        (flows / "common" / "hours.ivr").read_text(encoding="utf-8") + "\n# changed\n",
        encoding="utf-8",
    )
    assert ivrflow.load(tmp_path / "b" / "ivr" / "billing.ivr").content_hash != here.content_hash
