"""The interpreter, construct by construct: what a session does with each event (issue 3).

Small inline flows, plus the shipped flows in flows/. Every call is driven by `Driver`, which
starts a session at a fixed epoch and feeds it events one second apart.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import ivrflow
from ivrflow.model import Flow
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.record import OUTCOMES, Listener, build_record
from ivrflow.runtime.session import STEP_BUDGET, Session

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
T0 = 1795525200.0  # Tuesday 2026-11-24 10:00 in São Paulo (13:00 UTC)
ANI = "+5511987650000"
DNIS = "+551140040000"


def at(text: str) -> float:
    """'2026-11-24 10:00' in São Paulo → epoch seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SAO_PAULO).timestamp()


def compile_flow(text: str) -> Flow:
    result = ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))
    assert result.flow is not None, [f"{d.code} {d.message}" for d in result.diagnostics]
    return result.flow


def texts(actions: Sequence[act.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Say)]


def only(actions: Sequence[act.Action], kind: type) -> Any:
    found = [a for a in actions if isinstance(a, kind)]
    assert len(found) == 1, actions
    return found[0]


class Driver:
    """One call: a session started at `at`, events one second apart unless told."""

    def __init__(
        self,
        flow: Flow,
        *,
        ani: str | None = ANI,
        dnis: str | None = DNIS,
        at: float = T0,
        **options: Any,
    ) -> None:
        self.session = Session(flow, call_id="c1", ani=ani, dnis=dnis, at=at, **options)
        self.t = at
        self.actions = self.session.start()
        self.all = list(self.actions)

    def send(self, event: Any) -> list[act.Action]:
        self.actions = self.session.send(event)
        self.all += self.actions
        return self.actions

    def tick(self, seconds: float = 1.0) -> float:
        self.t += seconds
        return self.t

    def press(self, keys: str, terminated: bool = False) -> list[act.Action]:
        return self.send(ev.Digits(self.tick(), keys, terminated))

    def speak(self, text: str, confidence: float = 1.0) -> list[act.Action]:
        return self.send(ev.Utterance(self.tick(), text, confidence))

    def silence(self) -> list[act.Action]:
        return self.send(ev.NoInput(self.tick()))

    def hangup(self) -> list[act.Action]:
        return self.send(ev.Hangup(self.tick()))

    def pending_lookup(self) -> act.Lookup:
        return [a for a in self.all if isinstance(a, act.Lookup)][-1]

    def lookup_ok(self, value: Any, seconds: float = 0.25) -> list[act.Action]:
        request = self.pending_lookup().request
        return self.send(ev.LookupResult(self.tick(seconds), request, value))

    def lookup_fails(self, reason: str = "down", timed_out: bool = False) -> list[act.Action]:
        request = self.pending_lookup().request
        return self.send(ev.LookupFailed(self.tick(), request, reason, timed_out))

    def queue_status(self, ewt: float | None, position: int | None = None) -> list[act.Action]:
        queue = [a for a in self.all if isinstance(a, act.GetQueueStatus)][-1].queue
        return self.send(ev.QueueStatus(self.tick(), queue, ewt, position))

    def transfer(self, status: str, detail: str | None = None) -> list[act.Action]:
        return self.send(ev.TransferResult(self.tick(), status, detail))  # type: ignore[arg-type]

    @property
    def said(self) -> list[str]:
        return texts(self.actions)

    @property
    def record(self) -> dict[str, Any]:
        record = self.session.record
        assert record is not None, "the call has not ended"
        return record

    @property
    def outcome(self) -> dict[str, Any]:
        return self.record["outcome"]

    @property
    def path(self) -> list[str]:
        return [p["state"] for p in build_record(self.session)["path"]]


# ==================================================================== prompts

PROMPTS = """
flow prompts
  language pt-BR
var amount = 0
var due = ""
var contract = ""
prompt hello:
  pt-BR "Olá."
  en-US "Hello."
start:
  say hello
  say "Saldo {{ amount | currency }}, vence {{ due | date }}, {{ 3 | ordinal }} aviso."
  say "Contrato {{ contract | digits }}."
  set language = "en-US"
  say hello
  say "Saldo {{ amount | currency }}, vence {{ due | date }}, {{ 3 | ordinal }} aviso."
  hangup "done"
"""


def test_inline_and_named_prompts_follow_the_call_language() -> None:
    flow = compile_flow(PROMPTS)
    call = Driver(flow, variables={"amount": 1234.5, "due": "2026-12-10", "contract": "4711"})
    said = texts(call.actions)
    assert said[0] == "Olá."
    assert said[3] == "Hello."
    assert call.session.vars["language"] == "en-US"
    says = [a for a in call.actions if isinstance(a, act.Say)]
    assert [s.language for s in says] == ["pt-BR", "pt-BR", "pt-BR", "en-US", "en-US"]
    assert call.record["language"] == "en-US"


def test_templates_render_say_as_filters_per_language() -> None:
    flow = compile_flow(PROMPTS)
    call = Driver(flow, variables={"amount": 1234.5, "due": "2026-12-10", "contract": "4711"})
    said = texts(call.actions)
    assert said[1] == "Saldo R$ 1.234,50, vence 10 de dezembro de 2026, 3º aviso."
    assert said[2] == "Contrato 4 7 1 1."
    assert said[4] == "Saldo $1,234.50, vence December 10, 2026, 3rd aviso."


def test_named_prompt_falls_back_to_the_language_family_then_the_first_text() -> None:
    flow = compile_flow(
        """
        flow fallback
          language en-GB
        prompt hello:
          pt-BR "Olá."
          en-US "Hello."
        start:
          say hello
          set language = "fr-FR"
          say hello
          hangup
        """
    )
    call = Driver(flow)
    assert texts(call.actions) == ["Hello.", "Olá."]


def test_say_options_voice_language_and_barge_in() -> None:
    flow = compile_flow(
        """
        flow options
          language pt-BR
          voice "Camila"
          bargein off
        start:
          say "Um."
          say "Two." language en-US voice "Joanna" barge-in on
          play "beep.wav"
          play "tone.wav" barge-in on
          hangup
        """
    )
    call = Driver(flow)
    one, two = (a for a in call.actions if isinstance(a, act.Say))
    assert (one.language, one.voice, one.barge_in) == ("pt-BR", "Camila", False)
    assert (two.language, two.voice, two.barge_in) == ("en-US", "Joanna", True)
    plays = [a for a in call.actions if isinstance(a, act.Play)]
    assert [(p.path, p.barge_in) for p in plays] == [("beep.wav", False), ("tone.wav", True)]


def test_collect_barge_in_is_the_last_prompts_flag() -> None:
    flow = compile_flow(
        """
        flow barge
          language en-US
        start:
          -> ask
        menu ask:
          say "Listen to all of this." barge-in off
          1 -> bye
          noinput: say "Again."
          nomatch: say "No."
          exhausted -> bye
        step bye:
          hangup
        """
    )
    call = Driver(flow)
    collect = only(call.actions, act.Collect)
    assert collect.barge_in is False
    assert only(call.actions, act.Say).barge_in is False


# ==================================================================== statements

STATEMENTS = """
flow statements
  language en-US
var x = 5
var tier = "gold"
start:
  if x > 10:
    say "big"
  elif x > 3:
    say "medium"
  else:
    say "small"
  set x = x * 2 + 1
  say "x is {{ x }}"
  switch tier:
    "silver", "bronze": say "metal"
    "gold" -> golden
    else: say "none"
  say "not reached"
  hangup "fell through"
step golden:
  say "gold"
  hangup "done"
"""


def test_set_if_elif_else_and_switch() -> None:
    call = Driver(compile_flow(STATEMENTS))
    assert texts(call.actions) == ["medium", "x is 11", "gold"]
    assert call.session.vars["x"] == 11
    assert call.path == ["start", "golden"]


@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"x": 50, "tier": "bronze"}, ["big", "x is 101", "metal", "not reached"]),
        ({"x": 0, "tier": "paper"}, ["small", "x is 1", "none", "not reached"]),
    ],
)
def test_if_and_switch_other_branches(variables: dict[str, Any], said: list[str]) -> None:
    call = Driver(compile_flow(STATEMENTS), variables=variables)
    assert texts(call.actions) == said
    assert call.outcome == {"kind": "self_served", "reason": "fell through"}


def test_initial_variables_from_the_host_override_var_declarations() -> None:
    call = Driver(compile_flow(STATEMENTS), variables={"x": 4})
    assert texts(call.actions)[0] == "medium"
    assert call.session.vars["x"] == 9


SPLIT = """
flow ab
  language en-US
start:
  split:
    20% -> a
    80% -> b
step a:
  hangup "a"
step b:
  hangup "b"
"""


def _split_branch(flow: Flow, seed: int) -> str:
    return Driver(flow, seed=seed).outcome["reason"]


def test_split_is_deterministic_per_seed() -> None:
    flow = compile_flow(SPLIT)
    for seed in (1, 2, 3, 12345, 2**31):
        assert _split_branch(flow, seed) == _split_branch(flow, seed)


def test_split_follows_the_percentages_over_many_seeds() -> None:
    flow = compile_flow(SPLIT)
    branches = [_split_branch(flow, seed) for seed in range(1, 2001)]
    share = branches.count("a") / len(branches)
    assert 0.16 <= share <= 0.24, share
    assert set(branches) == {"a", "b"}


def test_goto_and_arrow_and_hangup_reason() -> None:
    flow = compile_flow(
        """
        flow jumps
          language en-US
        start:
          goto one
        step one:
          -> two
        step two:
          say "bye"
          hangup "all done"
        """
    )
    call = Driver(flow)
    assert call.path == ["start", "one", "two"]
    assert call.outcome == {"kind": "self_served", "reason": "all done"}
    assert isinstance(call.actions[-1], act.Hangup)
    assert call.actions[-1].reason == "all done"
    assert call.session.ended


