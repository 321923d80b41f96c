"""Free speech captures and per-state input modes and recognizer settings (issue 12, items 3
and 7's input part): what the session asks the driver to listen for, and what it does with
what it hears."""

from __future__ import annotations

import pytest
from test_session import Driver, compile_flow, only

from ivrflow.runtime import actions as act
from ivrflow.runtime.record import build_record

FREE = """
flow free
  language en-US
  speech_language en-GB
  hints "ACME"
start:
  -> reason
capture reason:
  words 1..8
  confidence 0.6
  speech_timeout 1500ms
  say "In a few words, why are you calling?"
  ok:
    say "You said {{ reason }}."
    hangup "heard"
  noinput: say "I did not hear you."
  nomatch: say "Please say it in a few words."
  exhausted: hangup "gave up"
"""


def test_a_capture_of_words_asks_for_free_speech() -> None:
    call = Driver(compile_flow(FREE))
    collect = only(call.actions, act.Collect)
    assert collect.kinds == ("speech",)
    assert collect.free_speech
    assert (collect.language, collect.speech_timeout, collect.hints) == ("en-GB", 1.5, ("ACME",))


def test_what_the_caller_says_is_the_value() -> None:
    call = Driver(compile_flow(FREE))
    call.speak("  my   bill is wrong ", 0.9)
    assert call.said == ["You said my bill is wrong."]
    assert call.session.vars["reason"] == "my bill is wrong"
    assert build_record(call.session)["inputs"][0]["kind"] == "speech"


@pytest.mark.parametrize(
    ("text", "confidence"),
    [("", 0.9), ("one two three four five six seven eight nine", 0.9), ("my bill", 0.3)],
)
def test_empty_too_long_or_unsure_speech_is_a_nomatch(text: str, confidence: float) -> None:
    call = Driver(compile_flow(FREE))
    call.speak(text, confidence)
    assert call.said == ["Please say it in a few words.", "In a few words, why are you calling?"]
    assert not call.session.ended
    assert build_record(call.session)["nomatch"] == 1


def test_keys_in_a_capture_of_words_are_a_nomatch() -> None:
    call = Driver(compile_flow(FREE))
    call.press("1")
    assert call.said[0] == "Please say it in a few words."
    assert "reason" not in call.session.vars or call.session.vars["reason"] != "1"


def test_silence_is_a_noinput_and_retries_end_in_exhausted() -> None:
    call = Driver(compile_flow(FREE))
    call.silence()
    assert call.said[0] == "I did not hear you."
    call.silence()
    call.speak("")
    assert call.outcome == {"kind": "self_served", "reason": "gave up"}


MODES = """
flow modes
  language pt-BR
  input dtmf
queue billing
start:
  -> menu
menu menu:
  {menu_input}
  say "Tecle 1 ou diga boleto."
  1, "boleto" -> pin
  noinput: say "Não ouvi."
  nomatch: say "Opção inválida."
  exhausted -> agent
capture pin:
  digits 4
  secure
  {pin_input}
  say "Digite a senha."
  ok -> agent
  noinput: say "Digite."
  nomatch: say "Inválida."
  exhausted -> agent
transfer agent:
  queue billing
"""


def modes(menu_input: str = "", pin_input: str = "") -> Driver:
    return Driver(compile_flow(MODES.format(menu_input=menu_input, pin_input=pin_input)))


def test_the_headers_input_mode_is_every_states_default() -> None:
    call = modes()
    assert only(call.actions, act.Collect).kinds == ("dtmf",)
    call.speak("boleto")
    assert call.said[0] == "Opção inválida."  # not heard: the flow keys only
    assert build_record(call.session)["inputs"] == []  # what it heard is not kept


def test_a_state_overrides_the_header_and_speech_carries_the_recognizer() -> None:
    call = modes(menu_input="input speech")
    collect = only(call.actions, act.Collect)
    assert collect.kinds == ("speech",)
    assert collect.language == "pt-BR"  # the call's language
    assert collect.speech_timeout is None  # auto
    call.press("1")
    assert call.said[0] == "Opção inválida."
    call.speak("boleto")
    assert only(call.actions, act.Collect).kinds == ("dtmf",)  # the PIN


def test_a_secure_capture_keys_only_unless_it_says_otherwise() -> None:
    call = modes(menu_input="input dtmf speech")
    assert only(call.actions, act.Collect).kinds == ("dtmf", "speech")
    call.press("1")
    pin = only(call.actions, act.Collect)
    assert pin.kinds == ("dtmf",) and pin.secure
    call.speak("um dois três quatro")
    assert call.said[0] == "Inválida."
    call = modes(menu_input="input dtmf speech", pin_input="input dtmf speech")
    call.press("1")
    assert only(call.actions, act.Collect).kinds == ("dtmf", "speech")
    call.speak("um dois três quatro")
    assert call.session.vars["pin"] == "1234"


def test_the_recognizer_follows_the_calls_language() -> None:
    flow = compile_flow(
        """
        flow lang
          language pt-BR
        start:
          set language = "en-US"
          -> m
        menu m:
          say "Say balance."
          1, "balance" -> m2
          noinput: say "?"
          nomatch: say "?"
          exhausted: hangup
        menu m2:
          speech_language es-ES
          say "Diga saldo."
          1, "saldo" -> m
          noinput: say "?"
          nomatch: say "?"
          exhausted: hangup
        """
    )
    call = Driver(flow)
    assert only(call.actions, act.Collect).language == "en-US"
    call.press("1")
    assert only(call.actions, act.Collect).language == "es-ES"
