"""Input collection timing, VoiceXML Appendix D style, as the session applies it (issue 3).

The cases other engines got wrong: keys pressed during a prompt or a look-up (type-ahead), the
terminator as the first key, max reached without a terminator, partial input at the
inter-digit timeout, min not reached, and gateways that collect a whole string themselves.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import pytest

import ivrflow
from ivrflow.model import Flow
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.record import build_record
from ivrflow.runtime.session import MAX_DIGITS, Session

T0 = 1795525200.0  # Tuesday 2026-11-24 10:00 in São Paulo


def compile_flow(text: str) -> Flow:
    result = ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return result.flow


def texts(actions: Sequence[act.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Say)]


def collects(actions: Sequence[act.Action]) -> list[act.Collect]:
    return [a for a in actions if isinstance(a, act.Collect)]


class Driver:
    """A call started at T0; every event half a second after the previous one."""

    def __init__(self, flow: Flow, **options: Any) -> None:
        self.session = Session(
            flow, call_id="c1", ani="+5511987650000", dnis="+551140040000", at=T0, **options
        )
        self.t = T0
        self.actions = self.session.start()
        self.all = list(self.actions)

    def send(self, event: Any) -> list[act.Action]:
        self.actions = self.session.send(event)
        self.all += self.actions
        return self.actions

    def tick(self) -> float:
        self.t += 0.5
        return self.t

    def press(self, keys: str, terminated: bool = False) -> list[act.Action]:
        return self.send(ev.Digits(self.tick(), keys, terminated))

    def keys(self, keys: str) -> list[act.Action]:
        """One Digits event per key, as a DTMF-per-event driver sends them."""
        out: list[act.Action] = []
        for key in keys:
            out += self.press(key)
        return out

    def silence(self) -> list[act.Action]:
        return self.send(ev.NoInput(self.tick()))

    def lookup_ok(self, value: Any = None) -> list[act.Action]:
        request = [a for a in self.all if isinstance(a, act.Lookup)][-1].request
        return self.send(ev.LookupResult(self.tick(), request, value or {}))

    @property
    def collect(self) -> act.Collect:
        assert isinstance(self.actions[-1], act.Collect), self.actions
        return self.actions[-1]

    @property
    def outcome(self) -> dict[str, Any]:
        record = self.session.record
        assert record is not None, "the call has not ended"
        return record["outcome"]

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [i for i in build_record(self.session)["inputs"] if i["state"] == "account"]


TIMING = """
flow timing
  language en-US
  timeout 5s, interdigit 3s, retries 5
function fetch(x) timeout 2s
start:
  -> first
menu first:
  say "Press 1 to look up, 2 to enter the account."
  1 -> find
  2 -> account
  * -> repeat
  noinput: say "No input."
  nomatch: say "No match."
  exhausted: hangup "exhausted"
lookup find fetch(1) as r:
  say "One moment."
  ok -> account
  error -> account
capture account:
  digits 4..6
  end "#"
  timeout 7s
  interdigit 2s
  say "Enter the account."
  noinput: say "No input."
  nomatch: say "No match."
  ok -> after
  exhausted: hangup "exhausted"
menu after:
  say "Account {{ account }}. Press 1 or 2."
  1: hangup "one"
  2: hangup "two"
  noinput: say "No input."
  nomatch: say "No match."
  exhausted: hangup "exhausted"