def test_hangup_without_reason_is_self_served() -> None:
    flow = compile_flow(
        """
        flow plain
          language en-US
        start:
          hangup
        """
    )
    call = Driver(flow)
    assert call.outcome["kind"] == "self_served"
    assert isinstance(call.actions[-1], act.Hangup)


CALLS = """
flow subflows
  language en-US
var verified = false
start:
  say "before"
  if true:
    call check
    say "after call, verified {{ verified }}"
  say "after if"
  -> menu1
step check:
  say "checking"
  call inner
  set verified = true
  return
step inner:
  say "inner"
  return
menu menu1:
  say "menu"
  1:
    call check
    say "back in the menu branch"
    hangup "done"
  noinput: say "?"
  nomatch: say "?"
  exhausted -> menu1
"""


def test_call_returns_after_the_call_statement_even_nested() -> None:
    call = Driver(compile_flow(CALLS))
    assert texts(call.actions) == [
        "before",
        "checking",
        "inner",
        "after call, verified True",
        "after if",
        "menu",
    ]
    assert call.session.vars["verified"] is True
    assert isinstance(call.actions[-1], act.Collect)


def test_call_from_a_menu_branch_continues_in_the_branch() -> None:
    call = Driver(compile_flow(CALLS))
    call.press("1")
    assert texts(call.actions) == ["checking", "inner", "back in the menu branch"]
    assert call.outcome == {"kind": "self_served", "reason": "done"}


def test_call_of_an_input_state_returns_after_the_caller_answers() -> None:
    flow = compile_flow(
        """
        flow subcapture
          language en-US
        start:
          call ask_pin
          say "pin {{ ask_pin }}"
          hangup "done"
        capture ask_pin:
          digits 4
          say "PIN?"
          ok: return
          noinput: say "?"
          nomatch: say "?"
          exhausted: return
        """
    )
    call = Driver(flow)
    assert isinstance(call.actions[-1], act.Collect)
    call.press("1234")
    assert texts(call.actions) == ["pin 1234"]
    assert call.outcome["kind"] == "self_served"


SUBFLOW_EVERYWHERE = """
flow everywhere
  language en-US
queue q "Q"
function fetch(x)
var n = 0
start:
  -> ask
menu ask:
  say "Press."
  1 -> find
  2 -> find2
  3 -> xfer
  4 -> offer
  noinput 1:
    call sub
    say "noinput {{ n }}"
  nomatch: say "?"
  exhausted: hangup "out"
lookup find fetch(1) as r:
  ok:
    call sub
    hangup "lookup ok"
  error:
    call sub
    hangup "lookup error"
lookup find2 fetch(2):
  ok:
    switch n:
      0:
        split:
          50%:
            call sub
            hangup "deep"
          50%:
            call sub
            hangup "deep"
      else: hangup "no"
  error: hangup "e"
transfer xfer:
  queue q
  busy:
    call sub
    hangup "busy"
callback offer:
  queue q
  scheduled:
    call sub
    hangup "scheduled"
  declined:
    call sub
    hangup "declined"
  failed:
    call sub
    hangup "failed"
step sub:
  set n = n + 1
  return
"""


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (["1", "ok"], "lookup ok"),
        (["1", "fail"], "lookup error"),
        (["2", "ok"], "deep"),
        (["3", "queue", "busy"], "busy"),
        (["4", "1", "stored"], None),
        (["4", "2"], "declined"),
        (["4", "1", "not stored"], "failed"),
    ],
)
def test_call_from_any_kind_of_body_returns_into_it(script: list[str], reason: str | None) -> None:
    call = Driver(compile_flow(SUBFLOW_EVERYWHERE))
    for step in script:
        if step == "ok":
            call.lookup_ok({})
        elif step == "fail":
            call.lookup_fails()
        elif step == "queue":
            call.queue_status(10)
        elif step == "busy":
            call.transfer("busy")
        elif step == "stored":
            call.send(ev.CallbackStored(call.tick(), "r1"))
        elif step == "not stored":
            call.send(ev.CallbackFailed(call.tick(), "down"))
        else:
            call.press(step)
    assert call.session.vars["n"] == 1
    if reason is None:
        assert call.outcome["kind"] == "callback_scheduled"
    else:
        assert call.outcome == {"kind": "self_served", "reason": reason}


def test_call_from_an_escalation_handler_continues_the_handler() -> None:
    call = Driver(compile_flow(SUBFLOW_EVERYWHERE))
    call.silence()
    assert texts(call.actions) == ["noinput 1", "Press."]


CALL_IN_PROMPT = """
flow callprompt
  language en-US
  retries 3
var n = 0
start:
  -> ask
menu ask:
  call greet
  say "Press 1."
  1: hangup "one"
  noinput: say "?"
  nomatch: say "?"
  exhausted: hangup "out"
step greet:
  set n = n + 1
  return
"""


def test_call_in_a_menu_prompt_keeps_the_menus_counts() -> None:
    call = Driver(compile_flow(CALL_IN_PROMPT))
    for _ in range(3):
        call.silence()
    assert call.session.ended
    assert call.outcome == {"kind": "self_served", "reason": "out"}
    assert call.record["noinput"] == 3


def test_call_in_an_escalation_handler_keeps_the_menus_counts() -> None:
    flow = compile_flow(
        CALL_IN_PROMPT.replace("  call greet\n", "").replace(
            '  noinput: say "?"', '  noinput:\n    call greet\n    say "?"'
        )
    )
    call = Driver(flow)
    for _ in range(3):
        call.silence()
    assert call.session.vars["n"] >= 2
    assert call.outcome == {"kind": "self_served", "reason": "out"}


def test_return_without_a_call_takes_the_error_path() -> None:
    flow = compile_flow(
        """
        flow badreturn
          language en-US
        start:
          say "hi"
          return
        """
    )
    call = Driver(flow)
    assert call.outcome["kind"] == "error"
    assert "return" in call.outcome["reason"]
    assert isinstance(call.actions[-1], act.Hangup)


# ==================================================================== menus

MENU = """
flow menus
  language pt-BR
  retries 3
  confidence 0.6
start:
  -> main
menu main:
  say "Tecle 1 para segunda via, 2 para saldo, 0 para atendente."
  1, "segunda via", "boleto" -> invoice
  2, "saldo", "quanto devo" -> balance
  0, "atendente", "falar com atendente" -> agent
  * -> repeat
  noinput 1: say "Não ouvi."
  noinput 2: say "Ainda não ouvi."
  nomatch 1: say "Opção inválida."
  exhausted -> agent
step invoice:
  hangup "invoice"
step balance:
  hangup "balance"
step agent:
  hangup "agent"
"""

MENU_PROMPT = "Tecle 1 para segunda via, 2 para saldo, 0 para atendente."


def test_menu_prompts_then_collects_one_key_or_a_phrase() -> None:
    call = Driver(compile_flow(MENU))
    assert texts(call.actions) == [MENU_PROMPT]
    collect = only(call.actions, act.Collect)
    assert collect.kinds == ("dtmf", "speech")
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (1, 1, None)
    assert set(collect.phrases) >= {"segunda via", "boleto", "saldo", "atendente"}
    assert collect.timeout == 5.0 and collect.interdigit == 3.0


def test_menu_key_picks_the_choice() -> None:
    call = Driver(compile_flow(MENU))
    call.press("2")
    assert call.outcome == {"kind": "self_served", "reason": "balance"}
    assert call.path == ["start", "main", "balance"]
    assert call.record["inputs"][0]["value"] == "2"
    assert call.record["inputs"][0]["kind"] == "dtmf"


@pytest.mark.parametrize(
    ("utterance", "reason"),
    [
        ("boleto", "invoice"),
        ("Segunda-Via!", "invoice"),  # case, punctuation
        ("SALDO", "balance"),
        ("eu quero a segunda via por favor", "invoice"),  # contains the phrase
        ("quanto eu devo", "balance"),  # fuzzy
        ("atendentee", "agent"),  # fuzzy: a near-miss spelling
        ("dois", "balance"),  # a spoken key (pt)
        ("two", "balance"),  # a spoken key (en)
        ("zero", "agent"),
        ("1", "invoice"),
    ],
)
def test_menu_spoken_choices(utterance: str, reason: str) -> None:
    call = Driver(compile_flow(MENU))
    call.speak(utterance)
    assert call.session.ended, texts(call.actions)
    assert call.outcome["reason"] == reason
    assert call.record["inputs"][0] == {
        "state": "main",
        "kind": "speech",
        "value": utterance,
        "t": 1.0,
        "confidence": 1.0,
    }


def test_speech_input_records_the_recognizer_confidence() -> None:
    """Issue 15: the record says how sure the recognizer was (a garbled one counts as 0)."""
    for given, recorded in ((0.4567, 0.457), (float("nan"), 0.0), (7, 1.0)):
        call = Driver(compile_flow(MENU))
        call.speak("saldo", confidence=given)
        if not call.session.ended:  # a low confidence asks "did you say …?"
            call.hangup()
        assert call.record["inputs"][0]["confidence"] == recorded
        assert all("confidence" not in row for row in call.record["inputs"][1:])


def test_menu_accents_do_not_matter() -> None:
    flow = compile_flow(MENU.replace('"quanto devo"', '"não sei"'))
    call = Driver(flow)
    call.speak("nao sei")
    assert call.outcome["reason"] == "balance"


