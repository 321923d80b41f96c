"""Shared helpers: compile a flow from text, look at its diagnostics, read TwiML answers.

Imported by tests as `helpers` (tests/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import random
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ivrflow import Result, compile_file


def compile_text(text: str, path: str = "test.ivr") -> Result:
    return compile_file(path, text=textwrap.dedent(text).lstrip("\n"))


def codes(result: Result) -> list[str]:
    return [d.code for d in result.diagnostics]


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """write("name.ivr", text) → path of a dedented file under tmp_path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    return _write


# Two menus whose `exhausted` lead to each other: a silent caller is never let go (the fuzzer's
# `ends-when-silent` invariant must catch it).
LOOPING = """
flow looping "Loops when the caller is silent"
  timeout 5s, retries 2

start:
  -> ask_a

menu ask_a:
  say "Press 1 for sales."
  1 -> done
  exhausted -> ask_b

menu ask_b:
  say "Press 1 for support."
  1 -> done
  exhausted -> ask_a

step done:
  say "Bye."
  hangup
"""


# A flow that says a secure value back: the fuzzer's secure-value audit must find it.
LEAKY = """
flow leaky "Reads the PIN back"
  timeout 5s, retries 2

start:
  -> pin

capture pin:
  say "Enter your PIN."
  digits 4
  secure
  ok -> echo
  exhausted -> bye

step echo:
  say "Your PIN is {{ pin | digits }}."
  -> bye

step bye:
  say "Bye."
  hangup
"""


# TwiML answers of the webhook gateway, as the webhook fault tests read them.
def twiml_action(root: ET.Element) -> str:
    """Where the call's <Gather> posts the caller's input next."""
    gather = root.find("Gather")
    assert gather is not None, ET.tostring(root)
    return gather.get("action", "")


def twiml_apology(root: ET.Element) -> bool:
    """The billing flow's technical-problem apology, then <Hangup/>."""
    says = " ".join(el.text or "" for el in root.iter("Say"))
    return "problema técnico" in says and root.find("Hangup") is not None


def lookup_answer_from_model(model: Any, action: Any, rng: random.Random, now: float) -> Any:
    """A look-up answered as a traffic model says: one of its outcomes, drawn by their shares."""
    from ivrflow.runtime import events as ev

    lm = model.lookups[action.function]
    o = rng.choices(lm.outcomes, [x.share for x in lm.outcomes])[0]
    if o.error:
        return ev.LookupFailed(now, action.request, o.error)
    return ev.LookupResult(now, action.request, o.result)