"""

ACCOUNT_PROMPT = "Enter the account."


def at_account() -> Driver:
    call = Driver(compile_flow(TIMING))
    call.press("2")
    assert texts(call.actions) == [ACCOUNT_PROMPT]
    return call


def assert_accepted(call: Driver, value: str, ended_by: str) -> None:
    assert call.session.vars.get("account") == value
    assert texts(call.actions)[-1] == f"Account {value}. Press 1 or 2."
    assert call.entries[-1]["value"] == value
    assert call.entries[-1]["ended_by"] == ended_by


def assert_nomatch(call: Driver) -> None:
    assert "account" not in call.session.vars
    assert call.session.state == "account"
    assert call.session.nomatch == 1 and call.session.noinput == 0
    assert texts(call.actions) == ["No match.", ACCOUNT_PROMPT]
    assert call.collect.min_digits == 4  # asked again in full


# ---------------------------------------------------------------- the Collect spec


def test_collect_spec_reflects_the_capture_settings() -> None:
    call = at_account()
    collect = call.collect
    assert collect.kinds[0] == "dtmf"
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (4, 6, "#")
    assert (collect.timeout, collect.interdigit) == (7.0, 2.0)
    assert collect.barge_in is True
    assert collect.secure is False


def test_collect_spec_of_a_menu_uses_the_flow_settings() -> None:
    call = Driver(compile_flow(TIMING))
    collect = call.collect
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (1, 1, None)
    assert (collect.timeout, collect.interdigit) == (5.0, 3.0)


def test_collect_spec_without_terminator_and_secure() -> None:
    flow = compile_flow(
        TIMING.replace('  end "#"\n', "  end none\n  secure\n").replace("digits 4..6", "digits 4")
    )
    call = Driver(flow)
    call.press("2")
    collect = call.collect
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (4, 4, None)
    assert collect.secure is True


def test_collect_spec_after_type_ahead_asks_for_the_rest_with_the_interdigit_timeout() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("1")
    assert isinstance(call.actions[-1], act.Lookup)
    assert call.press("12") == []  # keyed during the look-up
    call.lookup_ok()
    assert texts(call.actions) == [ACCOUNT_PROMPT]
    collect = call.collect
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (2, 4, "#")
    assert collect.timeout == 2.0  # the caller already began: inter-digit timeout
    assert collect.interdigit == 2.0
    call.press("34#")
    assert_accepted(call, "1234", "terminator")


def test_type_ahead_already_at_min_asks_for_zero_more() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("1")
    call.press("1234")
    call.lookup_ok()
    collect = call.collect
    assert (collect.min_digits, collect.max_digits) == (0, 2)
    call.silence()  # the inter-digit timeout: four keys are enough
    assert_accepted(call, "1234", "interdigit")


# ---------------------------------------------------------------- type-ahead


def test_keys_sent_during_a_lookup_complete_the_next_capture() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("1")
    assert call.press("1234#") == []
    assert call.session.phase == "lookup"
    call.lookup_ok()
    assert texts(call.actions) == [ACCOUNT_PROMPT, "Account 1234. Press 1 or 2."]
    assert len(collects(call.actions)) == 1  # only the next menu listens
    assert call.session.state == "after"


def test_type_ahead_drops_invalid_keys() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("1")
    call.press("1a2b3c4#")
    call.lookup_ok()
    assert call.session.vars["account"] == "1234"


def test_type_ahead_is_bounded() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("1")
    for _ in range(10):
        call.press("1" * 50)
    assert len(call.session.typeahead) <= MAX_DIGITS
    call.lookup_ok()
    assert call.session.vars["account"] == "111111"


def test_keys_beyond_a_menus_first_key_carry_over() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("2123456")  # 2 picks the capture; six digits complete it (max)
    assert_accepted(call, "123456", "max")


def test_keys_carry_over_through_a_whole_call() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("21234#2")
    assert call.session.vars["account"] == "1234"
    assert call.outcome == {"kind": "self_served", "reason": "two"}


def test_menu_type_ahead_survives_a_lookup() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("112")  # 1 → the look-up; "12" waits
    call.press("34")  # more keys during the look-up
    call.lookup_ok()
    assert call.collect.min_digits == 0
    call.press("#")
    assert_accepted(call, "1234", "terminator")


def test_type_ahead_after_a_repeat() -> None:
    call = Driver(compile_flow(TIMING))
    call.press("*2")
    assert call.session.state == "account"
    assert build_record(call.session)["path"][-1]["state"] == "account"


def test_type_ahead_answers_a_read_back() -> None:
    flow = compile_flow(
        TIMING.replace(
            '  say "Enter the account."\n',
            '  say "Enter the account."\n  confirm "You typed {{ account }}. 1 or 2."\n',
        )
    )
    call = Driver(flow)
    call.press("21234#1")
    assert texts(call.actions) == [
        ACCOUNT_PROMPT,
        "You typed 1234. 1 or 2.",
        "Account 1234. Press 1 or 2.",
    ]


def test_keys_pressed_during_the_prompt_count() -> None:
    # With barge-in the driver sends keys as soon as they come, even before the prompt ended:
    # the session has already asked to collect, and takes them.
    call = Driver(compile_flow(TIMING))
    assert call.collect.barge_in is True
    call.send(ev.Digits(T0 + 0.1, "2"))
    assert texts(call.actions) == [ACCOUNT_PROMPT]


def test_a_keypress_in_a_single_key_menu_is_taken_at_once() -> None:
    call = Driver(compile_flow(TIMING))
    actions = call.press("2")
    assert texts(actions) == [ACCOUNT_PROMPT]


# ---------------------------------------------------------------- terminator


def test_terminator_as_first_key_is_a_nomatch() -> None:
    call = at_account()
    call.press("#")
    assert_nomatch(call)
    assert call.entries[-1]["value"] == ""


def test_terminator_as_first_key_with_min_zero_is_an_empty_entry() -> None:
    call = Driver(compile_flow(TIMING.replace("digits 4..6", "digits 0..6")))
    call.press("2")
    assert call.collect.min_digits == 0
    call.press("#")
    assert_accepted(call, "", "terminator")


def test_terminator_ends_the_entry_and_keys_after_it_carry_over() -> None:
    call = at_account()
    call.press("12345#1")
    assert call.session.vars["account"] == "12345"
    assert call.outcome == {"kind": "self_served", "reason": "one"}


def test_terminator_key_by_key() -> None:
    call = at_account()
    assert call.keys("1234") == []
    call.press("#")
    assert_accepted(call, "1234", "terminator")


def test_min_not_reached_with_terminator_is_a_nomatch() -> None:
    call = at_account()
    call.press("12#")
    assert_nomatch(call)


def test_a_star_terminator() -> None:
    call = Driver(compile_flow(TIMING.replace('end "#"', 'end "*"')))
    call.press("2")
    assert call.collect.terminator == "*"
    call.press("1234*")
    assert_accepted(call, "1234", "terminator")


def test_hash_is_an_ordinary_key_without_terminator() -> None:
    call = Driver(compile_flow(TIMING.replace('  end "#"\n', "  end none\n")))
    call.press("2")
    assert call.collect.terminator is None
    call.keys("12#4")
    assert call.session.state == "account"  # four keys of 4..6: still listening
    call.silence()
    assert call.session.vars["account"] == "12#4"


# ---------------------------------------------------------------- max


def test_max_reached_without_terminator_completes() -> None:
    call = at_account()
    assert call.keys("12345") == []
    call.press("6")
    assert_accepted(call, "123456", "max")


def test_max_reached_extra_keys_carry_over() -> None:
    call = at_account()
    call.press("1234562")
    assert call.session.vars["account"] == "123456"
    assert call.outcome == {"kind": "self_served", "reason": "two"}


def test_terminator_right_after_the_last_allowed_key_closes_the_entry() -> None:
    call = at_account()
    call.press("123456#")
    assert_accepted(call, "123456", "terminator")
    assert call.session.nomatch == 0  # the "#" is not type-ahead for the next menu


# ---------------------------------------------------------------- timeouts


def test_first_digit_timeout_is_a_noinput() -> None:
    call = at_account()
    call.silence()
    assert call.session.noinput == 1 and call.session.nomatch == 0
    assert texts(call.actions) == ["No input.", ACCOUNT_PROMPT]
    assert call.collect.timeout == 7.0


def test_partial_input_at_interdigit_timeout_with_min_is_accepted() -> None:
    call = at_account()
    call.keys("12345")
    call.silence()
    assert_accepted(call, "12345", "interdigit")


def test_partial_input_at_interdigit_timeout_below_min_is_a_nomatch() -> None:
    call = at_account()
    call.keys("123")
    call.silence()
    assert_nomatch(call)
    assert call.entries[-1]["value"] == "123"


def test_the_buffer_is_cleared_after_a_failure() -> None:
    call = at_account()
    call.keys("123")
    call.silence()
    call.keys("4567")
    call.silence()
    assert_accepted(call, "4567", "interdigit")


# ---------------------------------------------------------------- gateways that collect


def test_gateway_string_ended_by_terminator() -> None:
    call = at_account()
    call.press("12345", terminated=True)
    assert_accepted(call, "12345", "terminator")


def test_gateway_string_with_the_terminator_included() -> None:
    call = at_account()
    call.press("12345#", terminated=True)
    assert_accepted(call, "12345", "terminator")


def test_gateway_string_too_short() -> None:
    call = at_account()
    call.press("12", terminated=True)
    assert_nomatch(call)


def test_gateway_empty_string_ended_by_terminator_is_a_nomatch() -> None:
    # The caller pressed only "#"; a gateway that strips the terminator sends "" + terminated.
    call = at_account()
    call.press("", terminated=True)
    assert_nomatch(call)


def test_gateway_lone_terminator_is_a_nomatch() -> None:
    call = at_account()
    call.press("#", terminated=True)
    assert_nomatch(call)


def test_gateway_string_longer_than_max_is_not_taken_as_its_first_keys() -> None:
    call = at_account()
    call.press("12345678", terminated=True)
    assert "account" not in call.session.vars
    assert call.session.nomatch == 1


def test_gateway_string_at_max_without_terminator_flag() -> None:
    call = at_account()
    call.press("123456")
    assert_accepted(call, "123456", "max")


# ---------------------------------------------------------------- speech in captures


@pytest.mark.parametrize(
    ("utterance", "value"),
    [("one two three four", "1234"), ("um dois três quatro cinco", "12345"), ("1 2 3 4", "1234")],
)
def test_spoken_digits_fill_a_capture(utterance: str, value: str) -> None:
    call = at_account()
    call.send(ev.Utterance(call.tick(), utterance))
    assert_accepted(call, value, "terminator")


def test_spoken_digits_complete_a_partial_entry() -> None:
    call = at_account()
    call.keys("12")
    call.send(ev.Utterance(call.tick(), "three four"))
    assert call.session.vars["account"] == "1234"


def test_speech_without_digits_in_a_capture_is_a_nomatch() -> None:
    call = at_account()
    call.send(ev.Utterance(call.tick(), "I don't know it"))
    assert_nomatch(call)