@pytest.mark.parametrize("utterance", ["banana split", "xyz", "", "   ", "!!!"])
def test_menu_unknown_utterance_is_a_nomatch(utterance: str) -> None:
    call = Driver(compile_flow(MENU))
    call.speak(utterance)
    assert not call.session.ended
    assert texts(call.actions) == ["Opção inválida.", MENU_PROMPT]
    assert call.session.nomatch == 1


def test_menu_low_confidence_asks_did_you_say_and_yes_takes_the_choice() -> None:
    call = Driver(compile_flow(MENU))
    call.speak("saldo", confidence=0.3)
    assert not call.session.ended
    (question,) = texts(call.actions)
    assert "saldo" in question
    assert question.startswith("Você disse")
    collect = only(call.actions, act.Collect)
    assert collect.kinds == ("dtmf", "speech")
    assert (collect.min_digits, collect.max_digits) == (1, 1)
    call.speak("sim")
    assert call.outcome["reason"] == "balance"


@pytest.mark.parametrize("answer", ["1", "yes"])
def test_did_you_say_yes_by_key_or_voice(answer: str) -> None:
    call = Driver(compile_flow(MENU))
    call.speak("boleto", confidence=0.1)
    if answer.isdigit():
        call.press(answer)
    else:
        call.speak(answer)
    assert call.outcome["reason"] == "invoice"


@pytest.mark.parametrize("answer", ["2", "não"])
def test_did_you_say_no_is_a_nomatch_and_asks_again(answer: str) -> None:
    call = Driver(compile_flow(MENU))
    call.speak("boleto", confidence=0.1)
    if answer.isdigit():
        call.press(answer)
    else:
        call.speak(answer)
    assert not call.session.ended
    assert call.session.nomatch == 1
    assert texts(call.actions)[-1] == MENU_PROMPT  # back to the menu
    assert only(call.actions, act.Collect).phrases  # listening for the menu's choices again
    call.press("1")
    assert call.outcome["reason"] == "invoice"


def test_confidence_at_the_threshold_needs_no_confirmation() -> None:
    call = Driver(compile_flow(MENU))
    call.speak("saldo", confidence=0.6)
    assert call.outcome["reason"] == "balance"


def test_menu_repeat_replays_the_prompt_and_keeps_the_counts() -> None:
    call = Driver(compile_flow(MENU))
    call.silence()
    assert texts(call.actions) == ["Não ouvi.", MENU_PROMPT]
    call.press("*")
    assert texts(call.actions) == [MENU_PROMPT]
    assert isinstance(call.actions[-1], act.Collect)
    call.silence()  # the second no-input of this visit
    assert texts(call.actions) == ["Ainda não ouvi.", MENU_PROMPT]
    assert call.session.noinput == 2
    assert call.path == ["start", "main"]  # a repeat is not a new visit


def test_menu_extra_keys_after_the_choice_are_type_ahead() -> None:
    flow = compile_flow(
        """
        flow twolevel
          language en-US
        start:
          -> first
        menu first:
          say "One or two."
          1 -> second
          noinput: say "?"
          nomatch: say "?"
          exhausted -> second
        menu second:
          say "Three or four."
          3: hangup "three"
          4: hangup "four"
          noinput: say "?"
          nomatch: say "?"
          exhausted -> first
        """
    )
    call = Driver(flow)
    call.press("14")
    assert call.outcome["reason"] == "four"


SPECIAL_KEYS = """
flow keys
  language en-US
start:
  -> ask
menu ask:
  say "Press star or pound."
  star -> starred
  hash -> hashed
  0 -> hangup
  noinput: say "?"
  nomatch: say "?"
  exhausted: hangup "out"
step starred:
  hangup "star"
step hashed:
  hangup "hash"
"""


@pytest.mark.parametrize(
    ("keys", "spoken", "reason"),
    [("*", "star", "star"), ("#", "pound", "hash"), ("#", "hash", "hash")],
)
def test_star_and_hash_choices(keys: str, spoken: str, reason: str) -> None:
    call = Driver(compile_flow(SPECIAL_KEYS))
    call.press(keys)
    assert call.outcome["reason"] == reason
    call = Driver(compile_flow(SPECIAL_KEYS))
    call.speak(spoken)
    assert call.outcome["reason"] == reason


def test_goto_hangup_target_ends_self_served() -> None:
    call = Driver(compile_flow(SPECIAL_KEYS))
    call.press("0")
    assert call.outcome["kind"] == "self_served"
    assert isinstance(call.actions[-1], act.Hangup)


def test_last_input_is_what_the_caller_pressed_or_said() -> None:
    call = Driver(compile_flow(MENU))
    call.press("7")
    assert call.session.vars["last_input"] == "7"
    call.speak("nada disso")
    assert call.session.vars["last_input"] == "nada disso"


def test_the_host_can_set_the_starting_language() -> None:
    call = Driver(compile_flow(PROMPTS), variables={"language": "en-US"})
    assert texts(call.actions)[0] == "Hello."
    assert call.actions[0].language == "en-US"  # type: ignore[union-attr]


# ==================================================================== escalation

ESCALATION = """
flow escalation
  language en-US
  retries 4
start:
  -> ask
menu ask:
  say "Press 1."
  1: hangup "one"
  noinput 1: say "I did not hear you."
  noinput 2: say "Please press 1 now."
  nomatch 1: say "Not valid."
  nomatch 3: say "Third wrong key."
  exhausted:
    say "Let me get someone."
    hangup "exhausted"
"""


def test_escalation_per_count_and_the_last_handler_repeats() -> None:
    call = Driver(compile_flow(ESCALATION))
    call.silence()
    assert texts(call.actions) == ["I did not hear you.", "Press 1."]
    call.silence()
    assert texts(call.actions) == ["Please press 1 now.", "Press 1."]
    call.silence()  # no `noinput 3`: the last one given repeats
    assert texts(call.actions) == ["Please press 1 now.", "Press 1."]
    assert not call.session.ended
    call.silence()  # the fourth failure: retries 4 reached
    said = texts(call.actions)
    assert said[-1] == "Let me get someone."
    assert "Press 1." not in said  # no re-prompt right before leaving
    assert call.outcome == {"kind": "self_served", "reason": "exhausted"}
    assert call.record["noinput"] == 4
    assert call.record["nomatch"] == 0


def test_retries_count_noinput_and_nomatch_together() -> None:
    call = Driver(compile_flow(ESCALATION))
    call.press("9")
    assert texts(call.actions) == ["Not valid.", "Press 1."]
    call.silence()
    assert texts(call.actions) == ["I did not hear you.", "Press 1."]
    call.press("8")  # nomatch 2: the handler of the highest count below (1) repeats
    assert texts(call.actions) == ["Not valid.", "Press 1."]
    call.press("7")  # nomatch 3 is the fourth and last failure: a re-prompt for the 3rd
    # no-match (not for the retries-th failure) is skipped, exhausted speaks at once
    assert texts(call.actions) == ["Let me get someone."]
    assert call.record["noinput"] == 1
    assert call.record["nomatch"] == 3
    assert call.outcome["reason"] == "exhausted"


def test_escalation_handler_that_leaves_the_state_is_followed() -> None:
    flow = compile_flow(
        ESCALATION.replace('noinput 2: say "Please press 1 now."', "noinput 2 -> gone")
        + 'step gone:\n  hangup "gone"\n'
    )
    call = Driver(flow)
    call.silence()
    call.silence()
    assert call.outcome["reason"] == "gone"


def test_every_time_handler() -> None:
    flow = compile_flow(
        """
        flow everytime
          language en-US
        start:
          -> ask
        menu ask:
          say "Press 1."
          1: hangup "one"
          noinput: say "Hello?"
          nomatch: say "Hm?"
          exhausted: hangup "out"
        """
    )
    call = Driver(flow)
    for _ in range(2):
        call.silence()
        assert texts(call.actions) == ["Hello?", "Press 1."]
    call.silence()
    assert call.outcome["reason"] == "out"


DEFAULTS = """
flow defaults
  language pt-BR
  retries 3
start:
  -> ask
menu ask:
  say "Tecle 1."
  1: hangup "um"
"""


def test_default_prompts_when_the_state_has_no_handlers() -> None:
    call = Driver(compile_flow(DEFAULTS))
    call.silence()
    assert texts(call.actions) == ["Desculpe, não ouvi nada.", "Tecle 1."]
    call.press("5")
    assert texts(call.actions) == ["Desculpe, essa opção não é válida.", "Tecle 1."]
    call.silence()
    said = texts(call.actions)
    assert "Até logo" in said[-1]
    assert "Tecle 1." not in said
    assert call.outcome["kind"] == "error"
    assert call.outcome["reason"] == "retries exhausted"
    assert call.actions[-1] == act.Hangup("exhausted")


def test_default_prompts_in_english() -> None:
    call = Driver(compile_flow(DEFAULTS.replace("pt-BR", "en-US")))
    call.silence()
    assert texts(call.actions)[0] == "Sorry, I didn't hear anything."


def test_counts_start_again_on_a_new_visit() -> None:
    flow = compile_flow(
        """
        flow visits
          language en-US
          retries 2
        start:
          -> ask
        menu ask:
          say "Press 1."
          1 -> again
          noinput: say "?"
          nomatch: say "?"
          exhausted: hangup "out"
        step again:
          -> ask
        """
    )
    call = Driver(flow)
    call.silence()
    call.press("1")  # leaves and re-enters: the counts start at zero
    call.silence()
    assert not call.session.ended
    assert call.session.noinput == 1
    assert build_record(call.session)["noinput"] == 2


# ==================================================================== captures

