"""Hostile events into a session: inputs capped, garbage refused, the call always ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivrflow.runtime import events as ev
from ivrflow.runtime.session import (
    MAX_DIGITS,
    MAX_RESULT_DEPTH,
    MAX_RESULT_ITEMS,
    MAX_UTTERANCE,
    Session,
)
from ivrflow.runtime.snapshot import SnapshotError
from ivrflow.tools.testing import Call

pytestmark = pytest.mark.abuse

ROOT = Path(__file__).resolve().parents[2]
BILLING = ROOT / "flows" / "billing.ivr"
BANK = ROOT / "flows" / "bank.ivr"


def billing() -> Call:
    return Call.open(BILLING)


def test_a_flood_of_keys_is_cut_at_the_digit_buffer() -> None:
    call = billing()
    call.press("2")  # the contract number capture
    assert call.state == "account"
    call.session.send(ev.Digits(call.now + 1, "1" * 1_000_000))
    assert len(call.session.buffer) <= MAX_DIGITS
    assert len(call.session.typeahead) <= MAX_DIGITS
    record_inputs = [i for i in call.session.inputs if i[0] == "account"]
    assert all(len(i[2]) <= MAX_DIGITS for i in record_inputs)


def test_a_huge_utterance_is_looked_at_up_to_the_cap() -> None:
    call = billing()
    call.session.send(ev.Utterance(call.now + 1, "blá " * 1_000_000, 1.0))
    spoken = [i for i in call.session.inputs if i[1] == "speech"]
    assert spoken and len(spoken[0][2]) == MAX_UTTERANCE
    assert not call.ended  # a no-match, not a crash


@pytest.mark.parametrize("keys", ["abc", "１２３", "\x00\x01", "<script>", "😀"])
def test_keys_that_are_not_phone_keys_are_a_no_match(keys: str) -> None:
    call = billing()
    call.session.send(ev.Digits(call.now + 1, keys))
    assert call.session.total_nomatch == 1
    assert call.state == "main_menu" and not call.ended


@pytest.mark.parametrize("confidence", ["high", None, float("nan"), -3])
def test_regression_a_garbled_confidence_asks_did_you_say(confidence: object) -> None:
    """Before: a confidence that was not a number (None, "high") crashed the call with a
    TypeError and an error outcome; NaN was taken as certain."""
    call = billing()
    call.session.send(ev.Utterance(call.now + 1, "segunda via", confidence))  # type: ignore[arg-type]
    assert not call.ended and call.session.errors == []
    assert call.session.phase == "did_you_say"


@pytest.mark.parametrize("at", [float("nan"), float("inf"), -1e18, 1e300])
def test_broken_clock_readings_are_held_still(at: float) -> None:
    call = billing()
    before = call.session.now
    call.session.send(ev.Digits(at, "2"))
    assert call.session.now == before
    assert call.state == "account"


def test_an_unexpected_event_object_ends_the_call_with_a_record() -> None:
    call = billing()
    call.session.send("not an event")  # type: ignore[arg-type]
    assert call.ended
    assert call.record is not None and call.record["outcome"]["kind"] == "error"


def test_events_after_the_end_change_nothing() -> None:
    call = billing()
    call.hangup()
    record = call.record
    for event in (ev.Digits(call.now + 1, "1"), ev.Hangup(call.now + 2), ev.NoInput(call.now + 3)):
        assert call.session.send(event) == []
    assert call.record == record


def pin_entered() -> Call:
    call = Call.open(BANK)
    call.press("1")
    call.press("52998224725")
    call.press("1")
    assert call.state == "pin"
    call.press("83")  # half the PIN: the rest is still to come
    return call


def test_a_snapshot_without_a_key_drops_secure_keys_and_says_so_on_use() -> None:
    call = pin_entered()
    data = call.session.to_dict()
    assert "83" not in str(data["keys"]) and data["keys"].get("sealed") is None
    restored = Session.from_dict(call.flow, data)
    assert restored.buffer == ""


def test_a_snapshot_with_a_key_seals_secure_keys_and_a_wrong_key_is_refused() -> None:
    call = pin_entered()
    data = call.session.to_dict(key=b"right key")
    assert isinstance(data["keys"]["sealed"], str) and "83" not in data["keys"]["sealed"][:4]
    assert Session.from_dict(call.flow, data, key=b"right key").buffer == "83"
    with pytest.raises(SnapshotError, match="wrong key"):
        Session.from_dict(call.flow, data, key=b"wrong key")


EXPIRY_AS_DATE = """
flow expiry "Expiry read back through the date filter"
  timeout 5s, retries 2

