"""The secure-value audit: it finds a planted leak wherever it is, and only real ones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ivrflow.compiler import load
from ivrflow.runtime.record import Listener
from ivrflow.tools.fuzzing import fuzz_flow
from ivrflow.tools.fuzzing.leaks import LogCapture, SecretAudit, find_secret
from ivrflow.tools.testing import Call

ROOT = Path(__file__).resolve().parents[2]

PIN_FLOW = """
flow pin "PIN entry"
  timeout 5s, retries 2

start:
  -> pin

capture pin:
  say "Enter your PIN."
  digits 4
  secure
  ok -> thanks
  exhausted -> bye

step thanks:
  {extra}
  -> bye

step bye:
  say "Bye."
  hangup
"""


def pin_flow(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "pin.ivr"
    path.write_text(PIN_FLOW.replace("{extra}", extra), encoding="utf-8")
    return path


def test_spoken_digits_and_long_values_inside_runs_are_found() -> None:
    assert find_secret("Your PIN is 7 3 8 2.", {"7382"}) == "7382"
    assert find_secret("card 4111-1111-1111-1111 ok", {"4111111111111111"}) == "4111111111111111"
    assert find_secret("ref 004111111111111111x", {"4111111111111111"}) == "4111111111111111"


def test_a_short_value_must_be_a_whole_run_not_part_of_a_time() -> None:
    assert find_secret("it is 17:37 now", {"737"}) is None
    assert find_secret("code 1737", {"737"}) is None
    assert find_secret("code 737.", {"737"}) == "737"
    assert find_secret("no digits here", {"737"}) is None


def test_values_of_the_flow_and_fixtures_are_not_audited() -> None:
    audit = SecretAudit(ignore=frozenset({"1111"}))
    audit.add("1111")
    audit.add("12")  # too short to be a secret
    audit.add("9374")
    assert audit.secrets == {"9374"}


def test_a_planted_leak_in_a_log_line_is_caught() -> None:
    audit = SecretAudit()
    audit.add("93748261")
    with LogCapture() as logs:
        logging.getLogger("ivrflow.test").debug("payment for card %s", "93748261")
    audit.scan("log", "logging", logs.lines)
    assert [leak.place for leak in audit.leaks] == ["log"]
    assert "93748261" not in str(audit.leaks[0])  # the report masks what it found


def test_a_planted_leak_in_a_prompt_is_caught_everywhere_it_goes(tmp_path: Path) -> None:
    flow = pin_flow(tmp_path, 'say "Your PIN is {{ pin }}."')
    report = fuzz_flow(flow, 40, seed=1)
    assert report.secrets_leaked > 0
    leaks = [v for v in report.violations if v.invariant == "no-secret-leak"]
    assert leaks and "in clear in action" in leaks[0].message
    assert report.records_lost == 0  # a leak is not a lost call


def test_a_secure_value_copied_to_a_plain_variable_leaks_into_snapshots(tmp_path: Path) -> None:
    flow = pin_flow(tmp_path, 'set copy = pin\n  say "Thank you."')
    text = flow.read_text(encoding="utf-8").replace("start:", 'var copy = ""\n\nstart:')
    flow.write_text(text, encoding="utf-8")
    report = fuzz_flow(flow, 40, seed=1)
    messages = [v.message for v in report.violations if v.invariant == "no-secret-leak"]
    assert any("in clear in snapshot" in m for m in messages), messages


def test_the_pin_flow_without_a_leak_is_clean(tmp_path: Path) -> None:
    flow = pin_flow(tmp_path, 'say "Your PIN ends in {{ pin[-1:] }}."')
    report = fuzz_flow(flow, 40, seed=1)
    assert report.secure_calls > 0  # the audit had values to look for …
    assert report.secrets_leaked == 0  # … and found none in clear
    assert report.ok, [str(v) for v in report.violations[:3]]


def test_secure_captures_never_reach_listeners_records_or_snapshots_in_clear() -> None:
    seen: list[str] = []

    class Everything(Listener):
        def input(self, session: object, kind: str, value: str, at: float) -> None:
            seen.append(value)

    flow = load(ROOT / "flows" / "bank.ivr")
    call = Call(flow)
    call.session.listeners = (Everything(),)
    call.start()
    call.press("1")
    call.press("52998224725")
    call.press("1")
    assert call.state == "pin"
    call.press("8364")  # the PIN: secure
    assert call.session.vars["pin"] == "8364"
    assert "8364" not in str(call.session.to_dict())
    assert "8364" not in str(call.session.to_dict(key=b"k" * 16))
    assert "8364" not in seen
    call.hangup()
    assert "8364" not in str(call.record)


@pytest.mark.parametrize("flow", ["bank.ivr", "billing.ivr"])
def test_the_shipped_flows_with_secure_captures_leak_nothing(flow: str) -> None:
    report = fuzz_flow(ROOT / "flows" / flow, 200, seed=21)
    assert report.secrets_leaked == 0
    assert report.secure_calls > 0
