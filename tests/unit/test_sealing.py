"""Issue 16: secure values in snapshots are sealed with AES-256-GCM and bound to their call,
flow and variable. A sealed CVV moved into the card number's field, or a card number moved into
another call's snapshot, no longer opens; keys rotate; the old home-made format is refused."""

from __future__ import annotations

import base64
import json
import textwrap
from typing import Any

import pytest

import ivrflow
from ivrflow.model import Flow
from ivrflow.runtime import events as ev
from ivrflow.runtime.sealing import Keyring, SealError, derive, parse_key
from ivrflow.runtime.session import Session
from ivrflow.runtime.snapshot import SnapshotError

T0 = 1795525200.0
CARD, CVV = "4111111111111111", "737"
RAW = base64.b64encode(bytes(range(32))).decode()
KEYS = Keyring.parse(f"k2=raw:{RAW}")

PAYMENT = """
flow payment "Card payment"
  language en-US
  timeout 5s, retries 2

start:
  -> card

capture card:
  digits 16
  secure
  say "Your card number."
  ok -> cvv
  exhausted -> hangup

capture cvv:
  digits 3
  secure
  say "The three digits on the back."
  ok -> done
  exhausted -> hangup

menu done:
  say "Press 1 to pay."
  1 -> paid
  exhausted -> hangup

step paid:
  hangup "paid"
"""


def payment(text: str = PAYMENT) -> Flow:
    result = ivrflow.compile_file("payment.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [d.message for d in result.diagnostics]
    return result.flow


def entered(flow: Flow, call_id: str, card: str = CARD, cvv: str = CVV) -> Session:
    session = Session(flow, call_id=call_id, ani="+15550001111", dnis="+15550002222", at=T0)
    session.start()
    session.send(ev.Digits(T0 + 1, card))
    session.send(ev.Digits(T0 + 2, cvv))
    assert session.state == "done"
    return session


def snapshot(session: Session, key: Any = KEYS) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(session.to_dict(key=key)))
    return data


def test_sealed_values_come_back_and_are_never_in_clear() -> None:
    flow = payment()
    data = snapshot(entered(flow, "CA1"))
    text = json.dumps(data)
    assert CARD not in text and CVV not in text
    assert data["secure"]["card"].startswith("v2.k2.")
    back = Session.from_dict(flow, data, key=KEYS)
    assert (back.vars["card"], back.vars["cvv"]) == (CARD, CVV)


def test_a_sealed_cvv_moved_into_the_card_field_is_refused() -> None:
    flow = payment()
    data = snapshot(entered(flow, "CA1"))
    data["secure"]["card"], data["secure"]["cvv"] = data["secure"]["cvv"], data["secure"]["card"]
    with pytest.raises(SnapshotError, match="moved from another field or call"):
        Session.from_dict(flow, data, key=KEYS)


def test_a_sealed_value_moved_into_another_calls_snapshot_is_refused() -> None:
    flow = payment()
    mine = snapshot(entered(flow, "CA-mine", card="5555555555554444"))
    theirs = snapshot(entered(flow, "CA-theirs"))
    mine["secure"]["card"] = theirs["secure"]["card"]
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, mine, key=KEYS)


def test_a_sealed_value_moved_into_another_flows_snapshot_is_refused() -> None:
    flow, other = payment(), payment(PAYMENT.replace("Press 1 to pay.", "Press 1, please."))
    assert flow.content_hash != other.content_hash
    theirs = snapshot(entered(flow, "CA1"))
    mine = snapshot(entered(other, "CA1"))  # the same call id, another flow
    mine["secure"]["card"] = theirs["secure"]["card"]
    with pytest.raises(SnapshotError):
        Session.from_dict(other, mine, key=KEYS)


def test_a_wrong_key_is_refused() -> None:
    flow = payment()
    data = snapshot(entered(flow, "CA1"))
    other = Keyring.parse("k2=another secret entirely")  # the same id, another key
    with pytest.raises(SnapshotError, match="wrong key"):
        Session.from_dict(flow, data, key=other)


def test_rotation_seals_with_the_first_key_and_opens_with_any() -> None:
    flow = payment()
    old = Keyring.parse("k1=the old secret")
    sealed_before = snapshot(entered(flow, "CA-old"), key=old)
    rotated = Keyring.parse(f"k2=raw:{RAW},k1=the old secret")
    assert Session.from_dict(flow, sealed_before, key=rotated).vars["card"] == CARD
    sealed_after = snapshot(entered(flow, "CA-new"), key=rotated)
    assert sealed_after["secure"]["card"].startswith("v2.k2.")
    with pytest.raises(SnapshotError, match="key 'k2', which this worker does not have"):
        Session.from_dict(flow, sealed_after, key=old)  # a worker not yet given the new key
    retired = Keyring.parse(f"k2=raw:{RAW}")  # the old key dropped after the session TTL
    with pytest.raises(SnapshotError, match="'k1'"):
        Session.from_dict(flow, sealed_before, key=retired)


def test_a_value_sealed_by_the_old_homemade_cipher_is_refused_with_a_clear_error() -> None:
    flow = payment()
    data = snapshot(entered(flow, "CA1"))
    # The format before issue 16: base64(nonce16 ‖ keystream XOR ‖ truncated HMAC), no prefix.
    data["secure"]["card"] = base64.urlsafe_b64encode(b"\x01" * 16 + b"x" * 18 + b"t" * 16).decode()
    with pytest.raises(SnapshotError, match="older ivrflow"):
        Session.from_dict(flow, data, key=KEYS)


def test_pending_secure_keys_are_bound_too() -> None:
    flow = payment()
    session = Session(flow, call_id="CA1", ani=None, dnis=None, at=T0)
    session.start()
    session.send(ev.Digits(T0 + 1, "4111", terminated=False))
    data = snapshot(session)
    other = snapshot(entered(flow, "CA1"))
    assert isinstance(data["keys"]["sealed"], str)
    other_session = Session(flow, call_id="CA2", ani=None, dnis=None, at=T0)
    other_session.start()
    other_session.send(ev.Digits(T0 + 1, "9999", terminated=False))
    moved = snapshot(other_session)
    moved["keys"]["sealed"] = data["keys"]["sealed"]
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, moved, key=KEYS)
    data["keys"]["sealed"] = other["secure"]["card"]  # a variable's seal as the keys
    with pytest.raises(SnapshotError):
        Session.from_dict(flow, data, key=KEYS)


def test_key_forms() -> None:
    assert parse_key(f"raw:{RAW}") == bytes(range(32))
    assert parse_key("hex:" + bytes(range(32)).hex()) == bytes(range(32))
    assert parse_key("a passphrase") == derive(b"a passphrase") != derive(b"another")
    assert len(derive(b"x")) == 32
    for bad in ("raw:AAAA", "hex:00ff", "raw:not base64!"):
        with pytest.raises(SealError):
            parse_key(bad)
    with pytest.raises(SealError, match="ID=KEY"):
        Keyring.parse("one secret,another")
    with pytest.raises(SealError, match="twice"):
        Keyring.parse("a=x,a=y")
    assert Keyring.parse("just a secret").current == "k1"
    assert "secret" not in repr(Keyring.parse("k9=secret"))