CAPTURE = """
flow captures
  language pt-BR
  retries 3
start:
  -> account
capture account:
  digits 6..10
  end "#"
  say "Digite o contrato."
  valid luhn
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  ok:
    say "Contrato {{ account }}."
    hangup "ok"
  exhausted: hangup "exhausted"
"""


def test_capture_collect_spec() -> None:
    call = Driver(compile_flow(CAPTURE))
    collect = only(call.actions, act.Collect)
    assert collect.kinds[0] == "dtmf"
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (6, 10, "#")
    assert collect.secure is False


def test_capture_with_terminator_keeps_the_value() -> None:
    call = Driver(compile_flow(CAPTURE))
    call.press("12345674#")
    assert texts(call.actions) == ["Contrato 12345674."]
    assert call.session.vars["account"] == "12345674"
    assert call.record["inputs"][-1]["ended_by"] == "terminator"


def test_capture_key_by_key_with_terminator() -> None:
    call = Driver(compile_flow(CAPTURE))
    for key in "1234567":
        assert call.press(key) == []
    call.press("#")
    assert texts(call.actions) == ["Inválido.", "Digite o contrato."]  # 1234567 fails luhn


def test_capture_completes_at_max_digits() -> None:
    call = Driver(compile_flow(CAPTURE))
    for key in "1234567897":  # luhn-valid, ten digits: max reached, no terminator needed
        call.press(key)
    assert texts(call.actions) == ["Contrato 1234567897."]
    assert call.session.vars["account"] == "1234567897"
    assert call.record["inputs"][-1]["value"] == "1234567897"
    assert call.record["inputs"][-1]["ended_by"] == "max"


def test_capture_spoken_digits() -> None:
    flow = compile_flow(CAPTURE.replace("valid luhn", "valid range 1..999999"))
    call = Driver(flow)
    call.speak("um dois três quatro cinco seis")
    assert call.session.vars["account"] == "123456"
    assert call.outcome["reason"] == "ok"


def _capture_flow_lines(*settings: str) -> Flow:
    body = "\n".join(f"  {s}" for s in settings)
    return compile_flow(
        "flow validators\n  language en-US\n  retries 2\nstart:\n  -> value\n"
        f"capture value:\n{body}\n"
        '  say "Enter it."\n  noinput: say "Nothing?"\n  nomatch: say "Invalid."\n'
        '  ok: hangup "ok"\n  exhausted: hangup "exhausted"\n'
    )


@pytest.mark.parametrize(
    ("settings", "entry", "accepted"),
    [
        (["digits 11", "end none", "valid luhn"], "79927398713", True),
        (["digits 11", "end none", "valid luhn"], "79927398710", False),
        (["digits 11", "end none", "valid cpf"], "52998224725", True),
        (["digits 11", "end none", "valid cpf"], "52998224724", False),
        (["digits 11", "end none", "valid cpf"], "11111111111", False),
        (["digits 1..2", 'end "#"', "valid range 1..31"], "15#", True),
        (["digits 1..2", 'end "#"', "valid range 1..31"], "32#", False),
        (["digits 1..2", 'end "#"', "valid range 1..31"], "0#", False),
        (["digits 4", "end none", 'valid regex "(19|20)[0-9]{2}"'], "1987", True),
        (["digits 4", "end none", 'valid regex "(19|20)[0-9]{2}"'], "2187", False),
        (["digits 8", "end none", 'valid date "DDMMYYYY"'], "28022026", True),
        (["digits 8", "end none", 'valid date "DDMMYYYY"'], "29022026", False),
        (["digits 8", "end none", 'valid date "DDMMYYYY"'], "29022024", True),
        (
            ["digits 8", "end none", 'valid date "DDMMYYYY"', "valid range 1..15000000"],
            "28022026",
            False,  # every check must pass
        ),
    ],
)
def test_capture_validators(settings: list[str], entry: str, accepted: bool) -> None:
    call = Driver(_capture_flow_lines(*settings))
    call.press(entry)
    if accepted:
        assert call.outcome == {"kind": "self_served", "reason": "ok"}
        assert call.session.vars["value"] == entry.rstrip("#")
    else:
        assert not call.session.ended
        assert texts(call.actions) == ["Invalid.", "Enter it."]
        assert "value" not in call.session.vars


def test_capture_into_another_variable() -> None:
    call = Driver(_capture_flow_lines("digits 4", "end none", "into pin_code"))
    call.press("1234")
    assert call.session.vars["pin_code"] == "1234"
    assert call.session.vars["last_input"] == "1234"


CONFIRM = """
flow readback
  language pt-BR
  retries 3
start:
  -> account
capture account:
  digits 4..8
  end "#"
  say "Digite o contrato."
  confirm "Você digitou {{ account | digits }}. Tecle 1 se correto, 2 para digitar de novo."
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  ok:
    say "Ok {{ account }}."
    hangup "ok"
  exhausted: hangup "exhausted"
"""


def test_capture_confirm_reads_back_and_1_accepts() -> None:
    call = Driver(compile_flow(CONFIRM))
    call.press("1234#")
    (readback,) = texts(call.actions)
    assert readback.startswith("Você digitou")
    assert "1" in readback and "4" in readback
    collect = only(call.actions, act.Collect)
    assert (collect.min_digits, collect.max_digits) == (1, 1)
    call.press("1")
    assert texts(call.actions) == ["Ok 1234."]
    assert call.outcome["reason"] == "ok"


def test_capture_confirm_2_asks_again() -> None:
    call = Driver(compile_flow(CONFIRM))
    call.press("1234#")
    call.press("2")
    assert texts(call.actions) == ["Digite o contrato."]
    collect = only(call.actions, act.Collect)
    assert (collect.min_digits, collect.max_digits) == (4, 8)
    call.press("5678#")
    call.speak("sim")
    assert texts(call.actions) == ["Ok 5678."]


def test_capture_confirm_other_key_is_a_nomatch_and_asks_again() -> None:
    call = Driver(compile_flow(CONFIRM))
    call.press("1234#")
    call.press("7")
    said = texts(call.actions)
    assert said[-1].startswith("Você digitou")  # the same question again
    assert call.session.nomatch == 1
    assert only(call.actions, act.Collect).max_digits == 1
    call.press("1")
    assert call.outcome["reason"] == "ok"


SECURE = """
flow secure
  language en-US
start:
  -> card
capture card:
  digits 4
  end none
  secure
  say "Card?"
  noinput: say "?"
  nomatch: say "?"
  ok:
    say "Last input {{ last_input }}."
    hangup "ok"
  exhausted: hangup "exhausted"
"""


class Recorder(Listener):
    def __init__(self) -> None:
        self.inputs: list[str] = []

    def input(self, session: Session, kind: str, value: str, at: float) -> None:
        self.inputs.append(value)


def test_secure_capture_is_masked_in_the_record_listeners_and_last_input() -> None:
    recorder = Recorder()
    call = Driver(compile_flow(SECURE), listeners=[recorder])
    assert only(call.actions, act.Collect).secure is True
    call.press("4321")
    assert texts(call.actions) == ["Last input ****."]
    assert call.session.vars["card"] == "4321"
    assert call.session.vars["last_input"] == "****"
    assert call.record["inputs"][0]["value"] == "****"
    assert recorder.inputs == ["****"]
    assert "4321" not in repr(call.record)


def test_secure_capture_spoken_digits_are_masked_too() -> None:
    recorder = Recorder()
    flow = compile_flow(SECURE.replace("  secure\n", "  secure\n  input dtmf speech\n"))
    call = Driver(flow, listeners=[recorder])
    call.speak("four three two one")
    assert call.session.vars["card"] == "4321"
    assert "4321" not in repr(call.record)
    assert "four" not in repr(call.record)
    assert all("4321" not in v and "four" not in v for v in recorder.inputs)


# ==================================================================== look-ups

LOOKUP = """
flow lookups
  language pt-BR
function fetch_account(contract, channel, n) timeout 2s
var contract = "4711"
start:
  -> find
lookup find fetch_account(contract, "sms", 2 + 3) as acct:
  timeout 4s
  say "Um momento."
  ok:
    say "Saldo {{ acct.balance | currency }}."
    hangup "ok"
  error:
    say "Falhou: {{ error }}."
    hangup "lookup error"
"""


def test_lookup_action_has_evaluated_args_and_timeout() -> None:
    call = Driver(compile_flow(LOOKUP))
    assert texts(call.actions) == ["Um momento."]
    lookup = only(call.actions, act.Lookup)
    assert lookup.function == "fetch_account"
    assert lookup.args == ("4711", "sms", 5)
    assert lookup.timeout == 4.0
    assert lookup.request
    assert call.session.phase == "lookup"


def test_lookup_timeout_defaults_to_the_functions() -> None:
    call = Driver(compile_flow(LOOKUP.replace("  timeout 4s\n", "")))
    assert only(call.actions, act.Lookup).timeout == 2.0


def test_lookup_result_is_bound_and_ok_runs() -> None:
    call = Driver(compile_flow(LOOKUP))
    call.lookup_ok({"balance": 10.5}, seconds=0.25)
    assert texts(call.actions) == ["Saldo R$ 10,50."]
    assert call.session.vars["acct"] == {"balance": 10.5}
    assert call.record["lookups"] == [
        {"function": "fetch_account", "status": "ok", "latency_ms": 250.0}
    ]


def test_lookup_failure_takes_the_error_branch() -> None:
    call = Driver(compile_flow(LOOKUP))
    call.lookup_fails("not found")
    assert texts(call.actions) == ["Falhou: not found."]  # `error` is the host's reason
    assert call.outcome["reason"] == "lookup error"
    (entry,) = call.record["lookups"]
    assert entry["status"] == "error"
    assert entry["reason"] == "not found"


