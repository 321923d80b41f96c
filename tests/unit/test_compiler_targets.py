"""Compiler checks of issue 12's transfer and listening constructs: what compiles to what, and
the diagnostics the golden cases do not pin (E170, E171 and E105's are in tests/golden)."""

from __future__ import annotations

import textwrap

import pytest

import ivrflow
from ivrflow import model


def compiled(text: str) -> ivrflow.Result:
    return ivrflow.compile_file("t.ivr", text=textwrap.dedent(text).lstrip("\n"))


def codes(text: str) -> list[str]:
    return [d.code for d in compiled(text).diagnostics]


TRANSFER = """
flow t
  language en-US
queue billing
queue sales
var target = "billing"
start:
  -> out
transfer out:
  {setting}
"""


def transfer(setting: str) -> model.Transfer:
    result = compiled(TRANSFER.format(setting=setting))
    assert result.flow is not None, [(d.code, d.message) for d in result.diagnostics]
    state = result.flow.states["out"]
    assert isinstance(state, model.Transfer)
    return state


def test_a_declared_queue_is_literal_and_a_variable_is_dynamic() -> None:
    literal = transfer("queue billing")
    assert (literal.queue, literal.queue_expr, literal.queues) == ("billing", None, ("billing",))
    dynamic = transfer("queue target among [sales]")
    assert dynamic.queue is None and dynamic.queue_expr == model.Var("target")
    assert dynamic.queues == ("sales",)
    assert transfer("queue target among sales, billing").queues == ("sales", "billing")
    assert transfer('queue "sales"').queue == "sales"


@pytest.mark.parametrize(
    ("setting", "code"),
    [
        ("queue billing among [sales]", "E121"),  # among is for a queue chosen at run time
        ("queue target among billing_team", "E105"),
        ("queue target with [sales]", "E121"),
        ('queue billing\n  sip "sip:a@b.com"', "E121"),  # two destinations
        ('postdial "12"\n  queue billing', "E121"),  # keys after a queue answers: no
        ("postdial 12", "E122"),  # no destination at all
    ],
)
def test_bad_transfer_settings(setting: str, code: str) -> None:
    assert code in codes(TRANSFER.format(setting=setting))


def test_destination_kinds_and_postdial() -> None:
    sip = transfer('sip "sip:alice@example.com"\n  postdial "ww1#"')
    assert (sip.kind, sip.destination, sip.postdial) == (
        "sip",
        model.Const("sip:alice@example.com"),
        model.Const("ww1#"),
    )
    assert transfer("extension (target)").kind == "extension"
    assert transfer('postdial 256\n  number "+15551230000"').postdial == model.Const(256)


LISTEN = """
flow l
  language pt-BR
  {header}
start:
  -> c
capture c:
  {state}
  say "Diga."
  ok -> hangup
  noinput: say "?"
  nomatch: say "?"
  exhausted -> hangup
"""


def capture(header: str = "", state: str = "digits 4") -> model.Capture:
    result = compiled(LISTEN.format(header=header, state=state))
    assert result.flow is not None, [(d.code, d.message) for d in result.diagnostics]
    cap = result.flow.states["c"]
    assert isinstance(cap, model.Capture)
    return cap


def test_input_modes_resolve_header_then_state() -> None:
    assert capture().input.modes is None  # the kind's default, at run time
    assert capture("input dtmf").input.modes == ("dtmf",)
    assert capture("input dtmf", "digits 4\n  input speech, dtmf").input.modes == (
        "dtmf",
        "speech",
    )
    assert capture("input dtmf speech", "digits 4\n  secure").input.modes == ("dtmf",)
    assert capture("", "words 1..5").input.modes == ("speech",)
    assert capture("", "words 5").words == (1, 5)


def test_recognizer_settings_resolve_header_then_state() -> None:
    header = 'speech_language en-US\n  speech_timeout 2s\n  hints "boleto"'
    rec = capture(header).input.recognizer
    assert rec == model.Recognizer("en-US", 2.0, ("boleto",))
    rec = capture(header, 'digits 4\n  speech_timeout auto\n  hints ["a", "b"]').input.recognizer
    assert rec == model.Recognizer("en-US", None, ("a", "b"))


@pytest.mark.parametrize(
    ("header", "state", "code"),
    [
        ("input voice", "digits 4", "E121"),
        ("speech_language english", "digits 4", "E121"),
        ('speech_language "english"', "digits 4", "E145"),
        ("", "digits 4\n  speech_timeout 0s", "E121"),
        ("", "digits 4\n  hints 3", "E121"),
        ("", "words 0..3", "E121"),
        ("", "words 3..1", "E121"),
        ("", "words 1..5\n  valid luhn", "E121"),
        ("", "words 1..5\n  input dtmf", "E171"),
    ],
)
def test_bad_listening_settings(header: str, state: str, code: str) -> None:
    assert code in codes(LISTEN.format(header=header, state=state))