function pay(card) timeout 5s

start:
  -> expiry

capture expiry:
  say "Enter the expiry date."
  digits 4
  secure
  ok -> read
  exhausted -> bye

step read:
  say "Expires {{ expiry | date }}."
  -> bye

lookup charge pay(expiry):
  ok -> bye

step bye:
  say "Bye."
  hangup
"""


def test_regression_a_failing_filter_does_not_quote_a_secure_value(tmp_path: Path) -> None:
    """Before: `{{ expiry | date }}` on 1228 failed with "date: '1228' is not a date", and
    that text — the secure value in clear — went into the record, `error` and snapshots.
    Found by `ivrflow fuzz`."""
    path = tmp_path / "expiry.ivr"
    path.write_text(EXPIRY_AS_DATE, encoding="utf-8")
    call = Call.open(path)
    call.press("1228")
    assert call.ended and call.record is not None
    assert "1228" not in str(call.record)
    assert "'****' is not a date" in call.record["outcome"]["reason"]
    assert "1228" not in str(call.session.vars["error"])


def test_a_host_reason_quoting_a_secure_value_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "expiry.ivr"
    path.write_text(EXPIRY_AS_DATE.replace("ok -> read", "ok -> charge"), encoding="utf-8")
    call = Call(Call.open(path).flow)
    call.fixtures.lookups.clear()  # no fixture: answer by hand below
    call.start()
    call.session.send(ev.Digits(call.now + 1, "1228"))
    assert call.session.phase == "lookup"
    request = call.session.pending
    assert request is not None
    call.session.send(ev.LookupFailed(call.now + 2, request, "card expiring 1228 declined"))
    assert call.ended and call.record is not None
    assert "1228" not in str(call.record)
    assert call.record["lookups"][0]["reason"] == "card expiring **** declined"


def at_the_account_lookup() -> Call:
    call = billing()
    call.session.send(ev.Digits(call.now + 1, "2"))
    call.session.send(ev.Digits(call.now + 2, "79927398713#"))
    call.session.send(ev.Digits(call.now + 3, "1"))
    assert call.session.phase == "lookup"
    return call


def nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"status": "ok", "balance": 1, "due": "2026-12-10"}
    for _ in range(levels):
        value = {"status": "ok", "balance": 1, "due": "2026-12-10", "inner": value}
    return value


@pytest.mark.parametrize("levels", [100, 5_000])
def test_regression_a_deeply_nested_lookup_result_cannot_break_snapshots(levels: int) -> None:
    """Before: a host answering with JSON nested 500 levels was kept in the call's
    variables, and every later `to_dict()` raised RecursionError (a webhook worker could
    not store the call)."""
    call = at_the_account_lookup()
    s = call.session
    s.send(ev.LookupResult(s.now + 1, str(s.pending), nested(levels)))
    assert s.lookups[-1]["status"] == "error"
    assert "nested more than" in s.lookups[-1]["reason"]
    json.dumps(s.to_dict())  # the call can still be stored …
    assert s.state != "balance"  # … and took the look-up's error branch


def test_a_lookup_result_with_a_million_items_is_refused() -> None:
    call = at_the_account_lookup()
    s = call.session
    s.send(ev.LookupResult(s.now + 1, str(s.pending), list(range(1_000_000))))
    assert s.lookups[-1]["reason"] == f"malformed result: more than {MAX_RESULT_ITEMS} items"


def test_an_ordinary_nested_result_is_kept() -> None:
    call = at_the_account_lookup()
    s = call.session
    s.send(ev.LookupResult(s.now + 1, str(s.pending), nested(MAX_RESULT_DEPTH - 2)))
    assert s.lookups[-1]["status"] == "ok"


@pytest.mark.abuse
def test_a_secure_entry_is_masked_in_the_test_transcript() -> None:
    # `ivrflow test` prints the transcript of a failing scenario: a PIN must not reach CI logs.
    call = Call.open(Path(__file__).resolve().parents[2] / "flows" / "bank.ivr")
    for keys in ("1", "52998224725", "1", "4821"):
        call.press(keys)
    shown = "\n".join(str(line) for line in call.transcript)
    assert "4821" not in shown
    assert "****" in shown
    assert "52998224725" in shown  # the CPF is not secure: shown as typed