def test_lookup_timeout_is_recorded_as_timeout() -> None:
    call = Driver(compile_flow(LOOKUP))
    call.lookup_fails("timed out", timed_out=True)
    assert call.record["lookups"][0]["status"] == "timeout"
    assert call.outcome["reason"] == "lookup error"


def test_lookup_without_error_branch_apologizes_and_ends_with_error() -> None:
    flow = compile_flow(
        LOOKUP.replace('  error:\n    say "Falhou: {{ error }}."\n    hangup "lookup error"\n', "")
    )
    call = Driver(flow)
    call.lookup_fails("down")
    said = texts(call.actions)
    assert said and "problema" in said[-1]
    assert call.actions[-1] == act.Hangup("error")
    assert call.outcome["kind"] == "error"
    assert "down" in call.outcome["reason"]


def test_a_stale_lookup_answer_is_ignored() -> None:
    call = Driver(compile_flow(LOOKUP))
    request = call.pending_lookup().request
    assert call.send(ev.LookupResult(call.tick(), request + "-old", {"balance": 1})) == []
    assert call.send(ev.LookupFailed(call.tick(), "c1:0", "late")) == []
    assert not call.session.ended
    assert call.session.phase == "lookup"
    call.lookup_ok({"balance": 2})
    assert texts(call.actions) == ["Saldo R$ 2,00."]
    assert len(call.record["lookups"]) == 1


def test_a_second_answer_to_the_same_request_is_ignored() -> None:
    flow = compile_flow(
        LOOKUP.replace(
            '    say "Saldo {{ acct.balance | currency }}."\n    hangup "ok"', "    -> wait"
        )
        + 'menu wait:\n  say "Tecle 1."\n  1: hangup "ok"\n  noinput: say "?"\n'
        '  nomatch: say "?"\n  exhausted: hangup "out"\n'
    )
    call = Driver(flow)
    request = call.pending_lookup().request
    call.send(ev.LookupResult(call.tick(), request, {"balance": 1}))
    assert texts(call.actions) == ["Tecle 1."]
    assert call.send(ev.LookupResult(call.tick(), request, {"balance": 9})) == []
    assert call.send(ev.LookupFailed(call.tick(), request, "late")) == []
    assert call.session.vars["acct"] == {"balance": 1}
    call.press("1")
    assert call.outcome["reason"] == "ok"


def test_lookup_without_as_binds_nothing() -> None:
    flow = compile_flow(
        """
        flow noas
          language en-US
        function notify(x)
        start:
          -> send
        lookup send notify(ani):
          ok: hangup "sent"
          error: hangup "not sent"
        """
    )
    call = Driver(flow)
    assert only(call.actions, act.Lookup).args == (ANI,)
    call.lookup_ok({"ignored": True})
    assert call.outcome["reason"] == "sent"


# ==================================================================== transfers

TRANSFER = """
flow transfers
  language pt-BR
queue billing "Billing" skills [billing], priority 5
var priority = 3
start:
  -> agent
transfer agent:
  queue billing
  priority (priority + 1)
  skills [billing, vip]
  announce ewt, position
  say "Transferindo."
  if ewt > 3m -> cb
  busy -> busy_line
  full:
    say "Fila cheia."
    hangup "full"
step busy_line:
  hangup "busy"
step cb:
  hangup "offer callback"
"""


def test_transfer_asks_queue_status_first() -> None:
    call = Driver(compile_flow(TRANSFER))
    assert call.actions == [act.GetQueueStatus("billing")]
    assert call.session.phase == "queue_status"


def test_transfer_branches_on_ewt() -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(300, 12)
    assert call.outcome["reason"] == "offer callback"
    assert call.session.vars["ewt"] == 300
    assert call.session.vars["position"] == 12
    assert call.session.vars["queue"] == "billing"


def test_transfer_to_queue_announces_and_uses_the_priority_expression() -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(60, 2)
    said = texts(call.actions)
    assert said[0] == "Transferindo."
    assert len(said) == 3  # the wait and the position
    assert "2" in said[2]
    transfer = only(call.actions, act.TransferToQueue)
    assert transfer == act.TransferToQueue("billing", 4, ("billing", "vip"), 60)
    assert call.session.phase == "transfer"


@pytest.mark.parametrize("status", ["answered", "queued"])
def test_transfer_answered_is_transferred_with_the_queue(status: str) -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(60)
    call.transfer(status)
    assert call.outcome == {"kind": "transferred", "queue": "billing"}
    assert call.session.ended


def test_transfer_busy_and_full_take_their_branches() -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(10)
    call.transfer("busy")
    assert call.outcome["reason"] == "busy"
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(10)
    call.transfer("full")
    assert texts(call.actions) == ["Fila cheia."]
    assert call.outcome["reason"] == "full"


def test_transfer_failure_without_branch_apologizes_with_error() -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(10)
    call.transfer("noanswer", "no agent")
    assert call.outcome["kind"] == "error"
    assert call.actions[-1] == act.Hangup("error")
    assert texts(call.actions)


def test_transfer_failed_branch_catches_other_statuses() -> None:
    flow = compile_flow(
        TRANSFER.replace(
            "  busy -> busy_line\n", '  busy -> busy_line\n  failed: hangup "failed"\n'
        )
    )
    call = Driver(flow)
    call.queue_status(10)
    call.transfer("noanswer")
    assert call.outcome["reason"] == "failed"
    assert call.session.vars["error"] == "transfer noanswer"


def test_transfer_with_unknown_ewt_does_not_announce_it() -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(None)
    assert texts(call.actions) == ["Transferindo."]
    assert only(call.actions, act.TransferToQueue).ewt is None


@pytest.mark.parametrize("ewt", [math.nan, -5.0])
def test_a_bad_ewt_from_the_provider_is_unknown_not_an_error(ewt: float) -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(ewt, 2)
    assert not call.session.ended
    transfer = only(call.actions, act.TransferToQueue)
    assert transfer.ewt is None


def test_transfer_priority_defaults_to_the_queues() -> None:
    flow = compile_flow(TRANSFER.replace("  priority (priority + 1)\n", ""))
    call = Driver(flow)
    call.queue_status(10)
    assert only(call.actions, act.TransferToQueue).priority == 5


def test_transfer_to_a_number() -> None:
    flow = compile_flow(
        """
        flow external
          language en-US
        start:
          -> fraud
        transfer fraud:
          number "+18005550100"
          say "Connecting you."
          busy: hangup "busy"
        """
    )
    call = Driver(flow)
    assert texts(call.actions) == ["Connecting you."]
    assert only(call.actions, act.TransferToDestination).destination.address == "+18005550100"
    call.transfer("answered")
    assert call.outcome == {"kind": "transferred", "number": "+18005550100"}


NUMBER_TRANSFER = """
flow xfer
  language en-US
  country US
var target = ""
start:
  -> t
transfer t:
  number (target)
  failed: hangup "no number"
"""


def test_transfer_to_a_number_from_an_expression_is_normalized() -> None:
    call = Driver(compile_flow(NUMBER_TRANSFER), variables={"target": "+1 800 555 0100"})
    assert only(call.actions, act.TransferToDestination).destination.address == "+18005550100"


@pytest.mark.parametrize("target", ["", None, "abc"])
def test_transfer_to_a_missing_number_takes_the_failed_branch(target: str | None) -> None:
    call = Driver(compile_flow(NUMBER_TRANSFER), variables={"target": target})
    assert not any(isinstance(a, act.TransferToDestination) for a in call.actions)
    assert call.outcome == {"kind": "self_served", "reason": "no number"}


def test_keys_during_a_transfer_are_ignored() -> None:
    call = Driver(compile_flow(TRANSFER))
    call.queue_status(60)
    assert call.press("5") == []
    call.transfer("answered")
    assert call.outcome["kind"] == "transferred"


# ==================================================================== callbacks

CALLBACK = """
flow callbacks
  language pt-BR
  country BR
  timezone "America/Sao_Paulo"
queue billing "Billing"
hours office:
  timezone "America/Sao_Paulo"
  mon-fri 08:00-18:00
  sat, sun closed
start:
  -> offer
callback offer:
  queue billing
  window office
  say "Tecle 1 para receber uma ligação, 2 para aguardar."
  scheduled:
    say "Agendado."
    -> anything_else
  declined: hangup "declined"
  failed: hangup "not stored"
  noinput: say "Não ouvi."
  nomatch: say "Inválido."
  exhausted: hangup "exhausted"
menu anything_else:
  say "Tecle 1 para o menu."
  1: hangup "menu"
  noinput: say "?"
  nomatch: say "?"
  exhausted: hangup "bye"
"""


def test_callback_accept_stores_the_request_with_the_ani_and_window() -> None:
    call = Driver(compile_flow(CALLBACK))
    collect = only(call.actions, act.Collect)
    assert collect.kinds == ("dtmf", "speech")
    call.press("1")
    store = only(call.actions, act.StoreCallback)
    assert store.call_id == "c1"
    assert store.number == ANI
    assert store.ani == ANI
    assert store.queue == "billing"
    assert store.requested_at == call.t
    assert store.window == ("2026-11-24T10:00-03:00", "2026-11-24T18:00-03:00")
    assert call.session.vars["callback_number"] == ANI


def test_callback_window_after_hours_is_the_next_opening() -> None:
    call = Driver(compile_flow(CALLBACK), at=at("2026-11-27 19:00"))  # a Friday evening
    call.press("1")
    store = only(call.actions, act.StoreCallback)
    assert store.window == ("2026-11-30T08:00-03:00", "2026-11-30T18:00-03:00")


