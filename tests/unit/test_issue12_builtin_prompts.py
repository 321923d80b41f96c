"""Issue 12, item 7 (the prompts): the built-in prompts are the flow's to replace, per
language, and "no" to "did you say …?" runs the menu's own no-match handling.

The flow is docs/language.md's example ("Overriding the built-in prompts"), run as written.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from ivrflow import compile_file
from ivrflow.model import Flow
from ivrflow.tools.testing import Call

ROOT = Path(__file__).resolve().parents[2]


def _docs_flow(extra: str = "") -> Flow:
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("#### Overriding the built-in prompts", 1)[1]
    match = re.search(r"```ivr\n(.*?)```", section, re.S)
    assert match is not None
    source = match.group(1).replace('  noinput: say "Please say billing or press 1."\n', extra)
    result = compile_file("own.ivr", text=textwrap.dedent(source).lstrip("\n"))
    assert result.flow is not None, [str(d) for d in result.diagnostics]
    return result.flow


def test_the_flows_texts_replace_the_built_in_ones() -> None:
    call = Call(_docs_flow())
    call.start()
    call.press("7")
    assert "Hmm, that is not one of the options." in call.said()
    assert "not a valid option" not in call.said()
    call.press("8")
    call.press("9")
    assert call.said().endswith("Let's try again another time. Goodbye.")
    assert call.outcome is not None and call.outcome["kind"] == "error"


def test_the_did_you_say_question_is_the_flows_and_in_the_calls_language() -> None:
    call = Call(_docs_flow())
    call.start()
    call.say("billing", confidence=0.3)
    assert "I think you said billing. Is that right?" in call.said()
    call.press("1")
    assert call.outcome == {"kind": "self_served", "reason": "billing"}
    portuguese = Call(_docs_flow(), variables={"language": "pt-BR"})
    portuguese.start()
    portuguese.say("billing", confidence=0.3)
    assert "Entendi billing. Está certo?" in portuguese.said()


def test_no_to_did_you_say_runs_the_menus_own_nomatch_handler() -> None:
    flow = _docs_flow('  nomatch: say "Say billing, or press 1."\n  noinput: say "?"\n')
    call = Call(flow)
    call.start()
    call.say("billing", confidence=0.3)
    mark = len(call.said())
    call.press("2")  # no
    heard = call.said()[mark:]
    assert "Say billing, or press 1." in heard
    assert "Hmm, that is not one of the options." not in heard
    assert call.session.state == "main_menu" and not call.ended
    assert call.record is None or call.record["nomatch"] == 1


def test_an_override_that_names_an_unknown_variable_is_an_error() -> None:
    result = compile_file(
        "bad.ivr",
        text='flow bad\nprompt did_you_say:\n  en-US "You said {{ frase }}?"\nstart:\n  hangup\n',
    )
    assert "E151" in [d.code for d in result.diagnostics]


def test_the_traffic_walk_times_the_flows_own_text() -> None:
    from ivrflow.traffic.durations import speech_seconds, wpm_for
    from ivrflow.traffic.model import parse_model
    from ivrflow.traffic.walk import Walker

    model = parse_model("caller: {noinput: 0, nomatch: 0, hangup: 0}\n")
    walker = Walker(_docs_flow(), model)
    own = walker._default_seconds("exhausted", {"language": "en-US"})
    wpm = wpm_for("en-US", model.wpm, model.default_wpm)
    assert own == speech_seconds("Let's try again another time. Goodbye.", wpm)
    assert own != speech_seconds("Sorry, we could not complete your request. Goodbye.", wpm)