def test_callback_window_as_times() -> None:
    flow = compile_flow(CALLBACK.replace("window office", "window 09:00 17:00"))
    call = Driver(flow, at=at("2026-11-24 18:30"))
    call.press("1")
    store = only(call.actions, act.StoreCallback)
    assert store.window == ("2026-11-25T09:00-03:00", "2026-11-25T17:00-03:00")
    call = Driver(flow, at=at("2026-11-24 10:15"))
    call.press("1")
    assert only(call.actions, act.StoreCallback).window == (
        "2026-11-24T10:15-03:00",
        "2026-11-24T17:00-03:00",
    )


@pytest.mark.parametrize(
    ("when", "window"),
    [
        ("2026-12-24 13:00", ("2026-12-25T08:00-03:00", "2026-12-25T18:00-03:00")),
        ("2026-12-24 10:00", ("2026-12-24T10:00-03:00", "2026-12-24T12:00-03:00")),
    ],
)
def test_callback_window_skips_a_partial_closure(when: str, window: tuple[str, str]) -> None:
    flow = compile_flow(
        CALLBACK.replace(
            "  sat, sun closed\n", '  sat, sun closed\n  closed 2026-12-24 12:00-18:00 "half day"\n'
        )
    )
    call = Driver(flow, at=at(when))
    call.press("1")
    assert only(call.actions, act.StoreCallback).window == window


def test_callback_window_skips_an_all_day_closure() -> None:
    flow = compile_flow(
        CALLBACK.replace(
            "  sat, sun closed\n", '  sat, sun closed\n  closed 2026-11-25 "holiday"\n'
        )
    )
    call = Driver(flow, at=at("2026-11-24 19:00"))
    call.press("1")
    store = only(call.actions, act.StoreCallback)
    assert store.window == ("2026-11-26T08:00-03:00", "2026-11-26T18:00-03:00")


def test_callback_stored_is_the_outcome_even_after_a_hangup() -> None:
    call = Driver(compile_flow(CALLBACK))
    call.press("1")
    call.send(ev.CallbackStored(call.tick(), "ref-9"))
    assert texts(call.actions) == ["Agendado.", "Tecle 1 para o menu."]
    assert not call.session.ended
    call.hangup()
    assert call.outcome == {
        "kind": "callback_scheduled",
        "queue": "billing",
        "number": "**********0000",
        "reference": "ref-9",
    }


def test_callback_stored_then_flow_hangup_keeps_the_outcome() -> None:
    call = Driver(compile_flow(CALLBACK))
    call.press("1")
    call.send(ev.CallbackStored(call.tick(), "ref-1"))
    call.press("1")
    assert call.outcome["kind"] == "callback_scheduled"


def test_callback_failed_takes_the_failed_branch() -> None:
    call = Driver(compile_flow(CALLBACK))
    call.press("1")
    call.send(ev.CallbackFailed(call.tick(), "disk full"))
    assert call.outcome == {"kind": "self_served", "reason": "not stored"}
    assert call.session.vars["error"] == "callback not stored: disk full"


def test_callback_failed_without_branch_is_an_error() -> None:
    flow = compile_flow(CALLBACK.replace('  failed: hangup "not stored"\n', ""))
    call = Driver(flow)
    call.press("1")
    call.send(ev.CallbackFailed(call.tick(), "disk full"))
    assert call.outcome["kind"] == "error"
    assert call.actions[-1] == act.Hangup("error")


@pytest.mark.parametrize("answer", ["2", "não"])
def test_callback_declined(answer: str) -> None:
    call = Driver(compile_flow(CALLBACK))
    if answer.isdigit():
        call.press(answer)
    else:
        call.speak(answer)
    assert call.outcome == {"kind": "self_served", "reason": "declined"}


def test_callback_declined_without_branch_says_all_right_and_ends() -> None:
    flow = compile_flow(CALLBACK.replace('  declined: hangup "declined"\n', ""))
    call = Driver(flow)
    call.press("2")
    assert texts(call.actions) == ["Tudo bem."]
    assert call.outcome == {"kind": "self_served", "reason": "callback declined"}


def test_callback_accept_by_voice() -> None:
    call = Driver(compile_flow(CALLBACK))
    call.speak("Sim, por favor")
    assert only(call.actions, act.StoreCallback).number == ANI


def test_callback_withheld_ani_asks_for_a_number() -> None:
    call = Driver(compile_flow(CALLBACK), ani="anonymous")
    call.press("1")
    assert "Digite o número" in texts(call.actions)[0]
    collect = only(call.actions, act.Collect)
    assert (collect.min_digits, collect.max_digits, collect.terminator) == (8, 15, "#")
    call.press(
        "(11) 98765-4321#".replace("(", "").replace(")", "").replace(" ", "").replace("-", "")
    )
    store = only(call.actions, act.StoreCallback)
    assert store.number == "+5511987654321"
    assert store.ani is None


def test_callback_number_too_short_is_a_nomatch() -> None:
    call = Driver(compile_flow(CALLBACK), ani=None)
    call.press("1")
    call.press("1234#")
    assert not any(isinstance(a, act.StoreCallback) for a in call.actions)
    assert call.session.nomatch == 1


CALLBACK_CONFIRM = CALLBACK.replace(
    "  window office\n",
    '  window office\n  confirm "Ligaremos para {{ callback_number[-4:] | digits }}. 1 confirma, 2 corrige."\n',
)


def test_callback_confirm_1_stores() -> None:
    call = Driver(compile_flow(CALLBACK_CONFIRM))
    call.press("1")
    (question,) = texts(call.actions)
    assert question.startswith("Ligaremos para")
    assert not any(isinstance(a, act.StoreCallback) for a in call.actions)
    call.press("1")
    assert only(call.actions, act.StoreCallback).number == ANI


def test_callback_confirm_2_asks_for_another_number() -> None:
    call = Driver(compile_flow(CALLBACK_CONFIRM))
    call.press("1")
    call.press("2")
    assert "Digite o número" in texts(call.actions)[0]
    call.press("21988887777#")
    assert texts(call.actions) == ["Ligaremos para 7 7 7 7. 1 confirma, 2 corrige."]
    call.press("1")
    assert only(call.actions, act.StoreCallback).number == "+5521988887777"


def test_callback_number_expression() -> None:
    flow = compile_flow(
        CALLBACK.replace("  window office\n", "  window office\n  number (other)\n").replace(
            "start:", 'var other = ""\nstart:'
        )
    )
    call = Driver(flow, variables={"other": "011 3003-0001"})
    call.press("1")
    assert only(call.actions, act.StoreCallback).number == "+551130030001"


# ==================================================================== ANI / DNIS

NUMBERS = """
flow numbers
  language en-US
  country BR
list vip ["+55 11 98765-4321", "(21) 3003-0001"]
start:
  if ani is withheld: say "withheld"
  if ani is not withheld: say "known"
  if ani in vip: say "vip"
  if ani not in vip: say "regular"
  if ani startswith "+5511": say "sao paulo"
  if ani matches "^\\\\+5521": say "rio"
  if dnis == "+55 11 4004-0002": say "line two"
  hangup
"""


@pytest.mark.parametrize(
    ("ani", "dnis", "said", "normalized"),
    [
        ("+5511987654321", DNIS, ["known", "vip", "sao paulo"], "+5511987654321"),
        ("(11) 98765-4321", DNIS, ["known", "vip", "sao paulo"], "+5511987654321"),
        ("011 98765-4321", DNIS, ["known", "vip", "sao paulo"], "+5511987654321"),
        ("2130030001", DNIS, ["known", "vip", "rio"], "+552130030001"),
        ("+5521911112222", DNIS, ["known", "regular", "rio"], "+5521911112222"),
        ("anonymous", DNIS, ["withheld", "regular"], None),
        (None, DNIS, ["withheld", "regular"], None),
        ("", DNIS, ["withheld", "regular"], None),
        ("+5511911112222", "1140040002", ["known", "regular", "sao paulo", "line two"], None),
    ],
)
def test_ani_and_dnis_matching(
    ani: str | None, dnis: str, said: list[str], normalized: str | None
) -> None:
    call = Driver(compile_flow(NUMBERS), ani=ani, dnis=dnis)
    assert texts(call.actions) == said
    if normalized is not None or ani in (None, "", "anonymous"):
        assert call.record["ani"] == normalized


def test_dnis_is_normalized_in_the_record() -> None:
    call = Driver(compile_flow(NUMBERS), dnis="(11) 4004-0002")
    assert call.record["dnis"] == "+551140040002"


def test_ani_masked_in_the_record_when_asked() -> None:
    call = Driver(compile_flow(NUMBERS), mask_ani=True)
    assert call.record["ani"] == "**********0000"


# ==================================================================== business hours

HOURS = """
flow hours
  language en-US
  timezone "America/Sao_Paulo"
hours office:
  timezone "America/Sao_Paulo"
  mon-fri 08:00-12:00, 13:00-18:00
  sat 09:00-13:00
  sun closed
  closed 2026-12-25 "Christmas"
  closed 2026-12-24 08:00-10:00 "Late opening"
start:
  if emergency(office): say "emergency"
  if holiday(office): say "holiday"
  if open(office):
    say "open"
  else:
    say "closed"
  -> wait
menu wait:
  say "Press 1."
  1:
    if open(office): hangup "open"
    hangup "closed"
  noinput: say "?"
  nomatch: say "?"
  exhausted: hangup "out"
"""


@pytest.mark.parametrize(
    ("when", "said"),
    [
        ("2026-11-24 07:59:59", ["closed"]),
        ("2026-11-24 08:00", ["open"]),
        ("2026-11-24 11:59:59", ["open"]),
        ("2026-11-24 12:00", ["closed"]),  # lunch
        ("2026-11-24 13:00", ["open"]),
        ("2026-11-24 17:59:59", ["open"]),
        ("2026-11-24 18:00", ["closed"]),
        ("2026-11-28 10:00", ["open"]),  # Saturday
        ("2026-11-28 13:00", ["closed"]),
        ("2026-11-29 10:00", ["closed"]),  # Sunday
        ("2026-12-25 10:00", ["holiday", "closed"]),  # all-day closure on a Friday
        ("2026-12-24 09:00", ["holiday", "closed"]),  # partial closure
        ("2026-12-24 10:00", ["holiday", "open"]),  # after the partial closure
    ],
)
def test_open_in_the_flows_zone_at_the_events_time(when: str, said: list[str]) -> None:
    call = Driver(compile_flow(HOURS), at=at(when))
    assert texts(call.actions)[:-1] == said


def test_hours_use_the_hours_zone_not_utc() -> None:
    # 10:30 UTC is 07:30 in São Paulo: closed, though 10:30 would be open.
    moment = dt.datetime(2026, 11, 24, 10, 30, tzinfo=dt.UTC).timestamp()
    call = Driver(compile_flow(HOURS), at=moment)
    assert texts(call.actions)[0] == "closed"


def test_hours_are_evaluated_at_each_events_time() -> None:
    call = Driver(compile_flow(HOURS), at=at("2026-11-24 17:59:50"))
    assert texts(call.actions)[0] == "open"
    call.send(ev.Digits(at("2026-11-24 18:00:05"), "1"))
    assert call.outcome["reason"] == "closed"


def test_emergency_closes_the_office() -> None:
    call = Driver(compile_flow(HOURS), emergency={"office"})
    assert texts(call.actions)[:-1] == ["emergency", "closed"]


def test_emergency_for_other_hours_does_not_matter() -> None:
    call = Driver(compile_flow(HOURS), emergency={"other"})
    assert texts(call.actions)[:-1] == ["open"]


def test_now_compares_with_times_and_dates() -> None:
    flow = compile_flow(
        """
        flow clock
          language en-US
          timezone "America/Sao_Paulo"
        start:
          if now >= 09:00 and now < 10:30: say "morning"
          if now == 2026-11-24: say "the day"
          if now > 2026-12-01: say "december"
          hangup
        """
    )
    assert texts(Driver(flow).actions) == ["morning", "the day"]
    assert texts(Driver(flow, at=at("2026-12-02 11:00")).actions) == ["december"]


# ==================================================================== caller hang-up


def _to_phase(phase: str) -> Driver:
    if phase == "menu":
        return Driver(compile_flow(MENU))
    if phase == "capture":
        call = Driver(compile_flow(CAPTURE))
        call.press("123")
        return call
    if phase == "lookup":
        return Driver(compile_flow(LOOKUP))
    if phase == "queue_status":
        return Driver(compile_flow(TRANSFER))
    if phase == "transfer":
        call = Driver(compile_flow(TRANSFER))
        call.queue_status(10)
        return call
    if phase == "offer":
        return Driver(compile_flow(CALLBACK))
    if phase == "callback_store":
        call = Driver(compile_flow(CALLBACK))
        call.press("1")
        return call
    if phase == "did_you_say":
        call = Driver(compile_flow(MENU))
        call.speak("saldo", 0.1)
        return call
    if phase == "capture_confirm":
        call = Driver(compile_flow(CONFIRM))
        call.press("1234#")
        return call
    raise AssertionError(phase)


PHASES = [
    "menu",
    "capture",
    "lookup",
    "queue_status",
    "transfer",
    "offer",
    "callback_store",
    "did_you_say",
    "capture_confirm",
]


@pytest.mark.parametrize("phase", PHASES)
def test_caller_hangup_anywhere_is_abandoned(phase: str) -> None:
    call = _to_phase(phase)
    assert call.session.phase == phase
    state = call.session.state
    assert call.hangup() == []
    assert call.outcome == {"kind": "abandoned", "state": state}
    assert call.record["ended_at"] > call.record["started_at"]


@pytest.mark.parametrize("phase", PHASES)
def test_events_after_the_end_are_ignored(phase: str) -> None:
    call = _to_phase(phase)
    call.hangup()
    record = call.record
    for event in (
        ev.Digits(call.tick(), "1"),
        ev.NoInput(call.tick()),
        ev.Utterance(call.tick(), "sim"),
        ev.LookupResult(call.tick(), "c1:1", {}),
        ev.QueueStatus(call.tick(), "billing", 1),
        ev.TransferResult(call.tick(), "answered"),
        ev.CallbackStored(call.tick()),
        ev.Hangup(call.tick()),
        object(),
    ):
        assert call.send(event) == []
    assert call.record == record


# ==================================================================== bad events


@pytest.mark.parametrize(
    "event",
    [
        object(),
        "1",
        None,
        42,
        ev.Digits(math.nan, "1"),
        ev.Digits(T0 + 1, "abc"),
        ev.Digits(T0 + 1, ""),
        ev.Digits(T0 + 1, "1" * 10_000),
        ev.Digits(T0 + 1, None),  # type: ignore[arg-type]
        ev.Utterance(T0 + 1, None),  # type: ignore[arg-type]
        ev.Utterance(T0 + 1, "x" * 100_000, confidence=math.nan),
        ev.NoInput(-math.inf),
        ev.NoInput("soon"),  # type: ignore[arg-type]
        ev.LookupResult(T0 + 1, "nope", None),
        ev.QueueStatus(T0 + 1, "billing", math.nan),
        ev.TransferResult(T0 + 1, "exploded"),  # type: ignore[arg-type]
        ev.CallbackStored(T0 + 1),
    ],
)
@pytest.mark.parametrize("phase", PHASES)
def test_bad_events_never_raise(event: Any, phase: str) -> None:
    call = _to_phase(phase)
    call.send(event)
    call.hangup()
    assert call.session.ended
    assert call.outcome["kind"] in OUTCOMES


def test_digits_with_letters_keep_the_valid_keys() -> None:
    call = Driver(compile_flow(MENU))
    call.press("x2y")
    assert call.outcome["reason"] == "balance"


def test_digits_without_any_valid_key_are_a_nomatch() -> None:
    call = Driver(compile_flow(MENU))
    call.press("abc")
    assert not call.session.ended
    assert call.session.nomatch == 1
    assert texts(call.actions) == ["Opção inválida.", MENU_PROMPT]


def test_a_nan_time_does_not_move_the_clock() -> None:
    call = Driver(compile_flow(MENU))
    call.send(ev.Digits(math.nan, "2"))
    assert call.outcome["reason"] == "balance"
    assert call.record["duration"] == 0.0
    assert call.record["path"][-1]["t"] == 0.0


def test_a_clock_that_steps_back_is_held_still() -> None:
    call = Driver(compile_flow(MENU))
    call.send(ev.NoInput(T0 + 10))
    call.send(ev.Digits(T0 + 5, "2"))
    assert call.record["duration"] == 10.0
    assert call.record["inputs"][0]["t"] == 10.0


@pytest.mark.parametrize("moment", [math.inf, 1e300])
def test_an_absurd_event_time_still_leaves_a_record(moment: float) -> None:
    call = Driver(compile_flow(MENU))
    call.send(ev.Utterance(moment, "boleto"))
    assert call.session.ended
    record = call.record  # must not raise
    assert record["outcome"]["reason"] == "invoice"


def test_an_unknown_event_object_never_raises_and_leaves_a_record() -> None:
    call = Driver(compile_flow(MENU))
    call.send(object())
    if call.session.ended:
        assert call.outcome["kind"] == "error"
        assert call.actions[-1] == act.Hangup("error")
    else:
        call.hangup()
        assert call.outcome["kind"] == "abandoned"


def test_send_before_start_starts_the_call() -> None:
    session = Session(compile_flow(MENU), call_id="c1", ani=ANI, dnis=DNIS, at=T0)
    actions = session.send(ev.Digits(T0 + 1, "2"))
    assert texts(actions) == [MENU_PROMPT]
    assert session.ended
    assert session.record is not None
    assert session.record["outcome"]["reason"] == "balance"
    assert session.start() == []


# ==================================================================== runtime errors

ERRORS = """
flow errors
  language en-US
function fetch(x)
var zero = 0
start:
  -> find
lookup find fetch(1) as acct:
  ok:
    say "Balance {{ acct.balance }}."
    hangup "ok"
  error: hangup "lookup error"
step divide:
  set ratio = 10 / zero
  hangup "divided"
"""


def test_a_template_with_a_missing_field_takes_the_apology_path() -> None:
    call = Driver(compile_flow(ERRORS))
    call.lookup_ok({"name": "Ana"})
    said = texts(call.actions)
    assert said and "Sorry, something went wrong" in said[-1]
    assert call.actions[-1] == act.Hangup("error")
    assert call.outcome["kind"] == "error"
    assert "balance" in call.outcome["reason"]
    assert "t.ivr:" in call.outcome["reason"]  # the prompt's position
    assert call.outcome["state"] == "find"
    assert call.record["errors"]


def test_a_template_error_goes_to_the_flows_error_state() -> None:
    flow = compile_flow(ERRORS + 'step error:\n  say "Oops: {{ error }}"\n  hangup "handled"\n')
    call = Driver(flow)
    call.lookup_ok({"name": "Ana"})
    said = texts(call.actions)
    assert said[0].startswith("Oops: ")
    assert "balance" in said[0]
    assert call.outcome == {"kind": "self_served", "reason": "handled"}
    assert call.path[-1] == "error"
    assert call.record["errors"] and "balance" in call.record["errors"][0]


def test_division_by_zero_in_set_is_an_error_not_a_crash() -> None:
    flow = compile_flow(ERRORS.replace("start:\n  -> find", "start:\n  -> divide"))
    call = Driver(flow)
    assert call.outcome["kind"] == "error"
    assert "division by zero" in call.outcome["reason"]
    assert call.actions[-1] == act.Hangup("error")


def test_an_error_inside_the_error_state_does_not_loop() -> None:
    flow = compile_flow(
        ERRORS.replace("start:\n  -> find", "start:\n  -> divide")
        + 'step error:\n  set again = 1 / zero\n  hangup "never"\n'
    )
    call = Driver(flow)
    assert call.outcome["kind"] == "error"
    assert call.actions[-1] == act.Hangup("error")
    assert call.path == ["start", "divide", "error"]


def test_an_error_state_reached_once_is_not_reached_twice() -> None:
    # After the error state, a second problem later in the call ends it with the apology.
    flow = compile_flow(
        """
        flow twice
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
    )
    call = Driver(flow)
    assert texts(call.actions) == ["Press 1."]
    call.press("1")
    assert call.outcome["kind"] == "error"
    assert call.actions[-1] == act.Hangup("error")


def test_the_step_budget_ends_an_endless_loop() -> None:
    flow = compile_flow(
        """
        flow loop
          language en-US
        start:
          -> a
        step a:
          -> b
        step b:
          -> a
        """
    )
    call = Driver(flow)
    assert call.session.ended
    assert call.outcome["kind"] == "error"
    assert "step budget" in call.outcome["reason"]
    assert call.actions[-1] == act.Hangup("error")
    assert len(call.record["path"]) <= STEP_BUDGET + 2


def test_the_step_budget_is_per_event() -> None:
    # A call that runs many statements over many events is not cut short.
    flow = compile_flow(
        """
        flow busy
          language en-US
          retries 20
        var n = 0
        start:
          -> ask
        menu ask:
          set n = n + 1
          say "Press 1."
          1: hangup "done"
          noinput: say "?"
          nomatch: say "?"
          exhausted: hangup "out"
        """
    )
    call = Driver(flow)
    for _ in range(15):
        call.silence()
    assert not call.session.ended
    call.press("1")
    assert call.outcome["reason"] == "done"


# ==================================================================== the record

RECORD_FIELDS = {
    "call_id",
    "flow",
    "flow_version",
    "flow_hash",
    "ani",
    "dnis",
    "language",
    "started_at",
    "ended_at",
    "duration",
    "outcome",
    "path",
    "inputs",
    "lookups",
    "noinput",
    "nomatch",
    "failures",
    "errors",
}


def test_the_record_has_exactly_the_documented_fields() -> None:
    flow = compile_flow(MENU.replace("-> balance\n", "-> find\n", 1) + LOOKUP_TAIL)
    call = Driver(flow)
    call.silence()
    call.press("9")
    call.send(ev.Digits(call.tick(2.5), "2"))
    call.lookup_ok({"balance": 1}, seconds=0.5)
    record = call.record
    assert set(record) == RECORD_FIELDS
    assert record["call_id"] == "c1"
    assert record["flow"] == "menus"
    assert record["flow_hash"] == flow.content_hash
    assert record["ani"] == ANI
    assert record["dnis"] == DNIS
    assert record["started_at"] == "2026-11-24T13:00:00.000+00:00"
    assert record["ended_at"] == "2026-11-24T13:00:05.000+00:00"
    assert record["duration"] == 5.0
    assert record["outcome"] == {"kind": "self_served", "reason": "found"}
    assert record["path"] == [
        {"state": "start", "t": 0.0},
        {"state": "main", "t": 0.0},
        {"state": "find", "t": 4.5},
    ]
    assert [i["value"] for i in record["inputs"]] == ["9", "2"]
    assert [i["t"] for i in record["inputs"]] == [2.0, 4.5]
    assert record["lookups"] == [{"function": "fetch", "status": "ok", "latency_ms": 500.0}]
    assert (record["noinput"], record["nomatch"]) == (1, 1)
    assert record["failures"] == [  # where each happened: per-menu rates in `ivrflow report`
        {"state": "main", "kind": "noinput", "t": 1.0},
        {"state": "main", "kind": "nomatch", "t": 2.0},
    ]
    assert record["errors"] == []


LOOKUP_TAIL = """function fetch(x)
lookup find fetch(ani) as acct:
  ok: hangup "found"
  error: hangup "not found"
"""


@pytest.mark.parametrize("hook", ["prompt", "state_entered", "input", "edge", "ended"])
def test_a_failing_listener_never_breaks_the_call(hook: str) -> None:
    class Broken(Listener):
        pass

    def boom(*args: Any) -> None:
        raise RuntimeError("tracing broke")

    setattr(Broken, hook, boom)
    plain = Driver(compile_flow(MENU))
    plain.press("2")
    call = Driver(compile_flow(MENU), listeners=[Broken()])  # must not raise
    call.press("2")  # must not raise
    assert call.all == plain.all
    assert call.outcome == plain.outcome


def test_exactly_one_record_reaches_the_listeners() -> None:
    ended: list[dict[str, Any]] = []

    class OnEnd(Listener):
        def ended(self, session: Session, record: dict[str, Any]) -> None:
            ended.append(record)

    call = Driver(compile_flow(MENU), listeners=[OnEnd()])
    call.press("2")
    call.hangup()
    call.press("1")
    assert len(ended) == 1
    assert ended[0] == call.record


# ==================================================================== the shipped flows

BILLING_AT = at("2026-11-24 10:00")


def test_billing_balance_self_service() -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    call = Driver(flow, ani="+5511912345678", dnis="+551130030001", at=BILLING_AT)
    assert "Olá!" in texts(call.actions)[0]
    call.press("2")
    assert texts(call.actions)[0].startswith("Digite o número do contrato")
    call.press("79927398713#")
    assert texts(call.actions)[0].startswith("Você digitou 7 9 9 2 7 3 9 8 7 1 3.")
    call.press("1")
    lookup = only(call.actions, act.Lookup)
    assert (lookup.function, lookup.args) == ("fetch_account", ("79927398713",))
    call.lookup_ok({"balance": 152.3, "due": "2026-12-10", "status": "ok", "barcode": "1"})
    said = " ".join(texts(call.actions))
    assert "R$ 152,30" in said
    call.hangup()
    assert call.outcome["kind"] == "abandoned"
    assert call.path[:6] == [
        "start",
        "main_menu",
        "identify",
        "account",
        "confirm_account",
        "find_account",
    ]


def test_billing_english_line_and_agent_transfer() -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    noon = at("2026-11-24 12:00")  # 10:00 in Miami: the English desk is open
    call = Driver(flow, ani="+13055550199", dnis="+18885550142", at=noon)
    assert texts(call.actions)[0].startswith("Hello!")
    call.press("0")
    assert call.actions[-1] == act.GetQueueStatus("billing_intl")
    call.queue_status(45, 1)
    transfer = only(call.actions, act.TransferToQueue)
    assert transfer.queue == "billing_intl"
    assert transfer.skills == ("billing", "english")
    call.transfer("answered")
    assert call.outcome == {"kind": "transferred", "queue": "billing_intl"}


def test_billing_long_wait_offers_a_callback_that_is_stored() -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    call = Driver(flow, ani="+5511912345678", dnis="+551130030001", at=BILLING_AT)
    call.press("0")
    call.queue_status(300, 4)
    assert any("ligamos de volta" in t for t in texts(call.actions))
    call.press("1")
    store = only(call.actions, act.StoreCallback)
    assert store.number == "+5511912345678"
    assert store.queue == "billing"
    assert store.window is not None
    call.send(ev.CallbackStored(call.tick(), "cb-1"))
    assert call.outcome["kind"] == "callback_scheduled"


def test_billing_withheld_caller_types_a_callback_number() -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    call = Driver(flow, ani="anonymous", dnis="+551130030001", at=at("2026-11-24 21:00"))
    assert any("oculto" in t for t in texts(call.actions))
    call.press("0")  # after hours: the callback offer, but there is no number
    assert isinstance(call.actions[-1], act.Collect)
    call.press("11987654321#")
    call.press("1")
    store = only(call.actions, act.StoreCallback)
    assert store.number == "+5511987654321"
    assert store.ani is None


def test_billing_emergency_closes_the_line() -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    call = Driver(flow, at=BILLING_AT, emergency={"office"})
    assert any("emergência" in t for t in texts(call.actions))
    assert call.outcome == {"kind": "self_served", "reason": "emergency"}


@pytest.mark.parametrize("name", sorted(p.name for p in FLOWS.glob("*.ivr")))
def test_every_shipped_flow_survives_a_silent_caller(name: str) -> None:
    flow = ivrflow.load(FLOWS / name)
    call = Driver(flow, at=BILLING_AT)
    for _ in range(60):
        if call.session.ended:
            break
        pending = call.actions[-1] if call.actions else None
        if isinstance(pending, act.Lookup):
            call.send(ev.LookupFailed(call.tick(), pending.request, "down"))
        elif isinstance(pending, act.GetQueueStatus):
            call.queue_status(None)
        elif isinstance(pending, act.TransferToQueue | act.TransferToDestination):
            call.transfer("failed")
        elif isinstance(pending, act.StoreCallback):
            call.send(ev.CallbackFailed(call.tick(), "down"))
        else:
            call.silence()
    assert call.session.ended
    assert call.outcome["kind"] in OUTCOMES
